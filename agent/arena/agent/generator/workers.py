"""Open loop over several client processes, for rates one Python core cannot drive.

The parent draws the whole schedule exactly as in one process (same seed, same prompts, same
arrival offsets) and deals it out round-robin: worker ``w`` sends items ``w, w + W, w + 2W, …``,
each at its absolute time on the shared monotonic clock (``time.perf_counter`` is system-wide,
so every process measures on the job's one time axis). Workers stream their samples back while
the run goes on; the parent hands them to the sink, so percentiles are later computed on the
merged, exact per-request samples, never on per-worker summaries.

Each worker watches its own event loop (``loop_lag.LoopMonitor``) and stamps its requests'
``read_stall_s``; the run reports the worst worker's loop lag.

A ``max_concurrency`` gate is split between workers (each gets its share, rounded up): the
global cap then holds, but a queue can form in one worker while another has a free slot.
"""

import asyncio
import multiprocessing
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import structlog

from arena.agent.generator.client import Answer, Measurement
from arena.agent.generator.clock import JobClock
from arena.agent.generator.context import RunContext
from arena.agent.generator.datasets import Prompt
from arena.agent.generator.gc_freeze import frozen_heap
from arena.agent.generator.http import Connections
from arena.agent.generator.loop_lag import LoopMonitor
from arena.agent.generator.open_loop import (
    ClientLoad,
    CpuMeter,
    Scheduled,
    make_schedule,
    send_schedule,
)
from arena.common.metrics.client_load import read_stall_p99_ms
from arena.common.schemas.sample import RequestSample

log = structlog.get_logger(__name__)

START_LEAD_S = 0.05
"""Time between the start signal and the first send time: every worker is listening by then."""
FLUSH_EVERY_S = 0.02
JOIN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class WorkerLoad:
    """One worker's figures for the run, sent back when its schedule is done."""

    cpu_util: float
    busy_wait_s: float
    loop_lag_p99_ms: float | None
    loop_lag_max_ms: float | None


@dataclass(frozen=True)
class WorkerJob:
    clock: JobClock
    schedule: list[Scheduled]
    max_concurrency: int | None
    benchmark: str
    variant: str
    run: int


def worker_gates(max_concurrency: int | None, workers: int) -> list[int | None]:
    """Each worker's share of the gate, rounded up so the total never starves a worker."""
    if not max_concurrency:
        return [None] * workers
    share = -(-max_concurrency // workers)
    return [share] * workers


def deal(schedule: Sequence[Scheduled], workers: int) -> list[list[Scheduled]]:
    """Round-robin slices: disjoint, together the whole schedule, each in time order."""
    return [list(schedule[w::workers]) for w in range(workers)]


async def _work(conn: Connection, job: WorkerJob) -> None:
    pending: list[tuple[RequestSample, Answer]] = []
    last_flush = time.perf_counter()

    def flush() -> None:
        nonlocal last_flush
        if pending:
            conn.send(("samples", list(pending)))
            pending.clear()
        last_flush = time.perf_counter()

    monitor = LoopMonitor(job.clock)

    def done(item: Scheduled, scheduled_s: float, queued_s: float, m: Measurement) -> None:
        sample = m.to_sample(
            benchmark=job.benchmark,
            variant=job.variant,
            run=job.run,
            index=item.index,
            scheduled_s=scheduled_s,
            queued_s=queued_s,
            max_tokens=item.request.max_tokens,
            read_stall_s=monitor.stall_between(m.sent_s, m.first_token_s),
        )
        pending.append((sample, m.answer()))
        if time.perf_counter() - last_flush > FLUSH_EVERY_S:
            flush()

    async with Connections(job.clock) as connections:
        with frozen_heap():
            conn.send(("ready",))
            start_s = float(conn.recv())
            meter = CpuMeter()
            async with monitor:
                busy_wait_s = await send_schedule(
                    connections,
                    job.schedule,
                    start_s=start_s,
                    max_concurrency=job.max_concurrency,
                    done=done,
                )
            utilisation = meter.utilisation(busy_wait_s)
    flush()
    conn.send(("end", WorkerLoad(utilisation, busy_wait_s, monitor.p99_ms(), monitor.max_ms())))


def worker_main(conn: Connection, job: WorkerJob) -> None:
    """Entry point of one worker process (spawned, so it shares no event loop state)."""
    try:
        asyncio.run(_work(conn, job))
    finally:
        conn.close()


async def run_open_loop_workers(
    ctx: RunContext,
    prompts: Sequence[Prompt],
    offsets_s: Sequence[float],
    *,
    variant: str,
    run: int,
    workers: int,
    max_concurrency: int | None = None,
) -> ClientLoad:
    """One run spread over ``workers`` processes; samples reach ``ctx`` as they complete."""
    mp = multiprocessing.get_context("spawn")
    schedule = make_schedule(ctx.endpoint, prompts, offsets_s, keep_answer=ctx.keeps_answers)
    slices = deal(schedule, workers)
    gates = worker_gates(max_concurrency, workers)
    conns: list[Connection] = []
    processes: list[Any] = []
    try:
        for schedule, gate in zip(slices, gates, strict=True):
            parent, child = mp.Pipe()
            job = WorkerJob(ctx.clock, schedule, gate, ctx.benchmark, variant, run)
            process = mp.Process(target=worker_main, args=(child, job), daemon=True)
            process.start()
            child.close()
            conns.append(parent)
            processes.append(process)
        for conn in conns:
            ready = await asyncio.to_thread(conn.recv)
            assert ready == ("ready",), ready
        start_s = ctx.clock.now() + START_LEAD_S
        for conn in conns:
            conn.send(start_s)
        stalls: list[float | None] = []
        loads = await _collect(ctx, conns, stalls)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            await asyncio.to_thread(process.join, JOIN_TIMEOUT_S)
        for conn in conns:
            conn.close()
    busiest = max(load.cpu_util for load in loads)
    log.info("open loop workers done", variant=variant, run=run, workers=workers, cpu=busiest)
    return ClientLoad(
        variant,
        run,
        workers,
        busiest,
        sum(load.busy_wait_s for load in loads),
        loop_lag_p99_ms=_worst(load.loop_lag_p99_ms for load in loads),
        loop_lag_max_ms=_worst(load.loop_lag_max_ms for load in loads),
        read_stall_p99_ms=read_stall_p99_ms(stalls),
    )


def _worst(values: Iterable[float | None]) -> float | None:
    return max((value for value in values if value is not None), default=None)


async def _collect(
    ctx: RunContext, conns: list[Connection], stalls: list[float | None]
) -> list[WorkerLoad]:
    """Every worker's samples (their read stalls also into ``stalls``), then its end line."""
    loop = asyncio.get_running_loop()
    remaining = set(range(len(conns)))
    loads: list[WorkerLoad] = []
    finished = loop.create_future()

    def read(position: int) -> None:
        conn = conns[position]
        try:
            while conn.poll():
                message = conn.recv()
                if message[0] == "samples":
                    for sample, answer in message[1]:
                        stalls.append(sample.read_stall_s)
                        ctx.record(sample, answer)
                elif message[0] == "end":
                    loads.append(message[1])
                    remaining.discard(position)
                    loop.remove_reader(conn.fileno())
                    break
        except (EOFError, OSError) as exc:
            loop.remove_reader(conn.fileno())
            if not finished.done():
                finished.set_exception(RuntimeError(f"client worker {position} died: {exc!r}"))
            return
        if not remaining and not finished.done():
            finished.set_result(None)

    for position, conn in enumerate(conns):
        loop.add_reader(conn.fileno(), read, position)
    try:
        await finished
    finally:
        for position in remaining:
            loop.remove_reader(conns[position].fileno())
    return loads
