"""GPU telemetry of job attempts: ingest (fenced and contiguous, like samples; checked by
``rpc.sanity`` between ``pending_readings`` and ``append_readings``), reads, and the stored
per-benchmark energy figures (computed in ``arena.controller.results.aggregation``)."""

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from arena.common.metrics.reports import Counter
from arena.common.schemas.packed import FLOAT64_BYTES
from arena.common.schemas.results import EnergyFigures
from arena.common.schemas.telemetry import GpuReading
from arena.controller.store.jobs import _extension, attempt_records, fenced_job
from arena.controller.store.models import EnergyRow, JobRow, SampleRow, TelemetryRow


def _acked(session: Session, job_id: str, attempt: int) -> int:
    """Readings are only ever stored as a contiguous prefix, so the highest stored sequence
    is the ack (and a new attempt starts from 0 by itself)."""
    highest = session.exec(
        select(func.max(TelemetryRow.seq)).where(
            TelemetryRow.job_id == job_id, TelemetryRow.attempt == attempt
        )
    ).one()
    return int(highest or 0)


def pending_readings(
    session: Session,
    agent_id: str,
    job_id: str,
    attempt: int,
    first_seq: int,
    readings: Sequence[GpuReading],
) -> tuple[JobRow, int, Sequence[GpuReading]]:
    """The job (fenced, locked), its ack, and the part of the batch that extends the
    contiguous prefix: what ``append_readings`` stores (a resent batch has none)."""
    job = fenced_job(session, agent_id, job_id, attempt)
    acked = _acked(session, job_id, attempt)
    skip = _extension(acked, first_seq, len(readings))
    return job, acked, [] if skip is None else readings[skip:]


def last_counters(session: Session, job: JobRow, gpus: set[int]) -> dict[int, Counter]:
    """Each GPU's last stored energy reading of the job's attempt (the newest rows first: a
    GPU's last reading is one tick back)."""
    counters = {}
    for gpu in gpus:
        row = session.exec(
            select(TelemetryRow.t_s, TelemetryRow.energy_mj)
            .where(
                TelemetryRow.job_id == job.id,
                TelemetryRow.attempt == job.attempt,
                TelemetryRow.gpu == gpu,
                col(TelemetryRow.energy_mj).is_not(None),
            )
            .order_by(col(TelemetryRow.seq).desc())
            .limit(1)
        ).first()
        if row is not None and row[1] is not None:
            counters[gpu] = Counter(row[0], row[1])
    return counters


def append_readings(
    session: Session, job: JobRow, acked: int, readings: Sequence[GpuReading]
) -> int:
    """Store readings after the ack; return the new ack."""
    for reading in readings:
        acked += 1
        session.add(
            TelemetryRow(job_id=job.id, attempt=job.attempt, seq=acked, **reading.model_dump())
        )
    return acked


def telemetry_of(session: Session, job: JobRow) -> list[GpuReading]:
    """The current attempt's readings."""
    return attempt_records(session, TelemetryRow, GpuReading, job.id, job.attempt)[1]


def benchmark_windows(session: Session, job: JobRow) -> dict[str, tuple[float, float, int]]:
    """Per benchmark: first send, last completion and output tokens of successful requests
    (``metrics.open_loop.succeeded``: no error, completed, a first token), each request's by
    ``metrics.tokens.output_tokens``'s rule: counted, else usage (unless 0), else one per chunk
    (8 bytes a packed chunk time)."""
    output = func.coalesce(
        col(SampleRow.counted_output_tokens),
        func.nullif(col(SampleRow.completion_tokens), 0),
        func.length(col(SampleRow.chunk_times_s)) / FLOAT64_BYTES,
    )
    tokens = func.sum(output).filter(
        col(SampleRow.error).is_(None),
        col(SampleRow.end_s).is_not(None),
        col(SampleRow.first_token_s).is_not(None),
    )
    rows = session.exec(
        select(
            SampleRow.benchmark,
            func.min(SampleRow.sent_s),
            func.max(SampleRow.end_s),
            tokens,
        )
        .where(SampleRow.job_id == job.id, SampleRow.attempt == job.attempt)
        .group_by(col(SampleRow.benchmark))
    ).all()
    return {
        bench: (start, end, int(total or 0))
        for bench, start, end, total in rows
        if start is not None and end is not None
    }


def energy_of(session: Session, job_id: str) -> dict[str, EnergyFigures]:
    rows = session.exec(select(EnergyRow).where(EnergyRow.job_id == job_id))
    return {row.benchmark: EnergyFigures.model_validate(row.figures) for row in rows}
