"""Sample batches checked before they are stored, and the flag a refused batch leaves on its job.

A batch with one impossible sample is refused whole (INVALID_ARGUMENT naming the samples at
fault): nothing of it is stored, so no aggregate ever sees it, and the job carries a flag that
``arenactl describe`` and ``arenactl show`` print.
"""

from collections.abc import Sequence

import structlog
from sqlmodel import Session

from arena.common.errors import InvalidRequestError
from arena.common.metrics.sanity import SampleBounds, batch_problems
from arena.common.schemas.sample import RequestSample
from arena.controller.settings import ControllerSettings
from arena.controller.store import jobs as job_store
from arena.controller.store.models import JobRow

log = structlog.get_logger(__name__)

MAX_FLAGS = 20
"""Flags kept per job: the first ones say what went wrong; the rest would only repeat it."""


class SamplesRejected(InvalidRequestError):
    """A batch with samples that cannot have been measured."""


def bounds_for(job: JobRow, settings: ControllerSettings, now: float) -> SampleBounds:
    elapsed = None if job.started_at is None else now - job.started_at
    return SampleBounds(
        benchmarks=frozenset(bench["id"] for bench in job.spec.get("benchmarks", [])),
        runs=int(job.spec.get("runs", 1)),
        latest_s=None if elapsed is None else elapsed + settings.sample_clock_tolerance_s,
        max_tokens=settings.limits.max_tokens,
        max_chunks=settings.limits.max_chunks_per_sample,
    )


def check_batch(
    session: Session,
    agent_id: str,
    job_id: str,
    attempt: int,
    samples: Sequence[RequestSample],
    settings: ControllerSettings,
    now: float,
) -> None:
    """Raise SamplesRejected when a sample of the batch breaks a check (fenced like a write)."""
    job = job_store.fenced_job(session, agent_id, job_id, attempt)
    problems = batch_problems(samples, bounds_for(job, settings, now))
    if problems:
        raise SamplesRejected("samples refused: " + "; ".join(problems))


def flag_job(session: Session, agent_id: str, job_id: str, attempt: int, reason: str) -> None:
    """Record why a batch was refused on the job, in a transaction of its own (the refused
    batch's was rolled back)."""
    job = job_store.fenced_job(session, agent_id, job_id, attempt)
    flag = f"attempt {attempt}: {reason}"
    if len(job.flags) < MAX_FLAGS and flag not in job.flags:
        job.flags = [*job.flags, flag]
        session.add(job)
    log.warning("sample batch refused", job_id=job_id, attempt=attempt, reason=reason)
