"""Reads behind the user API's detail and streaming calls: one bounded page per transaction,
so a stream of a long run never holds the whole run in memory or the database for long."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from arena.common.errors import InvalidRequestError
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading
from arena.controller.store.aggregates import SUMMARY_RUN
from arena.controller.store.jobs import get_job
from arena.controller.store.models import (
    AggregateRow,
    JobLogRow,
    JobRow,
    SampleRow,
    TelemetryRow,
)
from arena.controller.store.runs import run_jobs


@dataclass(frozen=True)
class StreamedJob:
    job_id: str
    attempt: int


@dataclass(frozen=True)
class JobDetailView:
    job: JobRow
    run_metrics: list[AggregateRow]


def stream_jobs(session: Session, job_id: str, run_id: str) -> list[StreamedJob]:
    """The jobs (current attempts) a stream covers: one job, or every job of a run in order."""
    if bool(job_id) == bool(run_id):
        raise InvalidRequestError("give exactly one of job_id and run_id")
    jobs = [get_job(session, job_id)] if job_id else run_jobs(session, run_id)
    return [StreamedJob(job.id, job.attempt) for job in jobs]


def sample_page(
    session: Session, job: StreamedJob, after_seq: int, limit: int
) -> tuple[list[int], list[RequestSample]]:
    """Up to ``limit`` samples numbered above ``after_seq``, with their sequence numbers."""
    rows = list(
        session.exec(
            select(SampleRow)
            .where(
                SampleRow.job_id == job.job_id,
                SampleRow.attempt == job.attempt,
                col(SampleRow.seq) > after_seq,
            )
            .order_by(col(SampleRow.seq))
            .limit(limit)
        )
    )
    return [row.seq for row in rows], [
        RequestSample.model_validate(r, from_attributes=True) for r in rows
    ]


def telemetry_page(
    session: Session, job: StreamedJob, after_seq: int, limit: int
) -> tuple[list[int], list[GpuReading]]:
    rows = list(
        session.exec(
            select(TelemetryRow)
            .where(
                TelemetryRow.job_id == job.job_id,
                TelemetryRow.attempt == job.attempt,
                col(TelemetryRow.seq) > after_seq,
            )
            .order_by(col(TelemetryRow.seq))
            .limit(limit)
        )
    )
    return [row.seq for row in rows], [
        GpuReading.model_validate(r, from_attributes=True) for r in rows
    ]


def log_lines(
    session: Session, job_id: str, after_seq: int, tail: int
) -> tuple[int, list[tuple[int, str]]]:
    """The current attempt's lines numbered above ``after_seq`` (the last ``tail`` of them
    when ``tail`` > 0), oldest first, with their sequence numbers."""
    job = get_job(session, job_id)
    query = (
        select(JobLogRow.seq, JobLogRow.line)
        .where(
            JobLogRow.job_id == job_id,
            JobLogRow.attempt == job.attempt,
            col(JobLogRow.seq) > after_seq,
        )
        .order_by(col(JobLogRow.seq).desc())
    )
    if tail > 0:
        query = query.limit(tail)
    return job.attempt, [(seq, line) for seq, line in reversed(session.exec(query).all())]


def job_detail(session: Session, job_id: str) -> JobDetailView:
    job = get_job(session, job_id)
    per_run = session.exec(
        select(AggregateRow)
        .where(AggregateRow.job_id == job_id, col(AggregateRow.run) != SUMMARY_RUN)
        .order_by(col(AggregateRow.id))
    )
    return JobDetailView(job, list(per_run))
