"""The agent: register, then lease and run one job at a time while heartbeats go on.

Shutdown order: stop leasing, cancel the running job (its engine stops and the controller
hears why), stop heartbeats, close the channel.
"""

import asyncio
import contextlib
import platform
import random
from typing import Any

import structlog

from agent.engines.docker import reap_orphans as reap_container_orphans
from agent.engines.process import reap_orphans as reap_process_orphans
from agent.hardware import probe
from agent.jobs import JobExecution
from agent.link import ControllerLink, Registration
from agent.settings import AgentSettings
from shared.errors import ArenaError, AuthError, NotFoundError, UnavailableError

log = structlog.get_logger(__name__)

ARENA_VERSION = "0.1.0"


class Agent:
    def __init__(self, settings: AgentSettings) -> None:
        self.settings = settings
        self.link = ControllerLink(settings.controller, settings.token)
        self.hardware = probe()
        self.registration: Registration | None = None
        self.current: JobExecution | None = None
        self.draining = False
        self.jobs_done = 0
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        await asyncio.to_thread(self._reap_orphans)
        await self._register()
        heartbeats = asyncio.create_task(self._heartbeats())
        try:
            await self._job_loop()
        finally:
            heartbeats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeats
            await self.link.close()
            log.info("agent stopped", jobs_done=self.jobs_done)

    def shutdown(self) -> None:
        self._stopping.set()
        if self.current is not None:
            self.current.cancel("agent shutting down")

    async def __aenter__(self) -> "Agent":
        return self

    async def __aexit__(self, *_: Any) -> None:
        self.shutdown()

    def _reap_orphans(self) -> None:
        """Engines a crashed earlier run of this agent left behind would skew the next job."""
        processes = reap_process_orphans(self.settings.state_dir)
        containers = (
            reap_container_orphans(self.settings.name) if self.hardware.container_runtime else 0
        )
        if processes or containers:
            log.warning("reaped orphaned engines", processes=processes, containers=containers)

    async def _register(self) -> None:
        """Register, retrying with backoff and jitter while the controller is unreachable."""
        delay = 0.5
        while not self._stopping.is_set():
            try:
                self.registration = await self.link.register(
                    self.settings.name,
                    self.hardware,
                    self.settings.labels,
                    {"arena": ARENA_VERSION, "python": platform.python_version()},
                )
                log.info(
                    "registered",
                    agent=self.settings.name,
                    agent_id=self.registration.agent_id,
                    controller=self.settings.controller,
                    hardware=self.hardware.summary,
                )
                return
            except UnavailableError as error:
                log.warning(
                    "controller unreachable; retrying", error=str(error), retry_in_s=round(delay, 1)
                )
                await self._sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, 15.0)

    async def _job_loop(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            if self.draining:
                await self._sleep(self.settings.lease_wait_s)
                continue
            try:
                lease = await self.link.lease(self.settings.lease_wait_s)
                delay = 0.5
            except UnavailableError as error:
                log.warning("lease failed; retrying", error=str(error))
                await self._sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, 15.0)
                continue
            except NotFoundError:
                await self._register()  # the controller forgot us (e.g. a fresh database)
                continue
            if lease is None or self._stopping.is_set():
                continue
            log.info(
                "job leased",
                job_id=lease.job_id,
                attempt=lease.attempt,
                model=lease.spec.model.name,
                benchmarks=len(lease.spec.benchmarks),
            )
            self.current = JobExecution(self.link, lease, self.settings)
            try:
                await self.current.run()
            finally:
                self.current = None
                self.jobs_done += 1

    async def _heartbeats(self) -> None:
        assert self.registration is not None
        while True:
            await asyncio.sleep(self.registration.heartbeat_interval_s)
            running = [self.current.progress()] if self.current is not None else []
            try:
                directives = await self.link.heartbeat(running, self.draining)
            except (UnavailableError, NotFoundError) as error:
                log.warning("heartbeat failed", error=str(error))
                continue
            except AuthError:
                log.error("controller refused our token; stopping")
                self.shutdown()
                return
            except ArenaError:
                log.exception("heartbeat refused")
                continue
            for job_id, attempt, reason in directives.cancel:
                current = self.current
                if current is not None and (current.lease.job_id, current.lease.attempt) == (
                    job_id,
                    attempt,
                ):
                    log.info("cancelling job on controller's order", job_id=job_id, reason=reason)
                    current.cancel(reason)
            if directives.drain and not self.draining:
                log.info("draining: finishing the current job, taking no new one")
                self.draining = True

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
