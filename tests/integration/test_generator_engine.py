"""The generator against a small, deliberately simple streaming server on 127.0.0.1.

The server streams a role-only chunk first, then one content chunk per token with known delays,
then usage in a chunk with empty choices, then ``[DONE]``; it splits and merges SSE events across
writes and sends keep-alive comments. The model name picks a failure: ``fail`` answers 500 with
a body, ``reset`` drops the connection mid-stream, ``slow`` streams very slowly.
"""

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from arena.agent.generator.arrivals import arrival_offsets
from arena.agent.generator.client import ChatRequest, Endpoint, prepare, stream_chat
from arena.agent.generator.clock import JobClock
from arena.agent.generator.context import Progress, ProgressSink, SampleSink
from arena.agent.generator.http import Connections
from arena.agent.generator.runner import run_benchmark
from arena.agent.generator.tokens import ServerTokenizer
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import Benchmark, ClosedLoopBenchmark, OpenLoopBenchmark

FIRST_TOKEN_DELAY_S = 0.03
TOKEN_GAP_S = 0.004


@dataclass
class Served:
    max_tokens: int
    arrived: float
    finished: float | None = None


@dataclass
class FakeEngine:
    vocab: dict[str, int] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)
    streams: list[Served] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    """Every chat request's JSON body, probes included, in arrival order."""
    cancelled: int = 0
    """Streams whose client closed the connection before the end."""

    def ids(self, text: str) -> list[int]:
        for word in text.split():
            if word not in self.vocab:
                self.vocab[word] = len(self.words)
                self.words.append(word)
        return [self.vocab[word] for word in text.split()]

    async def tokenize(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"tokens": self.ids(body["prompt"])})

    async def detokenize(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"prompt": " ".join(self.words[i] for i in body["tokens"])})

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": "m"}]})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.bodies.append(body)
        model = body["model"]
        if model == "fail":
            return web.Response(status=500, text="engine exploded")
        prompt_tokens = sum(len(self.ids(m["content"])) for m in body["messages"]) + 5
        if not body.get("stream"):
            usage = {"prompt_tokens": prompt_tokens, "completion_tokens": 1}
            return web.json_response({"choices": [{"message": {"content": "x"}}], "usage": usage})
        served = Served(body["max_tokens"], time.perf_counter())
        self.streams.append(served)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            await self._stream(response, model, body["max_tokens"], prompt_tokens)
        except ConnectionResetError:  # the client went away
            self.cancelled += 1
            return response
        served.finished = time.perf_counter()
        return response

    async def _stream(
        self, response: web.StreamResponse, model: str, tokens: int, prompt_tokens: int
    ) -> None:
        def event(payload: dict[str, Any]) -> bytes:
            return f"data: {json.dumps(payload)}\n\n".encode()

        gap = 0.5 if model == "slow" else TOKEN_GAP_S
        await response.write(event({"choices": [{"delta": {"role": "assistant", "content": ""}}]}))
        await asyncio.sleep(FIRST_TOKEN_DELAY_S)
        for index in range(tokens):
            chunk = event({"choices": [{"delta": {"content": f"w{index} "}}]})
            if index == 1:  # one event cut across two writes
                await response.write(chunk[:9])
                await asyncio.sleep(0.001)
                chunk = chunk[9:]
            await response.write(chunk)
            if model == "reset" and index == 1:
                assert response._req is not None and response._req.transport is not None
                response._req.transport.close()
                return
            await asyncio.sleep(gap)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": tokens}
        # usage (empty choices) and [DONE] in one write, after a keep-alive comment
        await response.write(b": keep-alive\n\n" + event({"choices": [], "usage": usage}))
        await response.write(b"data: [DONE]\n\n")


@pytest.fixture
async def engine() -> AsyncIterator[tuple[FakeEngine, str]]:
    fake = FakeEngine()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.chat)
    app.router.add_get("/v1/models", fake.models)
    app.router.add_post("/tokenize", fake.tokenize)
    app.router.add_post("/detokenize", fake.detokenize)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield fake, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def chat_once(base_url: str, model: str, max_tokens: int = 5) -> RequestSample:
    request = ChatRequest([{"role": "user", "content": "say something now"}], max_tokens)
    async with Connections(JobClock()) as connections:
        measurement = await stream_chat(connections, prepare(Endpoint(base_url, model), request))
    return measurement.to_sample(benchmark="b", variant="v", run=0, index=0)


async def measure(
    bench: Benchmark,
    endpoint: Endpoint,
    sink: SampleSink,
    *,
    runs: int,
    seed: int = 0,
    clock: JobClock | None = None,
    progress: ProgressSink | None = None,
) -> None:
    """``run_benchmark`` counting tokens with the endpoint's own tokenizer, closed after."""
    tokenizer = ServerTokenizer(endpoint)
    try:
        await run_benchmark(
            bench,
            endpoint=endpoint,
            runs=runs,
            seed=seed,
            clock=clock or JobClock(),
            sink=sink,
            tokenizer=tokenizer,
            progress=progress,
        )
    finally:
        await tokenizer.close()


async def test_ttft_skips_the_role_chunk_and_usage_is_read(engine: tuple[FakeEngine, str]) -> None:
    sample = await chat_once(engine[1], "m")
    assert sample.ok, sample.error
    assert sample.first_response_s is not None and sample.first_token_s is not None
    assert sample.first_token_s - sample.first_response_s >= FIRST_TOKEN_DELAY_S * 0.75
    assert len(sample.chunk_times_s) == 5
    assert sample.chunk_times_s[0] == sample.first_token_s
    assert sample.chunk_times_s == sorted(sample.chunk_times_s)
    assert sample.end_s is not None and sample.end_s >= sample.chunk_times_s[-1]  # stream end
    assert (sample.prompt_tokens, sample.completion_tokens) == (3 + 5, 5)


async def test_http_error_keeps_status_and_body(engine: tuple[FakeEngine, str]) -> None:
    sample = await chat_once(engine[1], "fail")
    assert not sample.ok
    assert sample.error is not None and "500" in sample.error and "engine exploded" in sample.error
    assert sample.end_s is not None and sample.end_s >= sample.sent_s


async def test_connection_reset_mid_stream_is_an_error(engine: tuple[FakeEngine, str]) -> None:
    sample = await chat_once(engine[1], "reset")
    assert not sample.ok and sample.error


async def test_refused_connection_is_an_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sample = await chat_once(f"http://127.0.0.1:{port}", "m")
    assert not sample.ok and sample.error


async def test_server_tokenizer_round_trip(engine: tuple[FakeEngine, str]) -> None:
    tokenizer = ServerTokenizer(Endpoint(engine[1], "m"))
    ids = await tokenizer.encode("one two three two")
    assert len(ids) == 4 and ids[1] == ids[3]
    assert await tokenizer.decode(ids) == "one two three two"
    await tokenizer.close()


async def test_open_loop_follows_the_seeded_schedule(engine: tuple[FakeEngine, str]) -> None:
    fake, base_url = engine
    bench = OpenLoopBenchmark(
        id="ol", input_len=16, output_len=4, num_prompts=20, request_rate=[50.0]
    )
    clock = JobClock()
    samples: list[RequestSample] = []
    seen_at: list[float] = []
    progress: list[Progress] = []
    progress_at: list[float] = []

    def sink(sample: RequestSample) -> None:
        samples.append(sample)
        seen_at.append(clock.now())

    def report(line: Progress) -> None:
        progress.append(line)
        progress_at.append(clock.now())

    await measure(
        bench, Endpoint(base_url, "m"), sink, runs=1, seed=1, clock=clock, progress=report
    )

    assert sorted(s.index for s in samples) == list(range(20))
    assert all(s.ok and s.variant == "rate50" and s.max_tokens == 4 for s in samples)
    assert len(fake.streams) == 21  # vLLM's unreported test request, then the run
    by_index = sorted(samples, key=lambda s: s.index)
    scheduled = [s.scheduled_s for s in by_index if s.scheduled_s is not None]
    offsets = arrival_offsets(20, 50.0, 1.0, seed=1)
    assert [b - scheduled[0] for b in scheduled] == pytest.approx(
        [b - offsets[0] for b in offsets], abs=1e-6
    )
    lags = [s.sent_s - s.scheduled_s for s in by_index if s.scheduled_s is not None]
    assert max(lags) < 0.05
    assert min(progress_at) < scheduled[-1]  # progress streams out while the run still sends
    # each sample goes on once its output tokens are counted (counting.py), while the run goes
    # on: the first reaches the sink before the last request ended (a kill -9 loses none)
    assert min(seen_at) < max(s.end_s for s in samples if s.end_s is not None)
    assert all(s.counted_output_tokens is not None for s in samples)
    assert progress[-1].done == progress[-1].total == 20 and progress[-1].errors == 0


async def test_closed_loop_batches_are_synchronous(engine: tuple[FakeEngine, str]) -> None:
    fake, base_url = engine
    bench = ClosedLoopBenchmark(id="cl", pp=[16], tg=[4], concurrency=[3])
    samples: list[RequestSample] = []
    await measure(bench, Endpoint(base_url, "m"), samples.append, runs=2)

    assert len(samples) == 6 and all(s.ok for s in samples)
    assert {(s.run, s.index) for s in samples} == {(r, i) for r in (0, 1) for i in range(3)}
    latencies = {s.baseline_latency_s for s in samples}
    (latency,) = latencies  # one generation-mode baseline
    assert latency is not None and latency > 0
    batches = sorted((s for s in fake.streams if s.max_tokens == 4), key=lambda s: s.arrived)
    assert len(batches) == 9  # warm-up batch + 2 runs, 3 requests each
    groups = [batches[i : i + 3] for i in range(0, 9, 3)]
    for earlier, later in zip(groups, groups[1:], strict=False):
        assert min(s.arrived for s in later) >= max(s.finished or 0 for s in earlier)
    contents = [s.prompt_tokens for s in samples]
    assert all(c is not None and c >= 16 for c in contents)


@pytest.mark.parametrize("exact_tg", [True, False])
async def test_exact_tg_sends_ignore_eos_on_every_batch_request(
    engine: tuple[FakeEngine, str], exact_tg: bool
) -> None:
    fake, base_url = engine
    bench = ClosedLoopBenchmark(id="cl", pp=[16], tg=[4], concurrency=[2], exact_tg=exact_tg)
    await measure(bench, Endpoint(base_url, "m"), lambda sample: None, runs=2)

    batch = [body for body in fake.bodies if body["max_tokens"] == 4]
    probes = [body for body in fake.bodies if body["max_tokens"] == 1]
    assert len(batch) == 6  # the warm-up batch and 2 runs, 2 requests each
    assert len(probes) == 5  # 2 chat-template probes, 3 latency tries
    assert [body.get("ignore_eos") for body in batch] == [True if exact_tg else None] * 6
    assert all("ignore_eos" not in body for body in probes)


async def test_exact_tg_is_not_sent_where_the_engine_refuses_unknown_fields(
    engine: tuple[FakeEngine, str],
) -> None:
    """The suite refuses that pairing (``suites.resolve``); the client still never sends the
    field to an endpoint that would reject it."""
    fake, base_url = engine
    bench = ClosedLoopBenchmark(id="cl", pp=[8], tg=[3], exact_tg=True, warmup=False)
    await measure(bench, Endpoint(base_url, "m", accepts_ignore_eos=False), lambda s: None, runs=1)
    assert [body for body in fake.bodies if body["max_tokens"] == 3]
    assert all("ignore_eos" not in body for body in fake.bodies)


async def test_cancellation_stops_promptly(engine: tuple[FakeEngine, str]) -> None:
    fake, base_url = engine
    bench = ClosedLoopBenchmark(id="cl", pp=[8], tg=[50], concurrency=[2], warmup=False)
    tokenizer = ServerTokenizer(Endpoint(base_url, "slow"))
    task = asyncio.create_task(
        run_benchmark(
            bench,
            endpoint=Endpoint(base_url, "slow"),
            runs=1,
            seed=0,
            clock=JobClock(),
            sink=lambda sample: None,
            tokenizer=tokenizer,
        )
    )
    while len([s for s in fake.streams if s.max_tokens == 50]) < 2:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    started = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=2.0)
    assert time.perf_counter() - started < 1.0
    for _ in range(200):  # the server notices at its next write, at most 0.5 s later
        if fake.cancelled >= 2:
            break
        await asyncio.sleep(0.01)
    assert fake.cancelled >= 2  # the server saw both connections close
    await tokenizer.close()
