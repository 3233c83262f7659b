"""A server whose whole answer arrives in one read: no decode time, so no tg t/s, and a flag.

llama-benchy (and Arena's closed loop, which follows it) times each token by the read that
brought it. A tiny model on llama-server decodes 16 tokens in about 5 ms, as fast as a Python
client turns around, and on a loaded box the client may not read at all before the answer is
complete: every token then shares one time. When that held for every request of every run of
a variant, the variant had no ``tg_throughput`` and nothing said why (the KeyError of the
flaky ``tests/e2e/test_tools.py`` llama-benchy test). This server sends each answer in one
write, which makes the case certain on loopback.
"""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from arena.agent.generator.client import Endpoint
from arena.agent.generator.clock import JobClock
from arena.agent.generator.runner import run_benchmark
from arena.agent.generator.tokens import ServerTokenizer
from arena.common.metrics.summary import summarize_closed_loop
from arena.common.metrics.validity import assess
from arena.common.schemas.results import BenchmarkResult, MetricStat, VariantResult
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import ClosedLoopBenchmark
from tests.integration.test_generator_engine import FakeEngine


class OneWriteEngine(FakeEngine):
    """Every answer (role chunk, tokens, usage, ``[DONE]``) in one write."""

    async def _stream(
        self, response: web.StreamResponse, model: str, tokens: int, prompt_tokens: int
    ) -> None:
        def event(payload: dict[str, Any]) -> bytes:
            return f"data: {json.dumps(payload)}\n\n".encode()

        body = event({"choices": [{"delta": {"role": "assistant", "content": ""}}]})
        body += b"".join(
            event({"choices": [{"delta": {"content": f"w{index} "}}]}) for index in range(tokens)
        )
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": tokens}
        body += event({"choices": [], "usage": usage}) + b"data: [DONE]\n\n"
        await response.write(body)


@pytest.fixture
async def one_write() -> AsyncIterator[str]:
    fake = OneWriteEngine()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.chat)
    app.router.add_get("/v1/models", fake.models)
    app.router.add_post("/tokenize", fake.tokenize)
    app.router.add_post("/detokenize", fake.detokenize)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_answers_in_one_read_give_no_tg_and_a_flag_naming_the_variant(
    one_write: str,
) -> None:
    bench = ClosedLoopBenchmark(id="chat", pp=[16], tg=[16], concurrency=[2], warmup=False)
    samples: list[RequestSample] = []
    tokenizer = ServerTokenizer(Endpoint(one_write, "m"))
    await run_benchmark(
        bench,
        endpoint=Endpoint(one_write, "m"),
        runs=2,
        seed=0,
        clock=JobClock(),
        sink=samples.append,
        tokenizer=tokenizer,
    )
    await tokenizer.close()
    assert len(samples) == 4 and all(s.ok for s in samples)
    assert all(len(set(s.chunk_times_s)) == 1 for s in samples)  # one read per answer

    runs = [[s for s in samples if s.run == run] for run in (0, 1)]
    summary = summarize_closed_loop(runs, concurrency=2, expected_prompt_tokens=16)
    assert "tg_throughput" not in summary and "e2e_ttft" in summary
    metrics = {key: MetricStat(mean=s.mean, std=s.std, n=s.n) for key, s in summary.items()}
    variant = VariantResult(key="pp16/tg16/d0/c2", runs=2, metrics=metrics)
    result = assess(
        BenchmarkResult(id="chat", title="Chat", kind="closed_loop", variants=[variant])
    )
    [flag] = [f for f in result.flags if f.startswith("no tg t/s")]
    assert "pp16/tg16/d0/c2" in flag and "one read" in flag
    assert result.valid is not False  # a gap, said; the other numbers stand
