"""Rows of computed metrics (``AggregateRow``, ``EnergyRow``) and the queries that find jobs
whose metrics are pending or stale; what the rows hold is decided in
``arena.controller.results``."""

from collections.abc import Sequence

from sqlmodel import Session, col, delete, or_, select

from arena.common.schemas.job import JobState
from arena.controller.store.jobs import get_job
from arena.controller.store.models import AggregateRow, EnergyRow, ImportRow, JobRow

FINISHED = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
"""Job states whose metrics are computed: a failed or cancelled job's completed benchmarks
(``metrics.completion``) are kept, marked partial."""

_COMPUTED = (
    col(JobRow.state).in_([state.value for state in FINISHED]),
    col(JobRow.id).not_in(select(ImportRow.job_id)),
)
"""The jobs whose metrics the controller computes: finished and measured (an import's
metrics are the ones it brought)."""


def computed_jobs(
    session: Session, run_ids: Sequence[str] | None = None, *, older_than: int | None = None
) -> list[tuple[str, str]]:
    """(run id, job id) of the jobs whose metrics the controller computes, of ``run_ids`` or
    of every run; with ``older_than``, only those whose metrics are pending or older."""
    query = select(JobRow.run_id, JobRow.id).where(*_COMPUTED)
    if run_ids is not None:
        query = query.where(col(JobRow.run_id).in_(run_ids))
    if older_than is not None:
        version = col(JobRow.metrics_version)
        query = query.where(or_(version.is_(None), version < older_than))
    query = query.order_by(col(JobRow.created_at), col(JobRow.ordinal))
    return [(run_id, job_id) for run_id, job_id in session.exec(query)]


def pending_jobs(
    session: Session, run_id: str | None = None, job_id: str | None = None
) -> list[str]:
    """Finished measured jobs (of ``run_id``, or just ``job_id``, or of every run) whose
    aggregation has not been stored yet."""
    query = select(JobRow.id).where(*_COMPUTED, col(JobRow.metrics_version).is_(None))
    if run_id is not None:
        query = query.where(JobRow.run_id == run_id)
    if job_id is not None:
        query = query.where(JobRow.id == job_id)
    return list(session.exec(query))


def is_pending(job: JobRow) -> bool:
    """A measured job (never an import: ``pending_jobs`` and the results view leave those
    out) that finished and whose aggregation is not stored yet."""
    return job.state in {state.value for state in FINISHED} and job.metrics_version is None


def replace_aggregates(
    session: Session,
    job_id: str,
    aggregates: Sequence[AggregateRow],
    energy: Sequence[EnergyRow],
    version: int,
) -> int:
    """Store the job's metrics in place of any earlier ones, marked with the definitions'
    ``version``; returns rows written. The job's row is locked first, so two writers of the
    same job (two controllers, or one and ``reaggregate``) take turns, and the last one's
    rows stand whole."""
    job = get_job(session, job_id, lock=True)
    session.exec(delete(AggregateRow).where(col(AggregateRow.job_id) == job_id))
    session.exec(delete(EnergyRow).where(col(EnergyRow.job_id) == job_id))
    session.add_all([*aggregates, *energy])
    job.metrics_version = version
    session.add(job)
    return len(aggregates) + len(energy)
