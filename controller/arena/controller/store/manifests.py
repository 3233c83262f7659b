"""A finished job's provenance manifest, verified before the job may succeed: signed by the key
bound to the agent that ran it, naming this job, and hashing exactly the samples stored."""

from sqlmodel import Session

from arena.common.errors import InvalidRequestError
from arena.common.provenance.keys import verify_signature
from arena.common.provenance.manifest import manifest_problems
from arena.controller.store.agents import get_agent
from arena.controller.store.jobs import samples_of
from arena.controller.store.models import JobRow
from arena.controller.store.trust import add_flag

UNSIGNED = "unsigned: the agent sent no provenance manifest"


class ManifestRejected(InvalidRequestError):
    """A manifest that does not verify: the job stays unfinished and is flagged."""


def record_manifest(session: Session, job: JobRow, manifest: bytes, signature: bytes) -> None:
    """Verify and keep the manifest with the job; a job without one is flagged unsigned."""
    if not manifest:
        add_flag(job, UNSIGNED)
        return
    agent = get_agent(session, job.agent_id or "")
    bound = agent.public_key
    if not bound:
        raise ManifestRejected(f"agent {agent.name} has no signing key bound; register again")
    key = bytes.fromhex(bound)
    if not verify_signature(key, manifest, signature):
        raise ManifestRejected(
            f"the manifest's signature does not verify with agent {agent.name}'s key"
        )
    problems = manifest_problems(manifest, job.id, samples_of(session, job))
    if problems:
        raise ManifestRejected("manifest refused: " + "; ".join(problems))
    job.manifest, job.signature, job.signer_key = manifest.decode(), signature.hex(), bound
    session.add(job)
