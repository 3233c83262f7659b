"""Sample batches, GPU readings, reference-tool results and heartbeat progress checked before
they are stored, and the flag a refused one leaves on its job.

A batch with one impossible sample is refused whole (INVALID_ARGUMENT naming the samples at
fault): nothing of it is stored, so no aggregate ever sees it, and the job carries a flag that
``arenactl describe`` and ``arenactl show`` print. Samples are checked against the job (its
spec's benchmarks, variants and output lengths, the time since its lease), never against
themselves.
"""

from collections.abc import Sequence
from typing import Any

import structlog
from pydantic import TypeAdapter
from sqlalchemy import Connection
from sqlmodel import Session

from arena.common.errors import InvalidRequestError
from arena.common.metrics.reports import progress_problem, reading_problems, tool_metric_problems
from arena.common.metrics.sanity import (
    SampleBounds,
    SampleColumns,
    batch_problems,
    columns_pass,
)
from arena.common.schemas.job import JobProgress
from arena.common.schemas.suite import Benchmark
from arena.common.schemas.telemetry import GpuReading
from arena.common.suites.variants import output_ceilings
from arena.controller.settings import ControllerSettings
from arena.controller.store import jobs as job_store
from arena.controller.store import telemetry as telemetry_store
from arena.controller.store import tools as tool_store
from arena.controller.store.bulk import RepeatedRequest
from arena.controller.store.jobs import HeldJob
from arena.controller.store.models import JobRow
from arena.controller.store.trust import add_flag

log = structlog.get_logger(__name__)
BENCHMARKS = TypeAdapter(list[Benchmark])


class SamplesRejected(InvalidRequestError):
    """A batch with samples that cannot have been measured."""


class ReportRejected(InvalidRequestError):
    """GPU readings, a tool result or heartbeat progress that cannot have been measured."""


def latest_s(job: HeldJob | JobRow, settings: ControllerSettings, now: float) -> float | None:
    """The latest job-clock time a sample or reading may carry: the time since the job started
    running, or since it was leased while it has not reported RUNNING yet (a start older than
    the lease is an earlier attempt's), plus the tolerance; None for a job never leased."""
    known = [when for when in (job.leased_at, job.started_at) if when is not None]
    return now - max(known) + settings.sample_clock_tolerance_s if known else None


def _benchmarks(spec: dict[str, Any]) -> dict[str, Benchmark]:
    return {bench.id: bench for bench in BENCHMARKS.validate_python(spec.get("benchmarks", []))}


def bounds_for(job: HeldJob, settings: ControllerSettings, now: float) -> SampleBounds:
    """The bounds of a job's samples, from its ``jobs.HELD`` row."""
    return SampleBounds(
        variants={key: output_ceilings(bench) for key, bench in _benchmarks(job.spec).items()},
        runs=int(job.spec.get("runs", 1)),
        latest_s=latest_s(job, settings, now),
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
    try:
        return job_store.append_samples(connection, job, first_seq, samples)
    except RepeatedRequest as error:  # only a later batch can repeat: the checks saw this one
        raise SamplesRejected(f"samples refused: {error}") from None


def store_checked_telemetry(
    session: Session,
    agent_id: str,
    job_id: str,
    attempt: int,
    first_seq: int,
    readings: Sequence[GpuReading],
    settings: ControllerSettings,
    now: float,
) -> int:
    """``store_telemetry`` behind the checks: the new part of the batch, against physical
    ranges, the job's running time and each GPU's energy counter as last stored;
    ReportRejected (nothing stored) when one reading breaks one. Returns the new ack."""
    job, acked, new = telemetry_store.pending_readings(
        session, agent_id, job_id, attempt, first_seq, readings
    )
    if not new:
        return acked
    counters = telemetry_store.last_counters(
        session, job, {r.gpu for r in new if r.energy_mj is not None}
    )
    problems = reading_problems(new, counters, latest_s(job, settings, now))
    if problems:
        raise ReportRejected("readings refused: " + "; ".join(problems))
    return telemetry_store.append_readings(session, job, acked, new)


def store_checked_tool_result(
    session: Session,
    agent_id: str,
    job_id: str,
    attempt: int,
    benchmark: str,
    *,
    tool: str,
    command: str,
    output: str,
    metrics: dict[str, Any],
) -> None:
    """``store_tool_result`` behind the checks: the benchmark and its variants must be the
    job's, every statistic finite and of at least one value."""
    job = job_store.fenced_job(session, agent_id, job_id, attempt)
    bench = _benchmarks(job.spec).get(benchmark)
    if bench is None:
        raise InvalidRequestError(f"job {job_id} has no benchmark {benchmark!r}")
    problems = tool_metric_problems(metrics, set(output_ceilings(bench)))
    if problems:
        raise ReportRejected(f"{tool} result of {benchmark} refused: " + "; ".join(problems))
    tool_store.store_tool_result(
        session,
        agent_id,
        job_id,
        attempt,
        benchmark,
        tool=tool,
        command=command,
        output=output,
        metrics=metrics,
    )


def check_progress(progress: Sequence[JobProgress]) -> dict[tuple[str, int], str]:
    """The jobs (id, attempt) whose reported progress cannot be, each with why."""
    found = {}
    for report in progress:
        problem = progress_problem(report)
        if problem is not None:
            found[report.job_id, report.attempt] = f"heartbeat refused: {problem}"
    return found


def flag_job(session: Session, agent_id: str, job_id: str, attempt: int, reason: str) -> None:
    """Record why a batch was refused on the job, in a transaction of its own (the refused
    batch's was rolled back)."""
    add_flag(
        job_store.fenced_job(session, agent_id, job_id, attempt), f"attempt {attempt}: {reason}"
    )
    log.warning("agent report refused", job_id=job_id, attempt=attempt, reason=reason)
