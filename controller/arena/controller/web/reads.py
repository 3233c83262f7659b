"""What the dashboard reads from the store, each read one transaction in the calling thread.

The routes are plain ``def`` functions, so FastAPI runs them (and these reads) in its threadpool,
off the controller's event loop. The views across runs (leaderboard, capacity, Pareto) read the
results of every recent run; a finished run's are kept until it changes (``_run_versions``).
"""

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import case, text, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from arena.common.analysis.rank import read_models
from arena.common.schemas.agent import AgentInfo, HardwareInfo
from arena.common.schemas.job import JobState
from arena.common.schemas.results import RunResults
from arena.common.schemas.run import RunDetail, RunInfo
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading
from arena.controller.results.runs import run_results
from arena.controller.settings import ControllerSettings
from arena.controller.store import agents as agent_store
from arena.controller.store import jobs as job_store
from arena.controller.store import runs as run_store
from arena.controller.store.admission import policy_of
from arena.controller.store.database import Database
from arena.controller.store.imports import imported_ids
from arena.controller.store.models import AggregateRow, ImportRow, JobRow, RunRow
from arena.controller.store.telemetry import telemetry_of

SCAN_RUNS = 1000
"""Runs the views across runs read, newest first: the window ``arenactl rank`` reads too."""

_TERMINAL = [state.value for state in JobState if state.terminal]
T = TypeVar("T")


class AgentView(AgentInfo):
    """An agent as ``arenactl agents`` gets it (the ``AGENTS`` view draws both), and what only
    the dashboard's JSON adds; its key's fingerprint is ``arenactl agents -o json``'s alone."""

    versions: dict[str, str]
    last_seen_s_ago: float


@dataclass(frozen=True)
class RunView:
    info: RunInfo
    labels: list[str]
    """``simulated`` and/or ``imported`` when any of its jobs is."""


@dataclass(frozen=True)
class JobRecords:
    samples: list[RequestSample]
    readings: list[GpuReading]


class Reader:
    """The dashboard's reads; safe to call from several threads at once."""

    def __init__(self, db: Database, settings: ControllerSettings) -> None:
        self.db = db
        self.settings = settings
        self.models = read_models(settings.models_file) if settings.models_file else {}
        """The leaderboard's quality scores and footprints, read once at start."""
        self._lock = threading.RLock()
        self._finished: dict[Hashable, RunResults] = {}
        self._views: dict[Hashable, Any] = {}
        self._views_version: Hashable = None

    def database_reachable(self) -> bool:
        self.db.run_sync(lambda session: session.exec(text("SELECT 1")))  # type: ignore[call-overload]
        return True

    def agents(self) -> list[AgentView]:
        return self.db.run_sync(self._agents, time.time())

    def _agents(self, session: Session, now: float) -> list[AgentView]:
        views = []
        for row, current_job in job_store.agents_with_current_jobs(session):
            status = agent_store.agent_status(
                row, now, self.settings.heartbeat_interval_s, self.settings.lease_ttl_s
            )
            views.append(
                AgentView(
                    agent_id=row.id,
                    name=row.name,
                    status=status,
                    hardware=HardwareInfo.model_validate(row.hardware),
                    labels=row.labels,
                    last_seen_unix=row.last_seen_at,
                    draining=row.draining,
                    current_job=current_job,
                    trust=row.tier,
                    policy=policy_of(row),
                    versions=row.versions,
                    last_seen_s_ago=max(0.0, now - row.last_seen_at),
                )
            )
        return views

    def runs(self, limit: int) -> list[RunInfo]:
        return self.db.run_sync(run_store.list_runs, limit)

    def labelled_runs(self, limit: int) -> list[RunView]:
        return self.db.run_sync(_labelled_runs, limit)

    def run(self, run_id: str) -> RunDetail:
        return self.db.run_sync(run_store.run_detail, run_id)

    def results(self, run_id: str) -> RunResults:
        """One run's results: kept ones while they are current, else read now."""
        with self._lock:
            return self.db.run_sync(self._read_one, run_id)

    def _read_one(self, session: Session, run_id: str) -> RunResults:
        versions = _run_versions(session, run_id)
        kept = self._finished.get(versions[0]) if versions else None
        if kept is not None:
            return kept
        result = run_results(
            session, run_id, self.settings.max_error_rate, self.settings.accept_saturated_clients
        )
        if versions and result.state.finished:
            self._finished[versions[0]] = result
        return result

    def records(self, run_id: str) -> dict[str, JobRecords]:
        """Per job of the run (measured, current attempt), its samples and GPU readings."""
        return self.db.run_sync(_records, run_id)

    def recent_results(self) -> list[RunResults]:
        """Results of the last ``SCAN_RUNS`` runs, newest first, as ``arenactl rank`` reads."""
        return self._recent()[1]

    def view(self, key: Hashable, compute: Callable[[list[RunResults]], T]) -> T:
        """``compute(recent results)``, kept until the store changes: a view across runs is
        computed once per change, whoever asks for it."""
        version, results = self._recent()
        with self._lock:
            if self._views_version != version:
                self._views, self._views_version = {}, version
            if key not in self._views:
                self._views[key] = compute(results)
            value: T = self._views[key]
            return value

    def _recent(self) -> tuple[Hashable, list[RunResults]]:
        with self._lock:
            return self.db.run_sync(self._read_recent)

    def _read_recent(self, session: Session) -> tuple[Hashable, list[RunResults]]:
        """A finished run's results are read once and kept (keyed by what would change them);
        a run still going is read again each time."""
        versions = _run_versions(session)
        kept: dict[Hashable, RunResults] = {}
        results = []
        for key in versions:
            result = self._finished.get(key)
            if result is None:
                result = run_results(
                    session,
                    key[0],
                    self.settings.max_error_rate,
                    self.settings.accept_saturated_clients,
                )
            if result.state.finished:
                kept[key] = result
            results.append(result)
        self._finished = kept
        return tuple(versions), results


def _labelled_runs(session: Session, limit: int) -> list[RunView]:
    runs = run_store.list_runs(session, limit)
    labels: dict[str, set[str]] = {run.run_id: set() for run in runs}
    flagged = col(JobRow.provenance)["simulated"].as_boolean()
    query = select(JobRow.run_id, JobRow.engine_runtime, flagged, ImportRow.job_id).join(
        ImportRow, col(ImportRow.job_id) == JobRow.id, isouter=True
    )
    found = session.exec(query.where(col(JobRow.run_id).in_(labels)))
    for run_id, runtime, simulated, imported in found:
        if imported is not None:
            labels[run_id].add("imported")
        elif runtime == "simulated" or simulated:
            labels[run_id].add("simulated")
    return [RunView(run, sorted(labels[run.run_id])) for run in runs]


def _run_versions(
    session: Session, run_id: str | None = None
) -> list[tuple[str, float, int, float | None, int | None, int | None]]:
    """The newest ``SCAN_RUNS`` runs (or just ``run_id``) as (id, created, jobs finished, last
    finish, last aggregate id, metrics versions): a run whose tuple is unchanged has unchanged
    results (a re-import recreates the run; aggregation after success, or ``reaggregate``,
    raises the versions' sum)."""
    finished = func.count(func.distinct(case((col(JobRow.state).in_(_TERMINAL), JobRow.id))))
    query = (
        sa_select(  # six columns: past sqlmodel's typed overloads
            col(RunRow.id),
            col(RunRow.created_at),
            finished,
            func.max(JobRow.finished_at),
            func.max(AggregateRow.id),
            func.sum(JobRow.metrics_version),
        )
        .join(JobRow, col(JobRow.run_id) == RunRow.id, isouter=True)
        .join(AggregateRow, col(AggregateRow.job_id) == JobRow.id, isouter=True)
        .where(col(RunRow.id) == run_id if run_id is not None else true())
        .group_by(col(RunRow.id), col(RunRow.created_at))
        .order_by(col(RunRow.created_at).desc())
        .limit(SCAN_RUNS)
    )
    return [tuple(row) for row in session.execute(query)]


def _records(session: Session, run_id: str) -> dict[str, JobRecords]:
    """The measured jobs' samples and GPU readings (an import's figures come from its origin)."""
    jobs = run_store.run_jobs(session, run_id)
    imported = imported_ids(session, [job.id for job in jobs])
    return {
        job.id: JobRecords(job_store.samples_of(session, job), telemetry_of(session, job))
        for job in jobs
        if job.id not in imported
    }
