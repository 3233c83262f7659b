"""Runs: submission (suite → jobs), listings, cancellation and the results view."""

import uuid

from sqlalchemy import case
from sqlmodel import Session, col, func, select

from arena.common.errors import NotFoundError
from arena.common.schemas.base import json_document
from arena.common.schemas.job import JobInfo, JobState
from arena.common.schemas.run import RunDetail, RunInfo, RunState
from arena.common.schemas.suite import ResolvedSuite
from arena.common.suites.expand import expand, is_simulated, job_requests
from arena.controller.store.admission import waiting_notes, with_note
from arena.controller.store.jobs import count_samples, progress_of, transition
from arena.controller.store.models import (
    AgentRow,
    JobRow,
    RunRow,
    SampleRow,
    SuiteRow,
)
from arena.controller.store.specs import UnsendableJob, stored_spec


def submit_run(
    session: Session, resolved: ResolvedSuite, source_yaml: str, filename: str, now: float
) -> tuple[str, list[str]]:
    suite_id = f"suite-{uuid.uuid4().hex[:12]}"
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    session.add(
        SuiteRow(
            id=suite_id,
            name=resolved.spec.name,
            filename=filename,
            source_yaml=source_yaml,
            resolved=resolved.model_dump(mode="json"),
            submitted_at=now,
        )
    )
    session.flush()  # parents before children: the unit of work does not order by foreign key
    session.add(
        RunRow(
            id=run_id,
            suite_id=suite_id,
            suite_name=resolved.spec.name,
            created_at=now,
            notes=resolved.simulated_data,
        )
    )
    session.flush()
    targets = {target.name: target for target in resolved.spec.targets}
    specs = expand(resolved, run_id)
    for ordinal, spec in enumerate(specs):
        session.add(
            JobRow(
                id=spec.job_id,
                ordinal=ordinal,
                run_id=run_id,
                target=spec.target,
                model=spec.model.name,
                engine_runtime=spec.engine.runtime,
                spec=json_document(spec),
                selector=targets[spec.target].model_dump(mode="json"),
                state=JobState.QUEUED.value,
                requests_expected=job_requests(spec),
                created_at=now,
            )
        )
    return run_id, [spec.job_id for spec in specs]


def jobs_of(session: Session, run_id: str, *, lock: bool = False) -> list[JobRow]:
    """The run's jobs in lease order; with ``lock``, their rows stay locked until commit."""
    query = (
        select(JobRow)
        .where(JobRow.run_id == run_id)
        .order_by(col(JobRow.created_at), col(JobRow.ordinal))
    )
    return list(session.exec(query.with_for_update() if lock else query))


def run_row(session: Session, run_id: str) -> RunRow:
    run = session.get(RunRow, run_id)
    if run is None:
        raise NotFoundError(f"no run {run_id!r}")
    return run


def _info(session: Session, run: RunRow, jobs: dict[str, str]) -> RunInfo:
    """``jobs``: the run's job ids and their states."""
    return RunInfo(
        run_id=run.id,
        suite=run.suite_name,
        state=RunState.of(jobs.values()),
        created_at_unix=run.created_at,
        jobs_total=len(jobs),
        jobs_done=sum(1 for state in jobs.values() if JobState(state).terminal),
        samples=count_samples(session, list(jobs)),
    )


def _states(jobs: list[JobRow]) -> dict[str, str]:
    return {job.id: job.state for job in jobs}


def get_run(session: Session, run_id: str) -> RunInfo:
    run = run_row(session, run_id)
    return _info(session, run, _states(jobs_of(session, run_id)))


def list_runs(session: Session, limit: int) -> list[RunInfo]:
    """The newest runs; their jobs' ids and states only (a job row's JSON columns can be
    large)."""
    runs = list(session.exec(select(RunRow).order_by(col(RunRow.created_at).desc()).limit(limit)))
    states: dict[str, dict[str, str]] = {run.id: {} for run in runs}
    jobs = select(JobRow.run_id, JobRow.id, JobRow.state).where(col(JobRow.run_id).in_(states))
    for run_id, job_id, state in session.exec(jobs):
        states[run_id][job_id] = state
    return [_info(session, run, states[run.id]) for run in runs]


def is_simulated_job(job: JobRow) -> bool:
    """Run on Arena's simulated engine: as its profile, or behind an endpoint whose answers
    carry the simulated engine's label (the agent records it in the provenance)."""
    try:
        profiled = is_simulated(stored_spec(job.spec))
    except UnsendableJob:  # the runtime it ran (an import has no spec) or was submitted with
        profiled = job.engine_runtime == "simulated"
    return profiled or job.provenance.get("simulated") is True


def job_info(job: JobRow, agent: AgentRow | None, waiting: str = "") -> JobInfo:
    """``waiting``: why a queued job waits (``admission.waiting_notes``), after its message."""
    return JobInfo(
        job_id=job.id,
        target=job.target,
        model=job.model,
        engine=job.engine_runtime,
        state=job.state,
        attempt=job.attempt,
        agent=agent.name if agent else "",
        message=with_note(job.message, waiting),
        samples=job.acked_seq,
        requests_expected=job.requests_expected,
        progress=progress_of(job),
        simulated=is_simulated_job(job),
        flags=job.flags,
        tier=job.tier or "",
    )


def run_jobs(session: Session, run_id: str) -> list[JobRow]:
    """The run's jobs; NotFoundError for an unknown run."""
    return jobs_of(session, run_row(session, run_id).id)


def suite_source(session: Session, suite_id: str) -> tuple[str | None, str | None]:
    """The submitted suite file's name and text; ``None`` for a run without a suite row."""
    suite = session.get(SuiteRow, suite_id)
    return (suite.filename, suite.source_yaml) if suite else (None, None)


def run_detail(session: Session, run_id: str) -> RunDetail:
    run = run_row(session, run_id)
    jobs = jobs_of(session, run_id)
    agents = agent_names(session, {job.agent_id for job in jobs if job.agent_id})
    waiting = waiting_notes(session, jobs)
    suite_file, suite_yaml = suite_source(session, run.suite_id)
    return RunDetail(
        run=_info(session, run, _states(jobs)),
        jobs=[
            job_info(job, agents.get(job.agent_id or ""), waiting.get(job.id, "")) for job in jobs
        ],
        notes=run.notes,
        suite_file=suite_file,
        suite_yaml=suite_yaml,
    )


def cancel_run(session: Session, run_id: str, now: float) -> int:
    """Cancel every unfinished job; agents holding one learn it from their next heartbeat."""
    cancelled = 0
    for job in jobs_of(session, run_row(session, run_id).id, lock=True):
        if JobState(job.state).terminal:
            continue
        transition(job, JobState.CANCELLED)
        job.message = "cancelled by user"
        job.finished_at = now
        session.add(job)
        cancelled += 1
    return cancelled


def agent_names(session: Session, agent_ids: set[str]) -> dict[str, AgentRow]:
    if not agent_ids:
        return {}
    rows = session.exec(select(AgentRow).where(col(AgentRow.id).in_(agent_ids)))
    return {row.id: row for row in rows}


def request_counts(session: Session, job: JobRow) -> dict[str, tuple[int, int]]:
    """Per benchmark, (failed, all) measured requests of the job's last attempt."""
    failed_request = col(SampleRow.error).is_not(None) | col(SampleRow.end_s).is_(None)
    failed = func.sum(case((failed_request, 1), else_=0))  # a boolean sum would read as bool
    query = (
        select(SampleRow.benchmark, failed, func.count())
        .where(SampleRow.job_id == job.id, SampleRow.attempt == job.attempt)
        .group_by(col(SampleRow.benchmark))
    )
    return {bench: (int(bad or 0), int(total)) for bench, bad, total in session.exec(query)}
