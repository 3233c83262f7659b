"""Client honesty (issue 24): ``sent_s`` is the instant before the write, the client's own
event-loop stalls are measured and make a run's results invalid, and the agent knows its
client headroom."""

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from arena.agent.generator.client import ChatRequest, Endpoint, prepare, stream_chat
from arena.agent.generator.clock import JobClock
from arena.agent.generator.http import Connections
from arena.agent.generator.loop_lag import LoopMonitor
from arena.agent.headroom import calibrate
from arena.agent.settings import AgentSettings
from arena.agent.worker import Agent
from arena.common.metrics.client_verdict import LIMITS
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.metrics.validity import assess
from arena.common.schemas.agent import ClientHeadroom
from arena.common.schemas.results import BenchmarkResult, MetricStat, VariantResult
from arena.controller.server import Controller
from bench.common import instant_server
from bench.ours import run_ours
from tests.direct_job import address
from tests.integration.test_agent_policy import output
from tests.integration.test_arenactl_commands import ctl

STREAM = (
    b'data: {"choices":[{"index":0,"delta":{"content":" x"}}]}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":1}}\n\n'
    b"data: [DONE]\n\n"
)
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n"
    % len(STREAM)
    + STREAM
)


@contextmanager
def first_byte_server() -> Iterator[tuple[int, list[float]]]:
    """A blocking server in a thread that stamps (``time.perf_counter``) when the first byte of
    each request reached it: the earliest instant the request can be said to have left."""
    listener = socket.create_server(("127.0.0.1", 0))
    arrivals: list[float] = []

    def serve(conn: socket.socket) -> None:
        with conn:
            while True:
                first = conn.recv(65536)
                if not first:
                    return
                arrivals.append(time.perf_counter())
                data = first
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                while len(body) < length:
                    body += conn.recv(1 << 20)
                conn.sendall(ANSWER)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1], arrivals
    finally:
        listener.close()


async def test_sent_s_is_stamped_before_the_request_can_reach_the_server() -> None:
    """A 2 MB prompt takes the write a while: its first byte reaches the server during the
    write. ``sent_s`` (before the write) is never after that arrival; ``written_s`` (after it)
    never before ``sent_s``. On main, ``sent_s`` was the after-write stamp, later than the
    arrival of the first byte."""
    clock = JobClock()
    with first_byte_server() as (port, arrivals):
        endpoint = Endpoint(f"http://127.0.0.1:{port}", "tiny")
        request = prepare(endpoint, ChatRequest([{"role": "user", "content": "x" * 2_000_000}], 1))
        async with Connections(clock) as connections:
            measurements = [await stream_chat(connections, request) for _ in range(12)]
    assert all(m.error is None for m in measurements), measurements[0].error
    assert len(arrivals) == len(measurements)
    for m, arrived in zip(measurements, arrivals, strict=True):
        assert m.written_s is not None and m.written_s >= m.sent_s
        assert clock.origin + m.sent_s <= arrived


def _result(metrics: dict[str, float | None], accept: bool = False) -> BenchmarkResult:
    stats = {
        key: MetricStat(mean=value, std=0.0, n=1)
        for key, value in metrics.items()
        if value is not None
    }
    variant = VariantResult(key="rate100", runs=1, metrics=stats)
    return assess(
        BenchmarkResult(id="office", title="office", kind="open_loop", variants=[variant]),
        accept_saturated_client=accept,
    )


async def _stalls(every_s: float, stall_s: float, until: asyncio.Event) -> None:
    """The test's hook: the client's loop blocked (a synchronous sleep) again and again."""
    while not until.is_set():
        await asyncio.sleep(every_s)
        time.sleep(stall_s)  # noqa: ASYNC251 (the stall under test)


async def test_a_client_stalled_on_its_own_loop_is_measured_and_invalid() -> None:
    """Against a paced server (TTFT 20 ms), the same open-loop run twice: quiet, and with the
    client's loop blocked for 15 ms every 50 ms. The stalled run shows the stalls (loop lag
    max and p99, read stalls) and its benchmark is invalid, with the run's own values."""
    with instant_server(pace_ms=(20.0, 2.0)) as url:
        quiet_samples, quiet = await run_ours(url, num_prompts=60, rate=60.0)
        stop = asyncio.Event()
        hook = asyncio.create_task(_stalls(0.05, 0.015, stop))
        try:
            stalled_samples, stalled = await run_ours(url, num_prompts=60, rate=60.0)
        finally:
            stop.set()
            await hook
    assert stalled.loop_lag_max_ms is not None and stalled.loop_lag_max_ms >= 10.0
    assert stalled.loop_lag_p99_ms is not None and stalled.loop_lag_p99_ms > 1.0
    assert max(s.read_stall_s or 0.0 for s in stalled_samples) >= 0.010
    metrics = open_loop_metrics(stalled_samples, client=stalled.figures())
    assert metrics["client_saturated"] == 1.0
    assert metrics["read_stall_p99_ms"] is not None and metrics["read_stall_p99_ms"] > 1.0
    worst = {"client_worst_run": 0.0, "worst_run_loop_lag_p99_ms": metrics["loop_lag_p99_ms"]}
    result = _result(metrics | worst)
    assert result.valid is False
    [flag] = [f for f in result.flags if "client fell behind" in f]
    assert flag.startswith("invalid: client fell behind in rate100 (1 of 1 runs; worst run 0")
    assert f"event-loop lag p99 {metrics['loop_lag_p99_ms']:.2f} ms > 1 ms" in flag
    accepted = _result(metrics, accept=True)
    assert accepted.valid is not False and accepted.flags[0].startswith("warning: client fell")

    # the quiet run: the same figures, far smaller; valid unless this box itself stalls it
    quiet_metrics = open_loop_metrics(quiet_samples, client=quiet.figures())
    assert quiet.loop_lag_max_ms is not None and quiet.loop_lag_p99_ms is not None
    assert quiet.loop_lag_p99_ms < stalled.loop_lag_p99_ms
    crossed = any(
        (value := quiet_metrics.get(limit.key)) is not None and value > limit.limit
        for limit in LIMITS
    )
    assert quiet_metrics["client_saturated"] == (1.0 if crossed else 0.0)
    assert (_result(quiet_metrics).valid is False) == crossed


async def test_loop_monitor_attributes_a_stall_to_the_requests_it_overlapped() -> None:
    clock = JobClock()
    async with LoopMonitor(clock) as monitor:
        await asyncio.sleep(0.02)
        before = clock.now()
        time.sleep(0.03)  # noqa: ASYNC251 (the stall under test)
        await asyncio.sleep(0.01)
        after = clock.now()
    assert monitor.stall_between(before, after) >= 0.025
    assert monitor.stall_between(after + 1, after + 2) == 0.0
    assert monitor.stall_between(after, None) == 0.0


async def test_calibration_finds_a_positive_headroom() -> None:
    """A loose lag limit: this shared 2-core box stalls any process now and then."""
    headroom = await calibrate(limit_ms=50.0)
    assert headroom is not None
    assert headroom.requests_per_s is not None and headroom.requests_per_s > 0
    assert headroom.streams is not None and headroom.streams > 0
    assert headroom.lag_limit_ms == 50.0


async def test_an_agent_calibrates_at_start_and_the_listing_shows_it(
    controller: Controller, tmp_path: Path
) -> None:
    settings = AgentSettings(
        controller=address(controller),
        name="calibrated",
        state_dir=tmp_path / "agent",
        lease_wait_s=0.5,
        calibrate_client=True,
    )
    agent = Agent(settings)
    running = asyncio.create_task(agent.run())
    try:
        for _ in range(200):
            listed = output(await ctl(controller, "agents", "-o", "json"))
            assert isinstance(listed, list)
            if listed:
                break
            await asyncio.sleep(0.1)
        [shown] = listed
        measured = shown["hardware"]["client_headroom"]
        assert measured is not None and measured["lag_limit_ms"] == 1.0
        assert agent.hardware.client_headroom is not None
        table = await ctl(controller, "agents")
        assert table.exit_code == 0, table.output
        assert "client headroom" in table.output and "< 1 ms lag" in table.output
    finally:
        agent.shutdown()
        await asyncio.wait_for(running, 30)


def test_client_headroom_share_needs_a_comparable_figure() -> None:
    headroom = ClientHeadroom(requests_per_s=1000.0, streams=100)
    assert headroom.used_pct(rate=250.0) == 25.0
    assert headroom.used_pct(rate=float("inf")) is None
    assert headroom.used_pct(rate=100.0, streams=50) == 50.0
    assert ClientHeadroom().used_pct(rate=5.0) is None
    with pytest.raises(ValueError):
        ClientHeadroom(requests_per_s=-1.0)
