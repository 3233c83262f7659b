"""The periodic sampler on a real job clock, over NVML's stand-in."""

import asyncio

import pytest

from arena.agent.generator.clock import JobClock
from arena.agent.telemetry.nvml import NvmlReader, open_nvml
from arena.agent.telemetry.sampler import TelemetrySampler
from arena.common.schemas.telemetry import GpuReading
from tests.telemetry_nvml_double import FakeNvml


def reader_over(nv: FakeNvml) -> NvmlReader:
    reader = open_nvml(nv)
    assert isinstance(reader, NvmlReader)
    return reader


async def test_ticks_on_the_job_clock_from_start_to_stop() -> None:
    nv = FakeNvml([300.0, 150.0])
    clock = JobClock()
    readings: list[GpuReading] = []
    sampler = TelemetrySampler(reader_over(nv), clock, readings.append, interval_s=0.05)
    await sampler.start()
    assert len(readings) == 2  # the opening tick, one reading per GPU
    await asyncio.sleep(0.5)
    stopped_at = clock.now()
    await sampler.stop()
    times = sorted({r.t_s for r in readings})
    assert 6 <= len(times) <= 14  # ~11 ticks: opening, ~9 scheduled, closing (±25%+)
    assert len(readings) == 2 * len(times)
    assert times[0] < 0.05
    assert times[-1] >= stopped_at  # the closing tick comes after the last work
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) > 0
    assert nv.shutdowns == 1
    ticks = len(readings) // 2
    await asyncio.sleep(0.15)
    assert len(readings) // 2 == ticks  # nothing after stop


async def test_a_failing_read_costs_a_tick_not_the_sampler() -> None:
    class Flaky:
        gpus = 1
        calls = 0

        def read(self, t_s: float) -> list[GpuReading]:
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("GPU is lost")
            return [GpuReading(t_s=t_s, gpu=0, power_w=50.0)]

        def close(self) -> None:
            pass

    readings: list[GpuReading] = []
    flaky = Flaky()
    sampler = TelemetrySampler(flaky, JobClock(), readings.append, interval_s=0.02)
    await sampler.start()
    await asyncio.sleep(0.2)
    await sampler.stop()
    assert flaky.calls >= 4
    assert len(readings) == flaky.calls - 1


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TelemetrySampler(reader_over(FakeNvml([1.0])), JobClock(), lambda _: None, interval_s=0)
