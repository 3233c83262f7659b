"""The continuous-batching model: admission order, batch limits, release, and its timing.

Timing is asserted against real asyncio time with generous bounds (never earlier than the model
allows, at most ~25% late plus a little slack) so a busy two-core machine stays green.
"""

import asyncio
import time

import pytest

from arena.agent.simulated.batching import (
    Admitted,
    BatchScheduler,
    SequenceEvent,
    TokenEmitted,
    step_duration_s,
)
from arena.common.schemas.engine import SimulatedEngine


def engine(**fields: float) -> SimulatedEngine:
    return SimulatedEngine.model_validate({"runtime": "simulated", **fields})


async def collect(
    scheduler: BatchScheduler, name: str, prompt: int, tokens: int, log: list[tuple[str, str]]
) -> list[SequenceEvent]:
    """Run one request to the end, writing ``(name, "admitted" | "token" | "done")`` to ``log``."""
    events: list[SequenceEvent] = []
    async with scheduler.submit(prompt, tokens) as stream:
        async for event in stream:
            events.append(event)
            if isinstance(event, Admitted):
                log.append((name, "admitted"))
            else:
                log.append((name, "done" if event.last else "token"))
    return events


async def timed_events(scheduler: BatchScheduler, prompt: int, tokens: int) -> list[float]:
    """Seconds from submission to each token."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    times: list[float] = []
    async with scheduler.submit(prompt, tokens) as stream:
        async for event in stream:
            if isinstance(event, TokenEmitted):
                times.append(loop.time() - start)
    return times


def test_step_duration_adds_prefill_and_per_sequence_cost() -> None:
    profile = engine(prefill_tokens_per_s=1000, decode_step_ms=10, decode_step_ms_per_seq=2)
    assert step_duration_s(profile, 0, 1) == pytest.approx(0.010)
    assert step_duration_s(profile, 500, 1) == pytest.approx(0.510)
    assert step_duration_s(profile, 0, 4) == pytest.approx(0.016)


async def test_events_are_admission_then_each_token_once_with_the_last_marked() -> None:
    async with BatchScheduler(engine(decode_step_ms=1)) as scheduler:
        events = await collect(scheduler, "a", 10, 5, [])
    assert events == [Admitted()] + [TokenEmitted(i, last=i == 4) for i in range(5)]


async def test_a_lone_request_gets_prefill_plus_one_step_then_one_token_per_step() -> None:
    profile = engine(prefill_tokens_per_s=10_000, decode_step_ms=20, decode_step_ms_per_seq=0)
    async with BatchScheduler(profile) as scheduler:
        times = await timed_events(scheduler, prompt=500, tokens=11)
    ttft = 500 / 10_000 + 0.020
    assert ttft - 0.002 <= times[0] <= ttft * 1.25 + 0.010
    end = ttft + 10 * 0.020
    assert end - 0.002 <= times[-1] <= end * 1.25 + 0.010


async def test_a_stalled_event_loop_does_not_delay_later_tokens() -> None:
    """Steps keep absolute deadlines: after a 0.3 s stall the loop catches up, no drift."""
    asyncio.get_running_loop().call_later(0.1, time.sleep, 0.3)
    async with BatchScheduler(engine(decode_step_ms=2, decode_step_ms_per_seq=0)) as scheduler:
        times = await timed_events(scheduler, prompt=0, tokens=250)
    assert 0.5 - 0.002 <= times[-1] <= 0.5 * 1.25


async def test_bigger_batches_make_slower_steps() -> None:
    profile = engine(decode_step_ms=10, decode_step_ms_per_seq=10)
    async with BatchScheduler(profile) as scheduler:
        all_times = await asyncio.gather(*(timed_events(scheduler, 0, 5) for _ in range(4)))
    step = 0.010 + 3 * 0.010
    for times in all_times:
        assert 5 * step - 0.002 <= times[-1] <= 5 * step * 1.25 + 0.010


async def test_a_full_batch_makes_the_next_request_wait_until_one_finishes() -> None:
    log: list[tuple[str, str]] = []
    async with BatchScheduler(engine(decode_step_ms=30, max_batch=2)) as scheduler:
        first = asyncio.create_task(collect(scheduler, "first", 0, 3, log))
        second = asyncio.create_task(collect(scheduler, "second", 0, 6, log))
        third = asyncio.create_task(collect(scheduler, "third", 0, 2, log))
        await asyncio.sleep(0.01)  # all three submitted, well before the first step ends
        assert (scheduler.running_count, scheduler.waiting_count) == (2, 1)
        await asyncio.gather(first, second, third)
    assert log.index(("third", "admitted")) > log.index(("first", "done"))
    assert log.index(("third", "admitted")) < log.index(("second", "done"))
    assert (scheduler.running_count, scheduler.waiting_count) == (0, 0)


async def test_waiting_requests_are_admitted_in_arrival_order() -> None:
    log: list[tuple[str, str]] = []
    async with BatchScheduler(engine(decode_step_ms=1, max_batch=1)) as scheduler:
        names = [f"r{i}" for i in range(5)]
        await asyncio.gather(*(collect(scheduler, name, 0, 2, log) for name in names))
    assert [name for name, what in log if what == "admitted"] == names


async def test_leaving_early_frees_the_place_for_a_waiting_request() -> None:
    async with BatchScheduler(engine(decode_step_ms=2, max_batch=1)) as scheduler:
        async with scheduler.submit(0, 1000) as hog:
            async for event in hog:
                if isinstance(event, TokenEmitted) and event.index == 2:
                    break
            waiter = asyncio.create_task(collect(scheduler, "waiter", 0, 2, []))
            await asyncio.sleep(0.02)
            assert (scheduler.running_count, scheduler.waiting_count) == (1, 1)
        events = await asyncio.wait_for(waiter, timeout=0.5)
        assert events[0] == Admitted()
        assert (scheduler.running_count, scheduler.waiting_count) == (0, 0)


async def test_a_cancelled_waiting_request_leaves_the_queue() -> None:
    async with BatchScheduler(engine(decode_step_ms=2, max_batch=1)) as scheduler:
        hog = asyncio.create_task(collect(scheduler, "hog", 0, 1000, []))
        waiter = asyncio.create_task(collect(scheduler, "waiter", 0, 5, []))
        await asyncio.sleep(0.01)
        assert scheduler.waiting_count == 1
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        assert scheduler.waiting_count == 0
        hog.cancel()
        await asyncio.gather(hog, return_exceptions=True)
        assert scheduler.running_count == 0


def test_submit_refuses_empty_outputs() -> None:
    scheduler = BatchScheduler(engine())
    with pytest.raises(ValueError, match="max_tokens"):
        scheduler.submit(10, 0)


def test_decode_drift_lengthens_steps_with_running_time() -> None:
    profile = SimulatedEngine(runtime="simulated", decode_step_ms=10, decode_drift_pct_per_s=50)
    assert step_duration_s(profile, 0, 1, running_s=0.0) == pytest.approx(0.010)
    assert step_duration_s(profile, 0, 1, running_s=2.0) == pytest.approx(0.020)
