"""The one rule for a request's output-token count, and the checks on what the engine said.

Every metric that divides by output tokens (TPOT, tg t/s, output throughput, per-user speed,
energy per token) reads ``output_tokens``: the model's tokenizer's count of the streamed answer
(``counted_output_tokens``, reasoning included) when the agent counted it, else the engine's
``usage.completion_tokens``, else one token per generated chunk. vLLM re-tokenises its kept
text only when usage is missing, and llama-benchy trusts usage: an engine whose usage is off
(54 reported for 64 streamed) bends their TPOT and t/s silently. Here it is measured instead:
``token_mismatch_pct`` is |usage − counted| summed over the requests that have both, over the
counted tokens summed, in %. ``usage_over_max`` counts requests whose usage exceeded the
``max_tokens`` they asked for (an engine that ignores the limit, or a usage that lies): such
samples are kept and flagged, never refused.

An answer that ended at an end-of-sequence token (``finish_reason: stop``) has one token its
streamed text cannot hold: the engine's usage counts the end token (llama-server, vLLM), the
text never shows it. ``with_end_token`` is the one rule for it: where the answer stopped and
usage is exactly one more than the tokenizer's count, the count is usage's (the end token
counted), so such an answer is no mismatch and its TPOT divides by the tokens generated.
"""

from collections.abc import Sequence

from arena.common.schemas.sample import RequestSample

MISMATCH_FLAG_PCT = 1.0
"""Above this, the engine's usage and the tokenizer disagree enough to flag the benchmark."""


def with_end_token(counted: int, usage: int | None, finish_reason: str | None) -> int:
    """The tokenizer's ``counted`` tokens of a streamed answer, plus its end-of-sequence token
    where the answer stopped (``finish_reason == "stop"``) and ``usage`` is one more."""
    if finish_reason == "stop" and usage is not None and usage - counted == 1:
        return usage
    return counted


def output_tokens(sample: RequestSample) -> int:
    """Counted by the tokenizer when it was; else usage (unless 0); else one per chunk."""
    if sample.counted_output_tokens is not None:
        return sample.counted_output_tokens
    if sample.completion_tokens:
        return sample.completion_tokens
    return len(sample.chunk_times_s)


def token_mismatch_pct(samples: Sequence[RequestSample]) -> float | None:
    """|usage − counted| over counted, in %, over successful requests that carry both."""
    pairs = [
        (s.completion_tokens, s.counted_output_tokens)
        for s in samples
        if s.ok and s.completion_tokens is not None and s.counted_output_tokens is not None
    ]
    counted = sum(count for _, count in pairs)
    if not counted:
        return None
    return sum(abs(usage - count) for usage, count in pairs) / counted * 100.0


def usage_over_max(samples: Sequence[RequestSample]) -> int:
    """Requests whose usage said more output tokens than their ``max_tokens`` allowed."""
    return sum(
        1
        for s in samples
        if s.completion_tokens is not None
        and s.max_tokens is not None
        and s.completion_tokens > s.max_tokens
    )


def reasoning_first(samples: Sequence[RequestSample]) -> int:
    """Successful requests whose first token was reasoning, before any answer content."""
    return sum(
        1
        for s in samples
        if s.ok
        and s.first_token_s is not None
        and (s.first_content_s is None or s.first_content_s > s.first_token_s)
        and s.reasoning_tokens
    )


TOKEN_CHECKS = ("token_mismatch_pct", "usage_over_max", "mean_reasoning_tokens", "reasoning_first")
"""Per-run keys of ``token_checks``."""


def token_checks(samples: Sequence[RequestSample]) -> dict[str, float | None]:
    """The per-run figures every kind reports: mismatch, usage over max, reasoning. Each is
    ``None`` where there is nothing to say (no counted tokens, no request over its maximum, no
    reasoning), so a run without them stores the keys it always had."""
    done = [s for s in samples if s.ok and s.first_token_s is not None]
    reasoned = [s.reasoning_tokens or 0 for s in done]
    over, first = usage_over_max(samples), reasoning_first(samples)
    return {
        "token_mismatch_pct": token_mismatch_pct(samples),
        "usage_over_max": float(over) if over else None,
        "mean_reasoning_tokens": sum(reasoned) / len(reasoned) if any(reasoned) else None,
        "reasoning_first": float(first) if first else None,
    }
