"""Reads behind the user API's detail and streaming calls: one bounded page per transaction,
so a stream of a long run never holds the whole run in memory or the database for long."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from arena.common.errors import InvalidRequestError
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading
from arena.controller.store.jobs import attempt_records, get_job
from arena.controller.store.models import (
    SUMMARY_RUN,
    AggregateRow,
    JobLogRow,
    JobRow,
    SampleRow,
    TelemetryRow,
)
from arena.controller.store.runs import run_jobs

MAX_LOG_PAGE = 5000
"""Log lines per answer: an engine's log can outgrow any message limit."""


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
    return attempt_records(
        session, SampleRow, RequestSample, job.job_id, job.attempt, after_seq, limit
    )


def telemetry_page(
    session: Session, job: StreamedJob, after_seq: int, limit: int
) -> tuple[list[int], list[GpuReading]]:
    return attempt_records(
        session, TelemetryRow, GpuReading, job.job_id, job.attempt, after_seq, limit
    )


def log_lines(
    session: Session, job_id: str, after_seq: int, tail: int
) -> tuple[int, list[tuple[int, str]]]:
    """The current attempt's lines numbered above ``after_seq``, oldest first, with their
    sequence numbers: the last ``tail`` of them when ``tail`` > 0, else the first
    ``MAX_LOG_PAGE`` (a reader asks again from the last number it got)."""
    job = get_job(session, job_id)
    query = select(JobLogRow.seq, JobLogRow.line).where(
        JobLogRow.job_id == job_id,
        JobLogRow.attempt == job.attempt,
        col(JobLogRow.seq) > after_seq,
    )
    if tail > 0:
        newest = query.order_by(col(JobLogRow.seq).desc()).limit(min(tail, MAX_LOG_PAGE))
        return job.attempt, [(seq, line) for seq, line in reversed(session.exec(newest).all())]
    oldest = query.order_by(col(JobLogRow.seq)).limit(MAX_LOG_PAGE)
    return job.attempt, [(seq, line) for seq, line in session.exec(oldest).all()]


def job_detail(session: Session, job_id: str) -> JobDetailView:
    job = get_job(session, job_id)
    per_run = session.exec(
        select(AggregateRow)
        .where(AggregateRow.job_id == job_id, col(AggregateRow.run) != SUMMARY_RUN)
        .order_by(col(AggregateRow.id))
    )
    return JobDetailView(job, list(per_run))
