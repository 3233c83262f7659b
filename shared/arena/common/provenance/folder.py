"""A job's signed provenance beside its exported results, and the check that reads it back.

An exported job folder holds ``manifest.json`` (the bytes the agent signed, verbatim),
``manifest.sig`` and ``manifest.key`` (hex of the ed25519 signature and of the signing key),
and ``samples.jsonl`` (the samples as the manifest hashes them, one canonical JSON line each).
``verify`` checks the signature and re-hashes the samples; the result files beside them are
derived from those samples, so a changed sample shows as a broken folder.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from arena.common.provenance.keys import fingerprint, verify_signature
from arena.common.provenance.manifest import canonical, manifest_problems
from arena.common.schemas.sample import RequestSample

MANIFEST, SIGNATURE, KEY, SAMPLES = "manifest.json", "manifest.sig", "manifest.key", "samples.jsonl"


@dataclass
class Verdict:
    """``verified``: the signature holds and the samples match; ``unsigned``: no manifest;
    ``broken``: a manifest that does not verify (``problems`` says why)."""

    where: str
    state: str
    key_sha256: str = ""
    problems: list[str] = field(default_factory=list)


def provenance_files(
    manifest: bytes, signature: bytes, public_key: bytes, samples: Sequence[RequestSample]
) -> dict[str, str]:
    if not manifest:
        return {}
    lines = "".join(canonical(s.model_dump(mode="json")).decode() + "\n" for s in samples)
    return {
        MANIFEST: manifest.decode(),
        SIGNATURE: signature.hex() + "\n",
        KEY: public_key.hex() + "\n",
        SAMPLES: lines,
    }


def verify(
    where: str, manifest: bytes, signature: bytes, public_key: bytes, samples: list[RequestSample]
) -> Verdict:
    if not manifest:
        return Verdict(where, "unsigned")
    verdict = Verdict(where, "verified", fingerprint(public_key))
    if not verify_signature(public_key, manifest, signature):
        verdict.problems.append("the signature does not match the manifest and key")
    job_id = str(json.loads(manifest).get("job_id", ""))
    verdict.problems += manifest_problems(manifest, job_id, samples)
    if verdict.problems:
        verdict.state = "broken"
    return verdict


def verify_folder(folder: Path) -> Verdict:
    """The verdict on one exported job folder (``unsigned`` when it carries no manifest)."""
    if not (folder / MANIFEST).is_file():
        return Verdict(str(folder), "unsigned")
    try:
        signature = bytes.fromhex((folder / SIGNATURE).read_text().strip())
        key = bytes.fromhex((folder / KEY).read_text().strip())
        text = (folder / SAMPLES).read_text(encoding="utf-8")
        samples = [RequestSample.model_validate_json(line) for line in text.splitlines() if line]
    except (OSError, ValueError) as error:  # a missing file, bad hex, a sample edited to junk
        return Verdict(str(folder), "broken", problems=[f"unreadable provenance: {error}"])
    return verify(str(folder), (folder / MANIFEST).read_bytes(), signature, key, samples)


def verify_tree(root: Path) -> list[Verdict]:
    """Every exported job folder under ``root`` that carries a manifest (``root`` may be one)."""
    folders = [path.parent for path in sorted(root.rglob(MANIFEST))]
    return [verify_folder(folder) for folder in folders]
