"""Sample batches checked before they are stored, and the flag a refused batch leaves on its job.

A batch with one impossible sample is refused whole (INVALID_ARGUMENT naming the samples at
fault): nothing of it is stored, so no aggregate ever sees it, and the job carries a flag that
``arenactl describe`` and ``arenactl show`` print.
"""

import structlog
from sqlalchemy import Connection
from sqlmodel import Session

from arena.common.errors import InvalidRequestError
from arena.common.metrics.sanity import (
    SampleBounds,
    SampleColumns,
    batch_problems,
    columns_pass,
)
from arena.controller.settings import ControllerSettings
from arena.controller.store import jobs as job_store
from arena.controller.store.jobs import HeldJob
from arena.controller.store.trust import add_flag

log = structlog.get_logger(__name__)


class SamplesRejected(InvalidRequestError):
    """A batch with samples that cannot have been measured."""


def bounds_for(job: HeldJob, settings: ControllerSettings, now: float) -> SampleBounds:
    """The bounds of a job's samples, from its ``jobs.HELD`` row."""
    elapsed = None if job.started_at is None else now - job.started_at
    return SampleBounds(
        benchmarks=frozenset(bench["id"] for bench in job.spec.get("benchmarks", [])),
        runs=int(job.spec.get("runs", 1)),
        latest_s=None if elapsed is None else elapsed + settings.sample_clock_tolerance_s,
        max_tokens=settings.limits.max_tokens,
        max_chunks=settings.limits.max_chunks_per_sample,
    )


def store_checked(
    connection: Connection,
    agent_id: str,
    job_id: str,
    attempt: int,
    first_seq: int,
    samples: SampleColumns,
    settings: ControllerSettings,
    now: float,
) -> tuple[int, int]:
    """``store_samples`` behind the checks, in its transaction, on the job fenced once:
    SamplesRejected (nothing stored) when a sample of the batch breaks one. The checks run on
    the columns first; only a batch they do not pass is read sample by sample, to name the
    samples at fault."""
    job = job_store.held_job(connection, agent_id, job_id, attempt)
    bounds = bounds_for(job, settings, now)
    if len(samples) and not columns_pass(samples, bounds):
        problems = batch_problems(samples.records(), bounds)
        if problems:
            raise SamplesRejected("samples refused: " + "; ".join(problems))
    return job_store.append_samples(connection, job, first_seq, samples)


def flag_job(session: Session, agent_id: str, job_id: str, attempt: int, reason: str) -> None:
    """Record why a batch was refused on the job, in a transaction of its own (the refused
    batch's was rolled back)."""
    job_store.fenced_job(session, agent_id, job_id, attempt)
    add_flag(session, job_id, f"attempt {attempt}: {reason}")
    log.warning("sample batch refused", job_id=job_id, attempt=attempt, reason=reason)
