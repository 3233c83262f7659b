"""The job life cycle: leasing, heartbeats, status reports, sample ingest, lease expiry.

Every write from an agent names (agent, job, attempt); a write whose attempt is not the
job's current one, or from an agent that does not hold the job, is refused (fencing).

Several controllers may share one PostgreSQL database: every write locks the job's row
(``SELECT … FOR UPDATE``) before reading what it changes, leasing claims a job with
``SKIP LOCKED`` so two controllers never hand out the same one, and the lease reaper skips
rows another transaction holds. SQLite ignores the locks: one controller, one writer thread.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import structlog
from sqlalchemy import Connection, Row, func, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from arena.common.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from arena.common.metrics.sanity import SampleColumns
from arena.common.schemas.job import ALLOWED, JobProgress, JobState
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading
from arena.common.suites.expand import matches
from arena.controller.store import bulk
from arena.controller.store.admission import stored_policy
from arena.controller.store.agents import facts, get_agent
from arena.controller.store.models import AgentRow, AttemptItem, JobLogRow, JobRow, SampleRow
from arena.controller.store.specs import UnsendableJob, stored_spec, stored_target

log = structlog.get_logger(__name__)

ACTIVE = (JobState.LEASED.value, JobState.RUNNING.value)
MAX_LOG_LINE = 4096
RecordT = TypeVar("RecordT", RequestSample, GpuReading)


@dataclass(frozen=True)
class CancelOrder:
    job_id: str
    attempt: int
    reason: str


def transition(job: JobRow, new: JobState) -> None:
    current = JobState(job.state)
    if new not in ALLOWED[current]:
        raise ConflictError(f"job {job.id}: cannot go from {current} to {new}")
    job.state = new.value


def get_job(session: Session, job_id: str, *, lock: bool = False) -> JobRow:
    """The job; with ``lock``, its row stays locked until the transaction ends."""
    job = session.get(JobRow, job_id, with_for_update=True if lock else None)
    if job is None:
        raise NotFoundError(f"unknown job {job_id!r}")
    return job


def fenced_job(session: Session, agent_id: str, job_id: str, attempt: int) -> JobRow:
    """The job, locked, if this agent holds its current attempt. Another agent's current
    attempt is a PermissionDeniedError (no honest agent writes there); an attempt that has
    moved on, or a finished job, is a ConflictError (an honest agent after a lost lease)."""
    job = get_job(session, job_id, lock=True)
    _check_holder(job, agent_id, attempt)
    return job


class Holding(Protocol):
    """What the fence reads of a job: a ``JobRow``, or a row of ``HELD``'s columns."""

    @property
    def id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def agent_id(self) -> str | None: ...
    @property
    def attempt(self) -> int: ...


def _check_holder(job: Holding, agent_id: str, attempt: int) -> None:
    if job.agent_id not in (None, agent_id) and job.attempt == attempt:
        raise PermissionDeniedError(f"job {job.id} attempt {attempt} is held by another agent")
    if job.agent_id != agent_id or job.attempt != attempt:
        raise ConflictError(
            f"stale attempt: job {job.id} attempt {attempt} is not held by this agent "
            f"(current attempt {job.attempt})"
        )
    if JobState(job.state).terminal:
        raise ConflictError(f"job {job.id} is already {job.state}")


JOBS = JobRow.__table__  # type: ignore[attr-defined]
AGENTS = AgentRow.__table__  # type: ignore[attr-defined]
HELD = sql_select(
    JOBS.c.id,
    JOBS.c.state,
    JOBS.c.agent_id,
    JOBS.c.attempt,
    JOBS.c.acked_seq,
    JOBS.c.leased_at,
    JOBS.c.started_at,
    JOBS.c.spec,
).with_for_update()
HeldJob = Row[*tuple[Any, ...]]
"""A row of ``HELD``'s columns."""


def held_job(connection: Connection, agent_id: str, job_id: str, attempt: int) -> HeldJob:
    """``fenced_job`` on a plain connection, for sample ingest: the job's row of ``HELD``'s
    columns, locked, without an ORM session (whose set-up and identity map cost more than the
    rest of a batch's bookkeeping)."""
    job = connection.execute(HELD.where(JOBS.c.id == job_id)).first()
    if job is None:
        raise NotFoundError(f"unknown job {job_id!r}")
    _check_holder(job, agent_id, attempt)
    return job


def lease_job(session: Session, agent_id: str, now: float, lease_ttl_s: float) -> JobRow | None:
    """Give the oldest queued job this agent matches and its policy admits; one job per agent
    at a time.

    The agent's row is locked first, so that its calls through two controllers take turns;
    a queued job is claimed only if no other transaction holds it, and still queued.
    """
    agent = get_agent(session, agent_id, lock=True)
    agent.last_seen_at = now
    session.add(agent)
    if agent.draining:
        return None
    queued = session.exec(
        select(JobRow)
        .where(JobRow.state == JobState.QUEUED.value)
        .order_by(col(JobRow.created_at), col(JobRow.ordinal))
    ).all()
    if not queued:  # what an idle fleet mostly finds: nothing more to look up
        return None
    busy = session.exec(
        select(JobRow).where(JobRow.agent_id == agent_id, col(JobRow.state).in_(ACTIVE))
    ).first()
    if busy is not None:
        return None
    agent_facts = facts(agent)
    policy = stored_policy(agent)
    for candidate in queued:
        try:
            if not matches(stored_target(candidate.selector), agent_facts):
                continue
            if policy.refusals(candidate):
                continue  # its owner does not allow it: it waits for one who does
            job = _claim(session, candidate.id)
            if job is not None:
                stored_spec(job.spec)  # what the agent is sent must read back
        except UnsendableJob as error:
            _fail_unsendable(session, candidate.id, str(error), now)
            continue
        if job is not None:
            transition(job, JobState.LEASED)
            job.attempt += 1
            job.agent_id = agent_id
            job.acked_seq = 0
            job.logs_acked_seq = 0
            job.lease_expires_at = now + lease_ttl_s
            job.leased_at = now
            job.message = ""
            job.tier = agent.tier  # results keep the tier their agent had when it took the job
            session.add(job)
            log.info("job leased", job_id=job.id, agent=agent.name, attempt=job.attempt)
            return job
    return None


def _fail_unsendable(session: Session, job_id: str, reason: str, now: float) -> None:
    """Fail a queued job no agent could be sent, for good: leased, it would only come back
    after its lease to fail the next agent."""
    job = _claim(session, job_id)
    if job is None:
        return  # another controller holds it, and decides the same
    transition(job, JobState.FAILED)
    job.message = reason
    job.finished_at = now
    session.add(job)
    log.warning("failed a job that can no longer be sent", job_id=job_id, reason=reason)


def _claim(session: Session, job_id: str) -> JobRow | None:
    """The job locked, if it is still queued and no other transaction holds it."""
    return session.exec(
        select(JobRow)
        .where(JobRow.id == job_id, JobRow.state == JobState.QUEUED.value)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).first()


def stored_progress(report: JobProgress) -> dict[str, Any]:
    """The job row's ``progress``: the report without the job's id and attempt (the row's)."""
    return report.model_dump(exclude={"job_id", "attempt"})


def progress_of(job: JobRow) -> JobProgress | None:
    """The progress its agent last reported; ``None`` before the first heartbeat."""
    if not job.progress:
        return None
    return JobProgress(job_id=job.id, attempt=job.attempt, **job.progress)


def heartbeat(
    connection: Connection,
    agent_id: str,
    progress: Sequence[JobProgress],
    now: float,
    lease_ttl_s: float,
) -> tuple[list[CancelOrder], bool]:
    """Renew the leases of the jobs the agent reports; order it to stop any it should not run.
    On a plain connection: every agent sends one every couple of seconds."""
    draining = connection.execute(
        update(AGENTS)
        .where(AGENTS.c.id == agent_id)
        .values(last_seen_at=now)
        .returning(AGENTS.c.draining)
    ).scalar_one_or_none()
    if draining is None:
        raise NotFoundError(f"unknown agent id {agent_id!r}: register first")
    orders: list[CancelOrder] = []
    for report in progress:
        job_id, attempt = report.job_id, report.attempt
        job = connection.execute(HELD.where(JOBS.c.id == job_id)).first()
        if job is None:
            orders.append(CancelOrder(job_id, attempt, "unknown job"))
        elif job.agent_id != agent_id or job.attempt != attempt:
            orders.append(CancelOrder(job_id, attempt, "lease lost: job was requeued"))
        elif JobState(job.state).terminal:
            orders.append(CancelOrder(job_id, attempt, f"job is {job.state}"))
        else:
            connection.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id)
                .values(lease_expires_at=now + lease_ttl_s, progress=stored_progress(report))
            )
    return orders, bool(draining)


def report_status(
    session: Session,
    agent_id: str,
    job_id: str,
    attempt: int,
    new: JobState,
    *,
    message: str,
    now: float,
    clock_origin_unix: float | None = None,
    total_samples: int | None = None,
    provenance: dict[str, Any] | None = None,
) -> JobRow:
    job = fenced_job(session, agent_id, job_id, attempt)
    if new == JobState.SUCCEEDED and total_samples is not None and job.acked_seq < total_samples:
        raise ConflictError(
            f"job {job_id}: {total_samples} samples sent but only {job.acked_seq} stored; "
            "flush the rest first"
        )
    if JobState(job.state) != new:
        transition(job, new)
    job.message = message
    if new == JobState.RUNNING:
        job.started_at = now
        job.clock_origin_unix = clock_origin_unix
    if provenance:
        job.provenance = provenance
    if new.terminal:
        job.finished_at = now
        job.lease_expires_at = None
    session.add(job)
    log.info("job status", job_id=job_id, attempt=attempt, state=new.value, message=message)
    return job


def _extension(acked: int, first_seq: int, count: int) -> int | None:
    """How many leading items of a batch are already stored, or None when it leaves a gap.

    Batches must continue the contiguous prefix: one starting past ``acked + 1`` stores
    nothing and the unchanged ack tells the sender where to resume; overlap is skipped, so a
    resent batch never duplicates.
    """
    if first_seq < 1:
        raise InvalidRequestError("sequence numbers start at 1")
    if first_seq > acked + 1:
        return None
    return min(acked + 1 - first_seq, count)


def store_samples(
    connection: Connection,
    agent_id: str,
    job_id: str,
    attempt: int,
    first_seq: int,
    samples: SampleColumns,
) -> tuple[int, int]:
    """Store the part of the batch that extends the contiguous prefix in one bulk insert;
    return the new ack and how many samples were new."""
    return append_samples(
        connection, held_job(connection, agent_id, job_id, attempt), first_seq, samples
    )


def append_samples(
    connection: Connection, job: HeldJob, first_seq: int, samples: SampleColumns
) -> tuple[int, int]:
    """``store_samples`` for a job already held (and locked) in this transaction."""
    skip = _extension(job.acked_seq, first_seq, len(samples))
    if skip is None or skip == len(samples):
        return job.acked_seq, 0
    first_new = job.acked_seq + 1
    keys = {
        "job_id": itertools.repeat(job.id),
        "attempt": itertools.repeat(job.attempt),
        "seq": range(first_new, first_new + len(samples) - skip),
        "chunk_times_s": samples.chunks[skip:],
    }
    columns = [
        keys[name] if name in keys else samples.values[name][skip:] for name in bulk.SAMPLE_COLUMNS
    ]
    rows = list(zip(*columns, strict=False))  # the repeats are endless; seq bounds the rows
    bulk.insert_samples(connection, rows)
    acked = job.acked_seq + len(rows)
    connection.execute(update(JOBS).where(JOBS.c.id == job.id).values(acked_seq=acked))
    return acked, len(rows)


def store_logs(
    session: Session, agent_id: str, job_id: str, attempt: int, first_seq: int, lines: Sequence[str]
) -> int:
    """Engine log lines, with the same contiguous-ack rule as samples."""
    job = fenced_job(session, agent_id, job_id, attempt)
    skip = _extension(job.logs_acked_seq, first_seq, len(lines))
    if skip is None:
        return job.logs_acked_seq
    for line in lines[skip:]:
        job.logs_acked_seq += 1
        session.add(
            JobLogRow(
                job_id=job_id, attempt=attempt, seq=job.logs_acked_seq, line=line[:MAX_LOG_LINE]
            )
        )
    session.add(job)
    return job.logs_acked_seq


def _requeue(job: JobRow, reason: str, now: float, max_attempts: int) -> None:
    """Give the job to the next agent, or fail it once its attempts are used up."""
    if job.attempt >= max_attempts:
        transition(job, JobState.FAILED)
        job.message = f"{reason} on attempt {job.attempt}; giving up after {max_attempts}"
        job.finished_at = now
    else:
        transition(job, JobState.QUEUED)
        job.message = f"{reason} on attempt {job.attempt}; requeued"
    job.agent_id = None
    job.lease_expires_at = None


def requeue_held(
    session: Session, agent_id: str, reason: str, now: float, max_attempts: int
) -> int:
    """Take the agent's active job away from it at once (it was revoked)."""
    job = current_job_of(session, agent_id)
    if job is None:
        return 0
    _requeue(job, reason, now, max_attempts)
    session.add(job)
    log.warning("job taken from its agent", job_id=job.id, reason=reason, state=job.state)
    return 1


def expire_leases(session: Session, now: float, max_attempts: int) -> list[str]:
    """Requeue jobs whose agent went silent past the lease; fail them after max attempts."""
    expired = session.exec(
        select(JobRow)
        .where(col(JobRow.state).in_(ACTIVE), col(JobRow.lease_expires_at) < now)
        .with_for_update(skip_locked=True)  # every controller reaps; a held row is not expired
    ).all()
    for job in expired:
        _requeue(job, "lease expired", now, max_attempts)
        session.add(job)
        log.warning("lease expired", job_id=job.id, attempt=job.attempt, state=job.state)
    return [job.id for job in expired]


def abandon_job(
    session: Session,
    agent_id: str,
    job_id: str,
    attempt: int,
    now: float,
    max_attempts: int,
    reason: str = "",
) -> JobRow:
    """The agent gives the job back (it restarted mid-job, or cannot read the job): requeue
    at once rather than at expiry, with its reason."""
    job = fenced_job(session, agent_id, job_id, attempt)
    _requeue(job, reason or "agent restarted during the job", now, max_attempts)
    session.add(job)
    log.warning("job abandoned by its agent", job_id=job_id, attempt=attempt, state=job.state)
    return job


def grant_grace(session: Session, now: float, lease_ttl_s: float) -> int:
    """After a controller restart, give every active lease a full TTL: agents need time to
    reconnect, and a controller outage must not cost them their running jobs."""
    active = session.exec(select(JobRow).where(col(JobRow.state).in_(ACTIVE))).all()
    for job in active:
        job.lease_expires_at = max(job.lease_expires_at or 0.0, now + lease_ttl_s)
        session.add(job)
    return len(active)


def current_job_of(session: Session, agent_id: str) -> JobRow | None:
    return session.exec(
        select(JobRow).where(JobRow.agent_id == agent_id, col(JobRow.state).in_(ACTIVE))
    ).first()


def agents_with_current_jobs(session: Session) -> list[tuple[AgentRow, str]]:
    """Every agent by name, with the id of the job it holds (leased or running; "" when idle):
    the agent listing of ``arenactl agents`` and the dashboard, one statement for any number of
    agents."""
    held = (
        sql_select(col(JobRow.agent_id), func.min(JobRow.id).label("job_id"))
        .where(col(JobRow.state).in_(ACTIVE), col(JobRow.agent_id).is_not(None))
        .group_by(col(JobRow.agent_id))
        .subquery()
    )
    rows = session.exec(
        select(AgentRow, held.c.job_id)
        .outerjoin(held, held.c.agent_id == AgentRow.id)
        .order_by(col(AgentRow.name))
    ).all()
    return [(agent, job_id or "") for agent, job_id in rows]


def attempt_records(
    session: Session,
    table: type[AttemptItem],
    record: type[RecordT],
    job_id: str,
    attempt: int,
    after_seq: int = 0,
    limit: int | None = None,
) -> tuple[list[int], list[RecordT]]:
    """An attempt's stored items numbered above ``after_seq`` (at most ``limit`` of them), in
    order, as the records they are without their keys, and their sequence numbers. (A row is
    an instance of its record, which pydantic would hand back as it is: its fields are read.)"""
    rows = session.exec(
        select(table)
        .where(table.job_id == job_id, table.attempt == attempt, col(table.seq) > after_seq)
        .order_by(col(table.seq))
        .limit(limit)
    ).all()
    return [row.seq for row in rows], [
        record.model_validate({name: getattr(row, name) for name in record.model_fields})
        for row in rows
    ]


def samples_of(session: Session, job: JobRow) -> list[RequestSample]:
    """The current attempt's samples."""
    return attempt_records(session, SampleRow, RequestSample, job.id, job.attempt)[1]


def count_samples(session: Session, job_ids: Sequence[str]) -> int:
    if not job_ids:
        return 0
    return session.exec(
        select(func.count()).select_from(SampleRow).where(col(SampleRow.job_id).in_(job_ids))
    ).one()
