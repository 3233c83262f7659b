"""Reasoning channels and token counts (issue 24, must-haves 1 and 2) against the paced
``bench.instant_server`` in its own process on loopback: its timing and its tokens are known
exactly (one token per chunk, one per word for its ``/tokenize``), so every figure below is
checked against what the server did, not against a tolerance.

- 20 reasoning chunks, then the answer: TTFT is the first reasoning chunk, TTFC the first
  content chunk (the issue's 51 vs 251 ms), in both spellings of the reasoning field.
- usage says 54 for 64 streamed tokens: TPOT and tg t/s use the tokenizer's 64, the mismatch
  is 10/64, and validity notes it.
"""

import asyncio
from collections.abc import Iterator

import aiohttp
import pytest

from arena.agent.generator.clock import JobClock
from arena.agent.generator.runner import Endpoint, run_benchmark
from arena.agent.generator.tokens import ServerTokenizer
from arena.common.metrics.closed_loop import closed_loop_metrics
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.metrics.tokens import output_tokens, token_checks
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import Benchmark, ClosedLoopBenchmark, OpenLoopBenchmark
from bench.common import instant_server

TTFT_MS, ITL_MS, TOKENS, REASONING = 51.0, 10.0, 64, 20


@pytest.fixture
def reasoning_server(request: pytest.FixtureRequest) -> Iterator[str]:
    field = getattr(request, "param", "reasoning_content")
    quirks = ["--reasoning-chunks", str(REASONING), "--reasoning-field", field]
    with instant_server(pace_ms=(TTFT_MS, ITL_MS), quirks=quirks) as url:
        yield url


@pytest.fixture
def lying_server() -> Iterator[str]:
    with instant_server(pace_ms=(50.0, ITL_MS), quirks=["--usage-completion-tokens", "54"]) as url:
        yield url


async def measure(url: str, bench: Benchmark, runs: int = 1) -> list[RequestSample]:
    """The generator's own path: ``run_benchmark`` with the server's ``/tokenize``."""
    endpoint = Endpoint(url, "tiny")
    tokenizer = ServerTokenizer(endpoint)
    samples: list[RequestSample] = []
    try:
        await run_benchmark(
            bench,
            endpoint=endpoint,
            runs=runs,
            seed=1,
            clock=JobClock(),
            sink=samples.append,
            tokenizer=tokenizer,
        )
    finally:
        await tokenizer.close()
    return samples


def open_bench() -> OpenLoopBenchmark:
    return OpenLoopBenchmark(
        id="chat", input_len=16, output_len=TOKENS, num_prompts=4, request_rate=[20.0]
    )


def closed_bench() -> ClosedLoopBenchmark:
    return ClosedLoopBenchmark(
        id="batch", pp=[16], tg=[TOKENS], concurrency=[2], latency_mode="none", warmup=False
    )


@pytest.mark.parametrize("reasoning_server", ["reasoning_content", "reasoning"], indirect=True)
async def test_reasoning_first_gives_ttft_at_the_first_reasoning_token_and_ttfc_at_content(
    reasoning_server: str,
) -> None:
    samples = await measure(reasoning_server, open_bench())
    assert len(samples) == 4 and all(s.ok for s in samples)
    for s in samples:
        assert s.first_token_s == s.chunk_times_s[0]  # any channel: the first reasoning chunk
        assert s.first_content_s == s.chunk_times_s[REASONING]  # the first answer chunk
        assert s.reasoning_tokens == REASONING  # the tokenizer's count of the reasoning
        assert s.counted_output_tokens == TOKENS
    metrics = open_loop_metrics(samples)
    ttft, ttfc = metrics["mean_ttft_ms"], metrics["mean_ttfc_ms"]
    assert ttft is not None and ttfc is not None
    # the server is never early (1 ms for clock granularity); a loaded box only makes it late
    assert ttft >= TTFT_MS - 1.0 and ttfc >= TTFT_MS + REASONING * ITL_MS - 1.0
    assert ttft < ttfc < ttft + REASONING * ITL_MS * 3
    assert metrics["p99_ttfc_ms"] is not None and metrics["median_ttfc_ms"] is not None
    checks = token_checks(samples)
    assert checks["reasoning_first"] == 4.0 and checks["mean_reasoning_tokens"] == REASONING
    assert checks["token_mismatch_pct"] == 0.0  # usage said 64, as streamed


async def test_closed_loop_reports_e2e_ttfc_after_reasoning(reasoning_server: str) -> None:
    samples = await measure(reasoning_server, closed_bench())
    metrics = closed_loop_metrics(samples, concurrency=2)
    ttft, ttfc = metrics["e2e_ttft"], metrics["e2e_ttfc"]
    assert ttft is not None and ttfc is not None
    assert ttft < ttfc and ttfc >= TTFT_MS + REASONING * ITL_MS - 1.0


async def test_a_usage_that_disagrees_with_the_stream_is_measured_not_believed(
    lying_server: str,
) -> None:
    samples = await asyncio.wait_for(measure(lying_server, open_bench()), 60)
    assert all(s.completion_tokens == 54 and s.counted_output_tokens == TOKENS for s in samples)
    assert {output_tokens(s) for s in samples} == {TOKENS}
    metrics = open_loop_metrics(samples)
    # TPOT over the 63 gaps the server really paced (10 ms each), not over usage's 53
    expected_tpot = [(s.chunk_times_s[-1] - s.chunk_times_s[0]) / (TOKENS - 1) for s in samples]
    assert metrics["mean_tpot_ms"] == pytest.approx(sum(expected_tpot) / 4 * 1000.0)
    assert metrics["total_output_tokens"] == 4 * TOKENS
    assert token_checks(samples)["token_mismatch_pct"] == pytest.approx(10 / 64 * 100)

    closed = await measure(lying_server, closed_bench())
    batch = closed_loop_metrics(closed, concurrency=2)
    first = min(s.chunk_times_s[0] for s in closed)
    last = max(s.chunk_times_s[-1] for s in closed)
    # every streamed token after each request's first, over the batch's decode span
    assert batch["tg_throughput"] == pytest.approx(2 * (TOKENS - 1) / (last - first))


async def test_the_instant_server_applies_its_quirks_without_pacing_too() -> None:
    """Without ``--itl-ms`` the server answers at once, reasoning chunks and usage lie included."""
    quirks = ["--reasoning-chunks", "3", "--usage-completion-tokens", "99"]
    with instant_server(chunks=8, quirks=quirks) as url:
        payload = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{url}/v1/chat/completions", json={**payload, "stream": True}) as reply,
        ):
            text = await reply.text()
    assert text.count('"reasoning_content": " think') == 3
    assert '"completion_tokens": 99' in text or '"completion_tokens":99' in text
