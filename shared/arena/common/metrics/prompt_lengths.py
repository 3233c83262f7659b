"""Whether a job's prompt lengths are exact, carried from agent to controller in provenance.

An endpoint with no tokenizer routes and no local ``tokenizer.json`` is measured with
approximate lengths (the agent's ``APPROXIMATE_RULE``): every benchmark of such a job is
flagged, so its pp512 is never read as 512 of the model's tokens.
Layout: ``provenance["prompt_lengths"] = {"exact": false, "rule": ..., "reason": ...}``.
"""

from typing import Any

KEY = "prompt_lengths"

FLAG = "approximate prompt lengths: {rule} (the endpoint has no /tokenize; pass a tokenizer)"


def put_approximate(provenance: dict[str, Any], rule: str, reason: str) -> None:
    provenance[KEY] = {"exact": False, "rule": rule, "reason": reason}


def approximate_flag(provenance: dict[str, Any]) -> str | None:
    """The flag a job's benchmarks carry when its lengths were approximate, else None."""
    recorded = provenance.get(KEY)
    if not isinstance(recorded, dict) or recorded.get("exact", True):
        return None
    return FLAG.format(rule=str(recorded.get("rule", "approximate")))
