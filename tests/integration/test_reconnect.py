"""The agent's retry loops against a real controller that is not there yet: registration
waits for it, shutdown ends a backoff at once, and uploads ride out refusals through the real
spool. Progress is awaited through the retry helper's log lines, never through sleeps."""

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import pytest
import structlog
from structlog.typing import EventDict, WrappedLogger

from arena.agent import worker
from arena.agent.settings import AgentSettings
from arena.agent.uploads import Outbox, Spool, StreamKey
from arena.agent.worker import Agent
from arena.client.api import ArenaClient
from arena.common import retry as retry_module
from arena.common.errors import ConflictError, UnavailableError
from arena.common.retry import Backoff
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.support import free_port


class RetryLog(structlog.testing.LogCapture):
    """The retry helper's log lines, with a way to wait for the n-th one."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = asyncio.Event()

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> NoReturn:
        self.seen.set()
        super().__call__(logger, method, event)

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(30):
            while len(self.entries) < count:
                self.seen.clear()
                await self.seen.wait()


@pytest.fixture
def retries(monkeypatch: pytest.MonkeyPatch) -> RetryLog:
    logged = RetryLog()
    monkeypatch.setattr(retry_module, "log", structlog.wrap_logger(None, processors=[logged]))
    return logged


def agent_for(address: str, state_dir: Path) -> Agent:
    settings = AgentSettings(
        controller=address, state_dir=state_dir, name="late-box", lease_wait_s=0.2
    )
    return Agent(settings)


async def agents_seen(address: str) -> list[str]:
    with ArenaClient(address, DEV_USER_TOKEN) as client:
        return [agent.name for agent in await asyncio.to_thread(client.agents)]


async def test_the_agent_registers_once_the_controller_comes_up(
    tmp_path: Path, retries: RetryLog
) -> None:
    address = f"127.0.0.1:{free_port()}"
    agent = agent_for(address, tmp_path / "agent")
    registering = asyncio.create_task(agent._register())
    try:
        await retries.wait_for(2)  # two failed registrations: the controller is not up yet
        assert {entry["call"] for entry in retries.entries} == {"register"}
        settings = ControllerSettings(listen=address, data_dir=tmp_path / "controller")
        async with Controller(settings):
            async with asyncio.timeout(30):
                assert await registering
            assert await agents_seen(address) == ["late-box"]
    finally:
        registering.cancel()
        await agent.link.close()
        agent.spool.close()


async def test_shutdown_ends_a_registration_backoff_at_once(
    tmp_path: Path, retries: RetryLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "CONTROLLER_BACKOFF", Backoff(first_s=600.0))
    agent = agent_for(f"127.0.0.1:{free_port()}", tmp_path)
    running = asyncio.create_task(agent.run())
    await retries.wait_for(1)
    agent.shutdown()
    async with asyncio.timeout(30):  # far below the 600 s backoff
        await running
    assert agent.registration is None
    assert len(retries.entries) == 1


async def test_uploads_ride_out_an_unavailable_controller(
    tmp_path: Path, retries: RetryLog
) -> None:
    """Refused batches stay in the spool and go again; the ack arrives once, in order."""
    spool = Spool(tmp_path / "spool.db")
    refusals = [UnavailableError("controller restarting"), UnavailableError("still restarting")]
    sent: list[tuple[int, list[str]]] = []

    async def send(first_seq: int, lines: Sequence[str]) -> int:
        if refusals:
            raise refusals.pop(0)
        sent.append((first_seq, list(lines)))
        return first_seq + len(lines) - 1

    key = StreamKey("job-1", 1, "logs")
    outbox: Outbox[str] = Outbox(spool, key, send, str, str, batch_size=10, interval_s=0.01)
    for line in ("a", "b", "c"):
        outbox.put(line)
    uploader = asyncio.create_task(outbox.run())
    try:
        async with asyncio.timeout(30):
            await outbox.flush()
    finally:
        uploader.cancel()
        await asyncio.gather(uploader, return_exceptions=True)
    assert sent == [(1, ["a", "b", "c"])]
    assert [(e["call"], e["attempt"], e["job_id"]) for e in retries.entries] == [
        ("upload", 1, "job-1"),
        ("upload", 2, "job-1"),
    ]
    assert spool.pending(key, 10) == []
    spool.close()


async def test_a_stale_attempt_ends_the_uploader_without_retrying(
    tmp_path: Path, retries: RetryLog
) -> None:
    spool = Spool(tmp_path / "spool.db")

    async def send(first_seq: int, lines: Sequence[str]) -> int:
        raise ConflictError("attempt 1 is stale")

    outbox: Outbox[str] = Outbox(spool, StreamKey("job-1", 1, "logs"), send, str, str)
    outbox.put("a")
    with pytest.raises(ConflictError):
        async with asyncio.timeout(30):
            await outbox.run()
    assert retries.entries == []
    spool.close()
