"""The engine driver interface and the health wait every driver shares."""

import asyncio
import time
from typing import Any, Protocol

import aiohttp

from shared.errors import EngineError


class Engine(Protocol):
    base_url: str
    """Root of the OpenAI-compatible API, without ``/v1``."""
    api_key: str | None

    async def start(self) -> None: ...

    async def wait_ready(self, timeout_s: float) -> None: ...

    async def stop(self) -> None: ...

    def provenance(self) -> dict[str, Any]: ...


async def wait_healthy(
    base_url: str, paths: tuple[str, ...], timeout_s: float, alive: "AliveCheck | None" = None
) -> float:
    """Poll the health paths until one answers 200; returns seconds waited.

    ``alive`` lets a driver fail fast when its process or container has already exited.
    """
    started = time.monotonic()
    last_error = "no answer"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.monotonic() - started < timeout_s:
            if alive is not None:
                alive()
            for path in paths:
                try:
                    async with session.get(base_url + path) as response:
                        if response.status == 200:
                            return time.monotonic() - started
                        last_error = f"{path} answered HTTP {response.status}"
                except aiohttp.ClientError as error:
                    last_error = f"{path}: {error}"
            await asyncio.sleep(0.2)
    raise EngineError(f"engine at {base_url} not healthy after {timeout_s:.0f} s ({last_error})")


class AliveCheck(Protocol):
    def __call__(self) -> None:
        """Raise EngineError when the engine is known to be dead."""
