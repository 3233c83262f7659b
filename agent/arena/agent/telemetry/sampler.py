"""The periodic task: one NVML tick every ``interval_s`` on the job's clock, into a sink.

Ticks keep to a fixed schedule (start + k·interval) so they do not drift; a tick that falls
behind is skipped rather than bunched. One reading is taken at start and one at stop, so the
readings always span every benchmark's window.
"""

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

import structlog

from arena.agent.generator.clock import JobClock
from arena.common.schemas.telemetry import GpuReading

log = structlog.get_logger(__name__)


class Reader(Protocol):
    @property
    def gpus(self) -> int: ...

    def read(self, t_s: float) -> list[GpuReading]: ...

    def close(self) -> None: ...


class TelemetrySampler:
    def __init__(
        self,
        reader: Reader,
        clock: JobClock,
        sink: Callable[[GpuReading], None],
        interval_s: float = 1.0,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.reader = reader
        self.clock = clock
        self.sink = sink
        self.interval_s = interval_s
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._tick()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """End the schedule, take the closing reading and release NVML."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self._tick()
        finally:
            await asyncio.to_thread(self.reader.close)

    async def _run(self) -> None:
        next_at = self.clock.now() + self.interval_s
        while True:
            await asyncio.sleep(max(next_at - self.clock.now(), 0.0))
            await self._tick()
            now = self.clock.now()
            next_at += self.interval_s
            if next_at <= now:  # the host stalled: skip the missed ticks
                next_at = now + self.interval_s

    async def _tick(self) -> None:
        t = self.clock.now()
        try:
            readings = await asyncio.to_thread(self.reader.read, t)
        except Exception as error:  # a failing read loses a tick, never the job
            log.warning("telemetry read failed", error=str(error))
            return
        for reading in readings:
            self.sink(reading)
        self.ticks += 1
