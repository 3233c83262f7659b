"""The agent: register, then lease and run one job at a time while heartbeats go on.

Shutdown order: stop leasing, cancel the running job (its engine stops and the controller
hears why), stop heartbeats, close the channel.
"""

import asyncio
import contextlib
import platform
import time
from typing import Any

import structlog

from arena.agent.credential import Credential, renewed, save
from arena.agent.engines.docker import reap_orphans as reap_container_orphans
from arena.agent.engines.process import reap_orphans as reap_process_orphans
from arena.agent.hardware import probe
from arena.agent.headroom import calibrate
from arena.agent.jobs import JobExecution
from arena.agent.link import ControllerLink, Directives, Registration, UnreadableLease
from arena.agent.policy import load_policy
from arena.agent.settings import AgentSettings
from arena.agent.uploads import Spool, outbox_for
from arena.common.errors import (
    ArenaError,
    AuthError,
    ConflictError,
    NotFoundError,
    UnavailableError,
)
from arena.common.provenance.keys import load_or_create_key, public_bytes
from arena.common.retry import Backoff, Stopped, retry
from arena.common.schemas.agent import HardwareInfo
from arena.common.version import arena_version

log = structlog.get_logger(__name__)

CONTROLLER_BACKOFF = Backoff(first_s=0.5, cap_s=15.0)
"""Register and lease: up to 15 s between tries, so a restarted controller is found quickly."""


def worth_another_lease(error: BaseException) -> bool:
    """Whether the lease loop calls again after ``error``: after anything but a refused
    credential (the agent stops), an agent the controller forgot (it registers again) or a
    job it cannot read (it hands it back). A controller that fails a lease call, for whatever
    reason, must not take the agent down."""
    return not isinstance(error, AuthError | NotFoundError | UnreadableLease)


class Agent:
    def __init__(
        self,
        settings: AgentSettings,
        credential: Credential | None = None,
        hardware: HardwareInfo | None = None,
    ) -> None:
        self.settings = settings
        self.credential = credential
        token = credential.secret if credential else settings.token
        self.labels = settings.labels or (credential.labels if credential else {})
        self.link = ControllerLink(settings.controller, token, settings.tls)
        self.hardware = hardware or probe()
        self.refused = ""
        """Why the controller shut this agent out (revoked, unknown credential), if it did."""
        self.registration: Registration | None = None
        self.current: JobExecution | None = None
        self.draining = False
        self.jobs_done = 0
        self.policy = load_policy(settings.policy_file)
        self.spool = Spool(settings.state_dir / "spool.db")
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        await asyncio.to_thread(self._reap_orphans)
        if self.settings.calibrate_client and self.hardware.client_headroom is None:
            headroom = await calibrate()
            self.hardware = self.hardware.model_copy(update={"client_headroom": headroom})
        try:
            if await self._register():
                await self._rotate_if_old()
                await self._serve()
        except AuthError as error:
            self.refused = str(error)
            log.error("the controller refused this agent; stopping", reason=self.refused)
        finally:
            await self.link.close()
            self.spool.close()
            log.info("agent stopped", jobs_done=self.jobs_done)

    async def _serve(self) -> None:
        heartbeats = asyncio.create_task(self._heartbeats())
        try:
            await self._recover_leftovers()
            await self._job_loop()
        finally:
            heartbeats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeats

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

    async def _register(self) -> bool:
        """Register, retrying while the controller is unreachable; False when stopped first."""
        versions = {"arena": arena_version(), "python": platform.python_version()}
        key = public_bytes(load_or_create_key(self.settings.state_dir))
        try:
            self.registration = await retry(
                lambda: self.link.register(
                    self.settings.name, self.hardware, self.labels, versions, key, self.policy
                ),
                "register",
                backoff=CONTROLLER_BACKOFF,
                stop=self._stopping,
                controller=self.settings.controller,
            )
        except Stopped:
            return False
        log.info(
            "registered",
            agent=self.settings.name,
            agent_id=self.registration.agent_id,
            controller=self.settings.controller,
            hardware=self.hardware.summary,
        )
        return True

    async def _rotate_if_old(self) -> None:
        """Swap an old credential for a new one: saved first, then used; the old one keeps
        working for the controller's grace period, so nothing in flight is refused."""
        held = self.credential
        if held is None or time.time() - held.issued_at < self.settings.credential_max_age_s:
            return
        secret, old_until = await self.link.rotate()
        self.credential = renewed(held, secret)
        save(self.settings.state_dir, self.credential)
        log.info("rotated the agent credential", old_valid_until_unix=old_until)

    async def _recover_leftovers(self) -> None:
        """Send what a previous run of this agent measured but could not deliver, then hand
        back the jobs it was running: they are requeued at once instead of at lease expiry."""
        abandoned: set[tuple[str, int]] = set()
        for state in self.spool.leftovers():
            key = state.key
            outbox = outbox_for(
                self.spool,
                self.link,
                key,
                self.settings.upload_batch,
                self.settings.upload_interval_s,
            )
            uploader = asyncio.create_task(outbox.run())
            try:
                flushed = asyncio.create_task(outbox.flush())
                await asyncio.wait({uploader, flushed}, return_when=asyncio.FIRST_COMPLETED)
                if uploader.done():
                    uploader.result()
                log.info(
                    "delivered leftover items",
                    job_id=key.job_id,
                    attempt=key.attempt,
                    stream=key.stream,
                    items=state.last_seq - state.acked_seq,
                )
            except ConflictError as error:
                log.warning(
                    "dropping leftovers the controller refuses",
                    job_id=key.job_id,
                    attempt=key.attempt,
                    stream=key.stream,
                    reason=str(error),
                )
            finally:
                for task in (uploader, flushed):
                    task.cancel()
                await asyncio.gather(uploader, flushed, return_exceptions=True)
            self.spool.finish(key)
            abandoned.add((key.job_id, key.attempt))
        for job_id, attempt in sorted(abandoned):
            with contextlib.suppress(ConflictError, NotFoundError):
                await self.link.abandon(job_id, attempt, "agent restarted during the job")
                log.warning(
                    "handed back a job interrupted by a restart", job_id=job_id, attempt=attempt
                )

    def _disk_is_low(self) -> bool:
        free_mb = self.spool.free_bytes() / 2**20
        if free_mb >= self.settings.min_free_disk_mb:
            return False
        log.warning(
            "low disk space next to the spool: taking no new job",
            free_mb=round(free_mb),
            min_free_mb=self.settings.min_free_disk_mb,
        )
        return True

    async def _job_loop(self) -> None:
        while not self._stopping.is_set():
            if self.draining or self._disk_is_low():
                await self._sleep(self.settings.lease_wait_s)
                continue
            try:
                lease = await retry(
                    lambda: self.link.lease(self.settings.lease_wait_s),
                    "lease",
                    backoff=CONTROLLER_BACKOFF,
                    stop=self._stopping,
                    retryable=worth_another_lease,
                )
            except Stopped:
                return
            except NotFoundError:
                await self._register()  # the controller forgot us (e.g. a fresh database)
                continue
            except UnreadableLease as error:
                await self._hand_back(error)
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
            self.current = JobExecution(
                self.link,
                lease,
                self.settings,
                self.spool,
                self.policy,
                headroom=self.hardware.client_headroom,
            )
            try:
                await self.current.run()
            finally:
                self.current = None
                self.jobs_done += 1

    async def _hand_back(self, unreadable: UnreadableLease) -> None:
        """Give back a job this agent cannot read, so that it goes on to one that can (or
        fails once its attempts are spent) instead of waiting out its lease here."""
        log.error("handing back a job this agent cannot read", error=str(unreadable))
        try:
            await self.link.abandon(unreadable.job_id, unreadable.attempt, unreadable.reason)
        except AuthError:
            raise
        except ArenaError as error:  # its lease runs out on its own
            log.warning("could not hand back the job", job_id=unreadable.job_id, error=str(error))

    async def _heartbeats(self) -> None:
        """One heartbeat per interval; a failed one is retried within that interval only, as
        the next is due then anyway."""
        assert self.registration is not None
        interval = self.registration.heartbeat_interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                directives = await retry(self._beat, "heartbeat", budget_s=interval)
            except (UnavailableError, NotFoundError) as error:
                log.warning("heartbeat failed", error=str(error))
                continue
            except AuthError as error:  # revoked, or the credential is unknown to it
                self.refused = str(error)
                log.error("the controller refused this agent; stopping", reason=self.refused)
                self.shutdown()
                return
            except Exception:  # the next beat tries again; a heartbeat never stops the agent
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

    async def _beat(self) -> Directives:
        running = [self.current.progress()] if self.current is not None else []
        return await self.link.heartbeat(running, self.draining)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):  # not wait_for: it can swallow cancellation
                await self._stopping.wait()
