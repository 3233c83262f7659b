"""What leaves the agent about a job is redacted and signed: the job's secret values (its
``secrets:`` and API key, read from this box's environment) are replaced in logs, tool output,
provenance and messages, and the finished job's manifest is signed with the agent's key."""

import os

from arena.agent.settings import AgentSettings
from arena.common.provenance.keys import load_or_create_key
from arena.common.provenance.manifest import SampleDigest, build_manifest
from arena.common.redact import Redactor
from arena.common.schemas.base import json_document
from arena.common.schemas.engine import DockerEngine, ExternalEngine, ProcessEngine
from arena.common.schemas.job import JobSpec


def job_redactor(spec: JobSpec) -> Redactor:
    engine = spec.engine
    names: list[str] = []
    if isinstance(engine, DockerEngine | ProcessEngine):
        names = list(engine.secrets.values())
    elif isinstance(engine, ExternalEngine) and engine.api_key_env:
        names = [engine.api_key_env]
    return Redactor(os.environ.get(name) for name in names)


def signed_manifest(
    settings: AgentSettings,
    spec: JobSpec,
    attempt: int,
    provenance: dict[str, object],
    versions: dict[str, str],
    samples: SampleDigest,
) -> tuple[bytes, bytes]:
    """The job's manifest and its ed25519 signature by this agent's key."""
    manifest = build_manifest(
        job_id=spec.job_id,
        attempt=attempt,
        spec=json_document(spec),
        provenance=provenance,
        versions=versions,
        samples=samples,
    )
    return manifest, load_or_create_key(settings.state_dir).sign(manifest)
