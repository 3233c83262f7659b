"""The precise sleep and the CPU meter: deterministic properties, generous bounds only."""

import asyncio
import time

import pytest

from arena.agent.generator.client import start_now
from arena.agent.generator.clock import JobClock
from arena.agent.generator.open_loop import FINE_WAIT_S, CpuMeter, sleep_until


async def test_sleep_until_never_wakes_early() -> None:
    clock = JobClock()
    start = clock.now()
    targets = [start + 0.002 * i + 0.0003 * (i % 3) for i in range(1, 41)]
    lateness: list[float] = []
    for target in targets:
        await sleep_until(clock, target)
        now = clock.now()
        assert now >= target
        lateness.append(now - target)
    assert sorted(lateness)[len(lateness) // 2] < 0.005  # median: generous for a busy machine


async def test_a_past_target_returns_at_once_without_spinning() -> None:
    clock = JobClock()
    assert await sleep_until(clock, clock.now() - 1.0) == 0.0


async def test_yield_wait_cpu_is_reported() -> None:
    clock = JobClock()
    spun = await sleep_until(clock, clock.now() + FINE_WAIT_S / 2)  # all inside the fine window
    assert spun >= 0.0


def test_cpu_meter_sees_busy_and_idle_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """On fake clocks: how much CPU a loaded machine gives this process is not the meter's
    arithmetic (a real 50 ms spin measured under 0.2 here once, with the other core busy)."""
    cpu, wall = [100.0], [500.0]
    monkeypatch.setattr("arena.agent.generator.open_loop.time.process_time", lambda: cpu[0])
    monkeypatch.setattr("arena.agent.generator.open_loop.time.perf_counter", lambda: wall[0])
    meter = CpuMeter()
    cpu[0] += 0.04
    wall[0] += 0.05
    busy = meter.utilisation(0.0)
    assert busy == pytest.approx(0.8)
    assert meter.utilisation(busy_wait_s=0.03) == pytest.approx(0.2)  # spinning taken out
    assert meter.utilisation(busy_wait_s=10.0) == 0.0  # never negative
    idle = CpuMeter()
    wall[0] += 0.05
    assert idle.utilisation(0.0) == 0.0 < busy


def test_cpu_meter_reads_the_process_cpu_clock() -> None:
    """Real clocks, a bound that holds at any load: CPU spent shows as some utilisation."""
    meter = CpuMeter()
    spun_until = time.process_time() + 0.02
    while time.process_time() < spun_until:
        pass
    assert meter.utilisation(0.0) > 0.0


def test_sleep_until_is_a_coroutine_on_the_running_loop() -> None:
    clock = JobClock()
    asyncio.run(sleep_until(clock, clock.now() + 0.001))


async def test_start_now_runs_the_first_step_at_once_where_python_can() -> None:
    steps: list[str] = []

    async def request() -> None:
        steps.append("stamped and written")
        await asyncio.sleep(0)
        steps.append("answer read")

    task = start_now(request())
    eager = hasattr(asyncio, "eager_task_factory")  # Python ≥ 3.12
    assert steps == (["stamped and written"] if eager else [])
    await task
    assert steps == ["stamped and written", "answer read"]
