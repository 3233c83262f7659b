"""Open loop (``vllm bench serve``): send each request at its scheduled time, whatever happens.

Send times are absolute (run start + arrival offset) on the monotonic clock, never relative
sleeps, whose errors add up (vllm #21104: 183.5 of 200 req/s delivered).

Timing policy. Event-loop timers wake up to ~1 ms late (epoll waits in whole milliseconds), so
``sleep_until`` sleeps coarsely to ``FINE_WAIT_S`` before the send time, then yields to the
loop (``asyncio.sleep(0)``, so streams keep being read) until the monotonic clock reaches it.
Catch-up: a request whose time has passed is sent at once, never skipped or re-timed, so the
offered load over the run stays what the schedule says (vLLM's behaviour: a late client sends a
burst); the lateness is recorded per request (``sent_s − scheduled_s``), the event loop's own
lag is watched all run long (``loop_lag.LoopMonitor``: p99 and max per run, and per request the
stall between its send and first token, ``read_stall_s``), and the controller flags the run
``client_saturated`` from these and the client's CPU share (``ClientLoad``,
``arena.common.metrics.client_load``). An optional ``max_concurrency`` gate holds requests in
a client queue; ``queued_s`` records when each passed it, so queueing stays out of the
request's own latency.
"""

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from arena.agent.generator.client import (
    Endpoint,
    Measurement,
    Prepared,
    prepare,
    start_now,
    stream_chat,
)
from arena.agent.generator.clock import JobClock
from arena.agent.generator.context import RunContext
from arena.agent.generator.datasets import Prompt
from arena.agent.generator.gc_freeze import frozen_heap
from arena.agent.generator.http import Connections
from arena.agent.generator.loop_lag import LoopMonitor
from arena.common.metrics.client_load import RunClientFigures, read_stall_p99_ms

START_LEAD_S = 0.01
"""The schedule starts this far ahead, so request 0 is not late before the loop even begins."""
FINE_WAIT_S = 0.0015
"""Last stretch before a send time is waited by yielding, not sleeping (sleep overshoots ~1 ms)."""


@dataclass(frozen=True)
class Scheduled:
    """One request of a run's schedule: its index in the run, its encoded body, when it is due."""

    index: int
    request: Prepared
    offset_s: float


@dataclass(frozen=True)
class ClientLoad:
    """How hard the client worked during one run: the saturation evidence for its results.

    ``cpu_util`` is process CPU time / wall time of the busiest client process, minus the time
    spent deliberately yield-waiting for send times (that spinning is by choice, not load).
    The loop figures are the worst worker's; ``headroom_used_pct`` is set by the runner, which
    knows the run's load and the agent's calibrated headroom.
    """

    variant: str
    run: int
    workers: int
    cpu_util: float
    busy_wait_s: float
    loop_lag_p99_ms: float | None = None
    loop_lag_max_ms: float | None = None
    read_stall_p99_ms: float | None = None
    headroom_used_pct: float | None = None

    def figures(self) -> RunClientFigures:
        """What the job's provenance carries for this run."""
        return RunClientFigures(
            cpu_util=self.cpu_util,
            loop_lag_p99_ms=self.loop_lag_p99_ms,
            loop_lag_max_ms=self.loop_lag_max_ms,
            read_stall_p99_ms=self.read_stall_p99_ms,
            headroom_used_pct=self.headroom_used_pct,
        )


Done = Callable[[Scheduled, float, float, Measurement], None]
"""Called as (item, scheduled_s, queued_s, measurement) when a request completes."""


class CpuMeter:
    """Process CPU time over wall time since creation, with voluntary spinning taken out."""

    def __init__(self) -> None:
        self._cpu = time.process_time()
        self._wall = time.perf_counter()

    def utilisation(self, busy_wait_s: float) -> float:
        wall = time.perf_counter() - self._wall
        cpu = time.process_time() - self._cpu - busy_wait_s
        return max(0.0, cpu / wall) if wall > 0 else 0.0


async def sleep_until(clock: JobClock, target_s: float) -> float:
    """Coarse sleep to ``FINE_WAIT_S`` before ``target_s``, then yield until it is reached.

    Returns the CPU seconds spent yield-waiting (burnt on purpose, excluded from utilisation).
    """
    remaining = target_s - clock.now()
    if remaining > FINE_WAIT_S:
        await asyncio.sleep(remaining - FINE_WAIT_S)
    if clock.now() >= target_s:
        return 0.0
    spin_cpu = time.process_time()
    while clock.now() < target_s:  # noqa: ASYNC110 (a deliberate sub-ms yield-wait, not a poll)
        await asyncio.sleep(0)
    return time.process_time() - spin_cpu


async def send_schedule(
    connections: Connections,
    schedule: Sequence[Scheduled],
    *,
    start_s: float,
    max_concurrency: int | None,
    done: Done,
) -> float:
    """Send every item at ``start_s + offset``; returns when all completed (busy-wait seconds)."""
    clock = connections.clock
    gate = asyncio.Semaphore(max_concurrency) if max_concurrency else None

    async def send(item: Scheduled, scheduled_s: float) -> None:
        if gate is None:
            queued_s = clock.now()
            measurement = await stream_chat(connections, item.request)
        else:
            async with gate:
                queued_s = clock.now()
                measurement = await stream_chat(connections, item.request)
        done(item, scheduled_s, queued_s, measurement)

    tasks: list[asyncio.Task[None]] = []
    busy_wait_s = 0.0
    try:
        for item in schedule:
            scheduled_s = start_s + item.offset_s
            busy_wait_s += await sleep_until(clock, scheduled_s)
            tasks.append(start_now(send(item, scheduled_s)))
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return busy_wait_s


def make_schedule(
    endpoint: Endpoint,
    prompts: Sequence[Prompt],
    offsets_s: Sequence[float],
    *,
    keep_answer: bool = True,
) -> list[Scheduled]:
    """Every request encoded before the run starts: a send then only writes bytes.
    ``keep_answer``: keep each answer's text for the tokenizer (``RunContext.keeps_answers``)."""
    return [
        Scheduled(index, prepare(endpoint, prompt.request(), keep_answer=keep_answer), offset)
        for index, (prompt, offset) in enumerate(zip(prompts, offsets_s, strict=True))
    ]


async def run_open_loop(
    ctx: RunContext,
    prompts: Sequence[Prompt],
    offsets_s: Sequence[float],
    *,
    variant: str,
    run: int,
    max_concurrency: int | None = None,
) -> ClientLoad:
    """One run in this process: every prompt sent at ``start + offset``; waits for all."""

    monitor = LoopMonitor(ctx.clock)
    stalls: list[float] = []

    def done(item: Scheduled, scheduled_s: float, queued_s: float, m: Measurement) -> None:
        stall = monitor.stall_between(m.sent_s, m.first_token_s)
        stalls.append(stall)
        ctx.record(
            m.to_sample(
                benchmark=ctx.benchmark,
                variant=variant,
                run=run,
                index=item.index,
                scheduled_s=scheduled_s,
                queued_s=queued_s,
                max_tokens=item.request.max_tokens,
                read_stall_s=stall,
            ),
            m.answer(),
        )

    schedule = make_schedule(ctx.endpoint, prompts, offsets_s, keep_answer=ctx.keeps_answers)
    with frozen_heap():
        meter = CpuMeter()
        async with monitor:
            busy_wait_s = await send_schedule(
                ctx.connections,
                schedule,
                start_s=ctx.clock.now() + START_LEAD_S,
                max_concurrency=max_concurrency,
                done=done,
            )
    return ClientLoad(
        variant,
        run,
        1,
        meter.utilisation(busy_wait_s),
        busy_wait_s,
        loop_lag_p99_ms=monitor.p99_ms(),
        loop_lag_max_ms=monitor.max_ms(),
        read_stall_p99_ms=read_stall_p99_ms(stalls),
    )
