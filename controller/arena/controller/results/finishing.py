"""Finishing a succeeded job: its metrics are computed after its success is committed, off the
database thread, and stored in a short transaction of their own.

``ReportJobStatus`` commits the success and returns; the job is then *pending* (succeeded,
``metrics_version`` NULL) until its metrics are stored. Computing them reads every sample
(~0.2 ms each), so it runs in a worker process with its own session: the database thread
that serves heartbeats and uploads only runs the short write (``replace_aggregates``).
Nothing is lost to a crash between the two: the controller finds pending jobs at start, and a
read of a pending job's results starts its aggregation too (on any controller sharing the
database: the write locks the job's row and replaces its rows whole, so two controllers that
both compute it store the same rows in turn). Readers of results wait, within a bound, for a
run's pending jobs (``settle``); past it a pending job's benchmarks say so.
"""

import asyncio
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from arena.controller.results.aggregation import Aggregates, compute_aggregates, store_computed
from arena.controller.store.aggregates import is_pending, pending_jobs
from arena.controller.store.database import Database, connect
from arena.controller.store.jobs import get_job

log = structlog.get_logger(__name__)

SETTLE_S = 20.0
"""How long a read of results waits for its run's pending aggregation: well inside a client's
deadline (``arenactl`` allows a call 30 s). A few thousand samples take a second or two; a
job of 100,000 can take longer, and is shown as still aggregating."""

_engines: dict[str, Engine] = {}
"""The worker process's engine per database URL, kept from one job to the next."""


def _start_worker() -> None:
    """The worker leaves Ctrl-C to the controller, which stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _compute_in_worker(url: str, job_id: str) -> Aggregates | None:
    """In the worker process: the job's metrics, or None when they are no longer pending
    (stored meanwhile, by this controller or another)."""
    engine = _engines.get(url) or _engines.setdefault(url, connect(url))
    with Session(engine) as session:
        if not is_pending(get_job(session, job_id)):
            return None
        return compute_aggregates(session, job_id)


def _pool() -> ProcessPoolExecutor:
    """One worker process, started by the first job to aggregate (spawned: the controller
    runs gRPC threads, which fork does not copy safely)."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_start_worker)


class JobFinisher:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._worker = _pool()
        self._running: dict[str, asyncio.Task[None]] = {}

    def finish(self, job_id: str) -> "asyncio.Task[None]":
        """Aggregate the job in the background (once: a second call joins the first)."""
        task = self._running.get(job_id)
        if task is None:
            task = asyncio.create_task(self._aggregate(job_id), name=f"aggregate {job_id}")
            self._running[job_id] = task
            task.add_done_callback(lambda _: self._running.pop(job_id, None))
        return task

    async def _aggregate(self, job_id: str) -> None:
        try:
            computed = await self._compute(job_id)
            if computed is not None:
                written = await self._db.call(store_computed, computed)
                log.debug("job aggregated", job_id=job_id, rows=written)
        except Exception:  # the job stays pending: the next read or start tries again
            log.exception("aggregating a job failed", job_id=job_id)

    async def _compute(self, job_id: str) -> Aggregates | None:
        """In the worker process: reading and reducing every sample is seconds of Python,
        which in a thread of the controller's own still held heartbeats up to ~0.5 s
        behind a job of 10,000 samples (``bench.aggregation_heartbeat``)."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._worker, _compute_in_worker, self._db.url, job_id
            )
        except BrokenProcessPool:  # the worker died (killed, out of memory): a new one
            self._worker = _pool()
            raise

    async def recover(self) -> int:
        """Aggregate every pending job (the controller stopped before storing them)."""
        pending = await self._db.call(pending_jobs)
        for job_id in pending:
            self.finish(job_id)
        return len(pending)

    async def settle(self, run_id: str | None = None, job_id: str | None = None) -> None:
        """Wait, at most ``SETTLE_S``, until the run's (or the job's) succeeded jobs have
        their metrics."""
        pending = await self._db.call(pending_jobs, run_id, job_id)
        tasks = [self.finish(job) for job in pending]
        if tasks:
            await asyncio.wait(tasks, timeout=SETTLE_S)

    def close(self) -> None:
        """Stop starting aggregations; one being computed is dropped (its job stays pending,
        and the next start aggregates it)."""
        for task in self._running.values():
            task.cancel()
        self._worker.shutdown(wait=False, cancel_futures=True)
