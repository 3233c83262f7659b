"""The manifest of one job attempt: the resolved job spec, how the engine ran (commands, image
digest, versions: already redacted), the agent's tool versions, and the SHA-256 of the sample
stream in sequence order. Its canonical JSON bytes are what the agent signs and what is stored
and exported verbatim, so a verifier never needs to rebuild it, only to re-hash the samples.
"""

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from arena.common.schemas.sample import RequestSample

FORMAT = "arena-manifest/1"


def canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


class SampleDigest:
    """SHA-256 over the samples' canonical JSON lines, fed in sequence order."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.count = 0

    def add(self, sample: RequestSample) -> None:
        self._hash.update(canonical(sample.model_dump(mode="json")) + b"\n")
        self.count += 1

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def samples_sha256(samples: Iterable[RequestSample]) -> tuple[int, str]:
    digest = SampleDigest()
    for sample in samples:
        digest.add(sample)
    return digest.count, digest.hexdigest()


def build_manifest(
    *,
    job_id: str,
    attempt: int,
    spec: dict[str, Any],
    provenance: dict[str, Any],
    versions: dict[str, str],
    samples: SampleDigest,
) -> bytes:
    return canonical(
        {
            "format": FORMAT,
            "job_id": job_id,
            "attempt": attempt,
            "spec_sha256": hashlib.sha256(canonical(spec)).hexdigest(),
            "spec": spec,
            "provenance": provenance,
            "tool_versions": versions,
            "samples": {"count": samples.count, "sha256": samples.hexdigest()},
        }
    )


def manifest_problems(manifest: bytes, job_id: str, samples: Iterable[RequestSample]) -> list[str]:
    """What does not match between a manifest and the job and samples it claims to describe."""
    try:
        document = json.loads(manifest)
        claimed = document["samples"]
    except (ValueError, KeyError, TypeError):
        return ["the manifest is not an Arena manifest"]
    problems = []
    if document.get("job_id") != job_id:
        problems.append(f"the manifest is for job {document.get('job_id')!r}, not {job_id!r}")
    count, digest = samples_sha256(samples)
    if claimed.get("count") != count or claimed.get("sha256") != digest:
        problems.append(
            f"the samples do not match the manifest ({count} samples here, "
            f"{claimed.get('count')} signed; digests differ)"
            if claimed.get("sha256") != digest
            else "the sample count does not match the manifest"
        )
    return problems
