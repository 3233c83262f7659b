"""Suite files are parsed in worker processes, never on the controller's event loop.

Parsing YAML and validating a large suite is CPU work that holds the GIL: in a thread it would
still stall every other call. A worker process runs it instead, under a time budget; one that
overruns is killed (there is no other way to stop a parse) and replaced, and the caller is told
its suite took too long. Each user may have a few suites being parsed at once; more are refused
with a retry delay, so one user cannot occupy every worker.
"""

import asyncio
import contextlib
import multiprocessing.connection
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from arena.common.errors import RateLimitedError, SuiteError, SuiteProblem, UnavailableError
from arena.common.logging import configure_logging
from arena.common.schemas.suite import ResolvedSuite
from arena.common.suites.limits import SuiteLimits

log = structlog.get_logger(__name__)

READY = "ready"
START_TIMEOUT_S = 120.0
"""How long a fresh worker may take to import the loader (a loaded box is slow)."""


@dataclass(frozen=True)
class SuiteJob:
    text: str
    filename: str
    base_dir: Path | None
    limits: SuiteLimits


def _serve(conn: multiprocessing.connection.Connection) -> None:
    """The worker's loop: one suite in, a ResolvedSuite or the problems out."""
    from arena.common.suites.loader import load_suite_text  # noqa: PLC0415 (the child's import)

    conn.send(READY)
    while True:
        try:
            job: SuiteJob = conn.recv()
        except EOFError:  # the controller has gone
            return
        try:
            resolved = load_suite_text(
                job.text, job.filename, base_dir=job.base_dir, limits=job.limits
            )
        except SuiteError as error:
            conn.send(("problems", list(error.errors)))
        else:
            conn.send(("suite", resolved))


class _Worker:
    """``python -m arena.controller.suite_workers FD``: a fresh interpreter (never a fork of a
    process running gRPC, never a re-import of the controller's main module), talking over a
    socket pair."""

    def __init__(self) -> None:
        mine, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        self.conn = multiprocessing.connection.Connection(mine.detach())
        self.ready = False

    async def receive(self, timeout_s: float) -> Any:
        """The next object the worker sends, without blocking the event loop."""
        loop = asyncio.get_running_loop()
        arrived: asyncio.Future[None] = loop.create_future()
        fd = self.conn.fileno()

        def readable() -> None:
            if not arrived.done():
                arrived.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await asyncio.wait_for(arrived, timeout_s)
        finally:
            loop.remove_reader(fd)
        return self.conn.recv()  # the whole message is there once the socket is readable

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)
        self.conn.close()


class SuiteWorkers:
    """A few worker processes, started on first use; ``load`` is the one entry."""

    def __init__(self, workers: int, budget_s: float, per_user: int) -> None:
        self.size, self.budget_s, self.per_user = workers, budget_s, per_user
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: set[_Worker] = set()
        self._busy_users: Counter[str] = Counter()

    def parsing(self, user: str) -> int:
        """Suites of ``user`` being parsed now."""
        return self._busy_users[user]

    async def load(self, user: str, job: SuiteJob) -> ResolvedSuite:
        """The resolved suite; SuiteError with its problems, or one saying it took too long;
        RateLimitedError when ``user`` already has ``per_user`` suites being parsed."""
        if self.parsing(user) >= self.per_user:
            raise RateLimitedError(
                f"user {user!r} already has {self.per_user} suites being parsed; "
                "retry when one is done",
                self.budget_s / 2,
            )
        with self._counted(user):
            worker = await self._take()
            try:
                kind, value = await self._parse(worker, job)
            except BaseException:
                self._replace(worker)
                raise
            self._give_back(worker)
        if kind == "problems":
            raise SuiteError.from_problems(value)
        assert isinstance(value, ResolvedSuite)
        return value

    async def _parse(self, worker: _Worker, job: SuiteJob) -> tuple[str, Any]:
        if not worker.ready:
            if await worker.receive(START_TIMEOUT_S) != READY:
                raise UnavailableError("a suite worker failed to start")
            worker.ready = True
        worker.conn.send(job)
        try:
            result: tuple[str, Any] = await worker.receive(self.budget_s)
        except TimeoutError:
            log.warning("suite parse over budget; worker killed", budget_s=self.budget_s)
            raise SuiteError.from_problems(
                [
                    SuiteProblem(
                        job.filename,
                        None,
                        "",
                        f"parsing and expanding this suite took longer than "
                        f"{self.budget_s:g} s; make it smaller",
                    )
                ]
            ) from None
        return result

    @contextlib.contextmanager
    def _counted(self, user: str) -> Iterator[None]:
        self._busy_users[user] += 1
        try:
            yield
        finally:
            self._busy_users[user] -= 1
            if not self._busy_users[user]:
                del self._busy_users[user]

    async def _take(self) -> _Worker:
        if self._idle is None:
            self._idle = asyncio.Queue()
            for _ in range(self.size):
                self._give_back(self._start())
        return await self._idle.get()

    def _start(self) -> _Worker:
        worker = _Worker()
        self._all.add(worker)
        return worker

    def _give_back(self, worker: _Worker) -> None:
        assert self._idle is not None
        self._idle.put_nowait(worker)

    def _replace(self, worker: _Worker) -> None:
        """A worker whose parse was cut short may be mid-suite: kill it, start another."""
        self._all.discard(worker)
        worker.kill()
        self._give_back(self._start())

    def close(self) -> None:
        for worker in self._all:
            worker.kill()
        self._all.clear()


if __name__ == "__main__":
    configure_logging("warning")  # to stderr, beside the controller's own lines
    _serve(multiprocessing.connection.Connection(int(sys.argv[1])))
