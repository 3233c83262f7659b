"""The box's client headroom, measured at agent start: how hard this client can drive a server
before its own timing goes wrong.

Against a local instant server in a child process (``arena.agent.headroom_server``), the real
generator (``send_schedule``, ``stream_chat``, the loop monitor) runs short open-loop steps:

- **requests/s**: after one unjudged warm-up step, a step at ``FIRST_RATE``; while steps
  pass the rate doubles, and when the first one fails it halves (down to ``LOWEST_RATE``), so a
  busy box still reports the rate it can hold. Every step sends at least ``STEP_REQUESTS``
  requests (or lasts ``MAX_STEP_S``) and ``MIN_STEP_S`` of loop ticks, so its p99 is not simply
  its worst sample; every request is a whole 16-chunk stream answered at once;
- **streams**: ``FIRST_STREAMS`` doubling, each step opening that many held streams (16 chunks
  20 ms apart) at half the passing rate; the figure is the most streams a passing step really
  had open at once.

A step passes while p99 send lag and p99 loop lag stay under ``LAG_LIMIT_MS`` and no request
fails; the headroom is the highest passing step of each (``None`` when none passed). The whole
search stops at ``BUDGET_S``: a box still passing then reports a lower bound (``bounded``).
Nothing is cached: a figure is only true of the box and load it was measured on.
"""

import asyncio
import resource
import sys
import time
from dataclasses import dataclass

import structlog

from arena.agent.generator.client import ChatRequest, Endpoint, Measurement, prepare
from arena.agent.generator.clock import JobClock
from arena.agent.generator.http import Connections
from arena.agent.generator.loop_lag import LoopMonitor
from arena.agent.generator.open_loop import Scheduled, send_schedule
from arena.common import stats
from arena.common.metrics.client_verdict import limit_of
from arena.common.schemas.agent import ClientHeadroom

log = structlog.get_logger(__name__)

LAG_LIMIT_MS = limit_of("loop_lag_p99_ms")
"""The limit ``client_saturated`` applies to a run's p99 loop lag (its send-lag limit is the
same): read from the verdict, so a headroom means the same thing as an unflagged run."""
BUDGET_S = 6.0
"""Time for all steps; server start and stop come on top (≈ 0.3 s)."""
FIRST_RATE = 200.0
LOWEST_RATE = 12.5
"""Stepping down stops here: below it the box is too busy to benchmark anything."""
WARM_UP_S = 0.2
STEP_REQUESTS = 200
"""Requests a step is judged on (where ``MAX_STEP_S`` allows): p99 of fewer is about the max."""
MIN_STEP_S = 0.5
"""Loop ticks (one per 2 ms) a step is judged on, at least."""
MAX_STEP_S = 1.5
FIRST_STREAMS = 32
STREAMS_SHARE = 0.35
"""Share of the budget kept for the held-streams steps, after the rate steps."""
HOLD_S = 0.35
"""How long a held stream lasts (15 gaps of 20 ms) and a little more."""
SERVER_START_S = 10.0
SERVER_COMMAND = (sys.executable, "-m", "arena.agent.headroom_server")
FD_RESERVE = 128
"""File descriptors left to the agent beside a streams step's connections."""


@dataclass(frozen=True)
class Step:
    passed: bool
    send_lag_p99_ms: float
    loop_lag_p99_ms: float
    failed: int
    open_at_once: int


async def _step(
    connections: Connections, endpoint: Endpoint, offsets_s: list[float], limit_ms: float
) -> Step:
    """One open-loop step: a request at every offset; its lag figures."""
    request = prepare(endpoint, ChatRequest([{"role": "user", "content": "hi"}], 16))
    schedule = [Scheduled(i, request, offset) for i, offset in enumerate(offsets_s)]
    lags_ms: list[float] = []
    spans: list[tuple[float, float]] = []
    failed = 0

    def done(_: Scheduled, scheduled_s: float, __: float, m: Measurement) -> None:
        nonlocal failed
        lags_ms.append(max(0.0, m.sent_s - scheduled_s) * 1000)
        failed += m.error is not None
        spans.append((m.sent_s, m.end_s if m.end_s is not None else m.sent_s))

    async with LoopMonitor(connections.clock) as monitor:
        start_s = connections.clock.now() + 0.005
        await send_schedule(connections, schedule, start_s=start_s, max_concurrency=None, done=done)
    send_p99 = stats.percentile(lags_ms, 99) if lags_ms else 0.0
    loop_p99 = monitor.p99_ms() or 0.0
    passed = not failed and send_p99 < limit_ms and loop_p99 < limit_ms
    return Step(passed, send_p99, loop_p99, failed, _most_open(spans))


def _most_open(spans: list[tuple[float, float]]) -> int:
    """The most [start, end] spans that overlap at one instant."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = current = 0
    for _, change in edges:
        current += change
        most = max(most, current)
    return most


def _even(count: int, span_s: float) -> list[float]:
    return [span_s * i / count for i in range(count)]


def _fd_cap() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(FIRST_STREAMS, soft - FD_RESERVE)


def _step_s(rate: float) -> float:
    return min(MAX_STEP_S, max(MIN_STEP_S, STEP_REQUESTS / rate))


async def _rate_search(
    connections: Connections, endpoint: Endpoint, deadline: float, limit_ms: float
) -> tuple[float | None, bool]:
    """The highest passing rate and whether the budget cut the search short while steps
    still passed (the rate is then a lower bound). Up from ``FIRST_RATE`` while steps pass;
    down by halves when the first fails, until one passes."""
    passing: float | None = None
    candidate = FIRST_RATE
    going_up: bool | None = None
    while candidate >= LOWEST_RATE:
        span_s = _step_s(candidate)
        if time.monotonic() + span_s > deadline:
            if going_up is False:
                log.warning("client calibration ran out of time", below_rate=candidate * 2)
            return passing, bool(going_up)
        count = max(1, round(candidate * span_s))
        step = await _step(connections, endpoint, _even(count, span_s), limit_ms)
        log.debug("client calibration rate step", rate=candidate, **step.__dict__)
        if step.passed:
            passing = candidate
            if going_up is False:
                return passing, False
            going_up = True
            candidate *= 2
        elif going_up:
            return passing, False
        else:
            going_up = False
            candidate /= 2
    return passing, False


async def _search(base_url: str, deadline: float, limit_ms: float) -> ClientHeadroom:
    clock = JobClock()
    instant = Endpoint(base_url, "calibration")
    held = Endpoint(base_url + "/held", "calibration")
    streams: int | None = None
    async with Connections(clock) as connections:
        # unjudged: first connections, first calls of every code path
        warm_up = _even(int(FIRST_RATE * WARM_UP_S), WARM_UP_S)
        await _step(connections, instant, warm_up, limit_ms)
        # the streams' share of the budget is kept for them: a failing rate step can overrun
        # its span (a client that cannot keep up takes longer than planned)
        streams_s = max(HOLD_S * 3, STREAMS_SHARE * (deadline - time.monotonic()))
        rate, bounded = await _rate_search(connections, instant, deadline - streams_s, limit_ms)
        ramp_rate = (rate or FIRST_RATE) / 2
        count = FIRST_STREAMS
        while count <= _fd_cap():
            ramp_s = count / ramp_rate
            if time.monotonic() + ramp_s + HOLD_S > deadline:
                bounded = bounded or streams is not None
                break
            step = await _step(connections, held, _even(count, ramp_s), limit_ms)
            log.debug("client calibration streams step", streams=count, **step.__dict__)
            if not step.passed:
                break
            streams = max(streams or 0, step.open_at_once)
            count *= 2
        else:
            bounded = bounded or streams is not None
    return ClientHeadroom(
        requests_per_s=rate,
        streams=streams,
        lag_limit_ms=limit_ms,
        lower_bound=bounded,
    )


async def calibrate(
    budget_s: float = BUDGET_S, limit_ms: float = LAG_LIMIT_MS
) -> ClientHeadroom | None:
    """The headroom of this box's client now; None when the local server could not start.
    ``limit_ms``: the p99 lag a step may show (tests on a shared box pass a looser one)."""
    started = time.monotonic()
    try:
        server = await asyncio.create_subprocess_exec(
            *SERVER_COMMAND, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
    except OSError as exc:  # no interpreter, no fds, no memory: the agent starts without it
        log.warning("client calibration server could not start", error=repr(exc))
        return None
    try:
        assert server.stdout is not None
        line = await asyncio.wait_for(server.stdout.readline(), SERVER_START_S)
        if not line.startswith(b"PORT "):
            log.warning("client calibration server did not start", said=line[:200])
            return None
        port = int(line.split()[1])
        headroom = await _search(f"http://127.0.0.1:{port}", time.monotonic() + budget_s, limit_ms)
    except (TimeoutError, OSError, ValueError) as exc:
        log.warning("client calibration failed", error=repr(exc))
        return None
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            await asyncio.wait_for(server.wait(), 2.0)
        except TimeoutError:
            server.kill()
            await server.wait()
    log.info(
        "client headroom",
        requests_per_s=headroom.requests_per_s,
        streams=headroom.streams,
        seconds=round(time.monotonic() - started, 2),
    )
    return headroom
