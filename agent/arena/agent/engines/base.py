"""The engine driver interface, the health wait, and the watchdog every driver shares."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp

from arena.agent.engines.logs import EngineLog
from arena.common.errors import EngineError
from arena.common.schemas.engine import DockerEngine, ProcessEngine

AliveCheck = Callable[[], Awaitable[None]]
"""Raises EngineError when the engine is known to be dead (exited, OOM-killed)."""

HEALTH_PROBE_TIMEOUT_S = 5.0


class Engine(Protocol):
    base_url: str
    """Root of the OpenAI-compatible API, without ``/v1``."""
    api_key: str | None

    async def start(self) -> None: ...

    async def wait_ready(self) -> None:
        """Return once healthy; raise EngineError with the reason (and log tail) otherwise."""

    async def check(self) -> None:
        """Raise EngineError if the engine has died."""

    async def stop(self) -> None:
        """Always safe to call, also after a failed start; leaves nothing behind."""

    def provenance(self) -> dict[str, Any]: ...


async def _probe(session: aiohttp.ClientSession, url: str) -> str | None:
    """None when healthy, else why not."""
    try:
        async with session.get(url, allow_redirects=False) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except (aiohttp.ClientError, TimeoutError) as error:
        return str(error) or type(error).__name__


async def wait_healthy(
    base_url: str,
    paths: tuple[str, ...],
    timeout_s: float,
    alive: AliveCheck | None = None,
    engine_log: EngineLog | None = None,
) -> float:
    """Poll the health paths until one answers 200; returns seconds waited.

    ``alive`` lets a driver fail fast when its process or container has already exited.
    """
    started = time.monotonic()
    last_error = "no answer"
    timeout = aiohttp.ClientTimeout(total=HEALTH_PROBE_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while time.monotonic() - started < timeout_s:
            if alive is not None:
                await alive()
            for path in paths:
                problem = await _probe(session, base_url + path)
                if problem is None:
                    return time.monotonic() - started
                last_error = f"{path}: {problem}"
            await asyncio.sleep(0.25)
    reason = f"engine not healthy after {timeout_s:.0f} s ({last_error})"
    raise EngineError(engine_log.explain(reason) if engine_log else reason)


async def watchdog(
    engine: Engine,
    health_path: str,
    max_failures: int,
    engine_log: EngineLog | None = None,
    interval_s: float = 2.0,
) -> None:
    """Run beside the benchmark: raise EngineError once the engine dies or stops answering."""
    failures = 0
    timeout = aiohttp.ClientTimeout(total=HEALTH_PROBE_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            await asyncio.sleep(interval_s)
            await engine.check()
            problem = await _probe(session, engine.base_url + health_path)
            failures = 0 if problem is None else failures + 1
            if failures >= max_failures:
                await engine.check()  # a death explains better than a hang
                reason = f"engine hung: {failures} health probes failed in a row ({problem})"
                raise EngineError(engine_log.explain(reason) if engine_log else reason)


class LaunchedEngineBase:
    """What the Docker and process drivers share: the health wait and its timing."""

    base_url: str
    log: EngineLog
    profile: DockerEngine | ProcessEngine
    _started_at: float
    _ready_s: float | None

    async def check(self) -> None:
        raise NotImplementedError

    async def wait_ready(self) -> None:
        profile = self.profile
        await wait_healthy(
            self.base_url, (profile.health_path,), profile.startup_timeout_s, self.check, self.log
        )
        self._ready_s = time.monotonic() - self._started_at
