"""A session benchmark against a real llama-server (its prompt cache on, then off).

llama-server keeps each slot's last prompt and reuses its longest common prefix with the next
one (token granularity, ``usage.prompt_tokens_details.cached_tokens``). With one slot and two
sessions one after another: session A's second turn finds its whole first exchange cached
(less the few tokens re-tokenising the answer text changes), session B the salt line and
system blocks it shares with A; with ``prefix_cache: off`` (``cache_prompt: false``) nothing.
"""

from pathlib import Path

import pytest

from arena.agent.generator.client import Endpoint
from arena.agent.generator.clock import JobClock
from arena.agent.generator.runner import run_benchmark
from arena.agent.generator.tokens import ServerTokenizer
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import SessionBenchmark
from arena.common.traces.format import Session, TraceHeader, Turn
from arena.common.traces.io import write_trace
from tests.integration.test_llama_prefix_cache import llama_server

pytestmark = pytest.mark.slow

ANSWER_SLACK = 8
"""Tokens at the end of a re-sent answer that may re-tokenise differently from the ones the
model generated (a random-weight model's text)."""


def trace(tmp_path: Path) -> str:
    a = Session(
        id="a",
        arrival_s=0.0,
        system_blocks=list(range(24)),
        turns=[
            Turn(input_tokens=100, output_tokens=8, think_s=0.1),
            Turn(input_tokens=30, output_tokens=8),
        ],
    )
    b = Session(
        id="b",
        arrival_s=2.0,
        system_blocks=list(range(24)),
        turns=[Turn(input_tokens=50, output_tokens=8)],
    )
    path = tmp_path / "trace.jsonl"
    write_trace(path, TraceHeader(block_size=16), [a, b])
    return str(path)


async def test_sessions_on_llama_server_hit_its_prompt_cache_only_when_on(tmp_path: Path) -> None:
    path = trace(tmp_path)
    found: dict[str, dict[tuple[str | None, int | None], RequestSample]] = {}
    async with llama_server() as url:
        endpoint = Endpoint(url, "tiny")
        tokenizer = ServerTokenizer(endpoint)
        try:
            for cache in ("on", "off"):
                samples: list[RequestSample] = []
                bench = SessionBenchmark(
                    id=cache, trace={"path": path}, replay_timestamps=True, prefix_cache=cache
                )
                await run_benchmark(
                    bench,
                    endpoint=endpoint,
                    runs=1,
                    seed=3,
                    clock=JobClock(),
                    sink=samples.append,
                    tokenizer=tokenizer,
                )
                assert all(s.ok for s in samples), [s.error for s in samples]
                found[cache] = {(s.session, s.turn): s for s in samples}
        finally:
            await tokenizer.close()
    on, off = found["on"], found["off"]
    first, later, other = on["s0", 0], on["s0", 1], on["s1", 0]
    assert first.prompt_tokens is not None and later.prompt_tokens is not None
    assert first.cached_tokens is not None and first.cached_tokens < 16  # cold: template at most
    assert later.prompt_tokens > first.prompt_tokens + 30
    assert later.cached_tokens is not None
    assert first.prompt_tokens - ANSWER_SLACK <= later.cached_tokens < later.prompt_tokens
    # B shares A's salt line and 24 blocks (384 tokens) and nothing after its marker
    assert other.cached_tokens is not None and other.prompt_tokens is not None
    assert 24 * 16 * 0.8 < other.cached_tokens < other.prompt_tokens - 50
    assert [s.cached_tokens for s in off.values()] == [0, 0, 0]
