"""The simulated engine's prefix cache over real HTTP: conversations sent on with the engine's
own answers hit exactly the blocks the rules predict, TTFT drops with the hits, /metrics agrees
with the usage fields, and the per-request opt-outs and the reset do what they say.

Block size 16 throughout. A first turn of 1030 prompt tokens answered with 20 tokens leaves
(1030 + 20 − 1) // 16 = 65 blocks (the last output token has no KV); the second turn adds 10
words, 1060 tokens, so it hits all 65 blocks: 1040 cached tokens.
"""

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from arena.agent.engines.probe import engine_figures, reset_prefix_cache, scrape_metrics
from arena.agent.engines.simulated import simulated_process
from arena.agent.simulated.server import LISTENING_PREFIX, RunningServer, running_server
from arena.agent.simulated.tokenizer import VOCAB
from arena.common.schemas.engine import SimulatedEngine

BLOCK = 16
REPO_ROOT = Path(__file__).resolve().parents[2]


def engine(**fields: float | bool) -> SimulatedEngine:
    return SimulatedEngine.model_validate(
        {
            "runtime": "simulated",
            "decode_step_ms": 2,
            "decode_step_ms_per_seq": 0,
            "prefix_cache": True,
            "prefix_cache_block_size": BLOCK,
            **fields,
        }
    )


def words(count: int, offset: int) -> str:
    return " ".join(VOCAB[(offset + i) % len(VOCAB)] for i in range(count))


@dataclass
class Answer:
    text: str
    usage: dict[str, Any]
    ttft_s: float

    @property
    def cached(self) -> int:
        return int(self.usage["prompt_tokens_details"]["cached_tokens"])


class Conversation:
    """One chat: each turn sends everything so far plus new words, keeping the answers."""

    def __init__(self, http: aiohttp.ClientSession, url: str, system: str, **extra: Any) -> None:
        self._http = http
        self._url = f"{url}/v1/chat/completions"
        self.messages: list[dict[str, str]] = [{"role": "system", "content": system}]
        self._extra = extra

    async def turn(self, user: str, max_tokens: int = 20) -> Answer:
        self.messages.append({"role": "user", "content": user})
        body = {
            "model": "arena-sim",
            "messages": self.messages,
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
            **self._extra,
        }
        sent = time.monotonic()
        first: float | None = None
        text, usage = [], None
        async with self._http.post(self._url, json=body) as response:
            assert response.status == 200, await response.text()
            async for line in response.content:
                if not line.startswith(b"data: {"):
                    continue
                chunk = json.loads(line[len(b"data: ") :])
                if chunk.get("usage"):
                    usage = chunk["usage"]
                for choice in chunk["choices"]:
                    if content := choice["delta"].get("content"):
                        first = first or time.monotonic()
                        text.append(content)
        assert usage is not None and first is not None
        self.messages.append({"role": "assistant", "content": "".join(text)})
        return Answer("".join(text), usage, first - sent)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    async with running_server(engine()) as running:
        yield running


async def test_a_conversation_sent_on_hits_every_block_of_the_last_turn(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    before = await scrape_metrics(server.url, None)
    chat = Conversation(http, server.url, words(1000, 0))
    first = await chat.turn(words(30, 1000))
    second = await chat.turn(words(10, 2000))
    after = await scrape_metrics(server.url, None)
    assert (first.usage["prompt_tokens"], first.cached) == (1030, 0)
    assert (second.usage["prompt_tokens"], second.cached) == (1060, 65 * BLOCK)
    assert before is not None and after is not None
    assert after["arena_sim:prefix_cache_blocks"] == (1060 + 20 - 1) // BLOCK
    figures = engine_figures(before, after)
    assert figures["prefix_cache_queries"] == 1030 + 1060
    assert figures["prefix_cache_hits"] == first.cached + second.cached
    assert figures["prefix_cache_hit_pct"] == pytest.approx(1040 / 2090 * 100)
    assert figures["prompt_tokens"] == 2090 and figures["generation_tokens"] == 40


async def test_ttft_falls_to_the_uncached_tokens_prefill(http: aiohttp.ClientSession) -> None:
    async with running_server(engine(prefill_tokens_per_s=10_000)) as server:
        chat = Conversation(http, server.url, words(2000, 0))
        first = await chat.turn(words(16, 3000), max_tokens=5)
        second = await chat.turn(words(16, 3100), max_tokens=5)
    assert second.cached == (2016 + 5 - 1) // BLOCK * BLOCK
    # 0.2 s of prefill then ~4 ms: generous on a loaded machine, still a relation that fails
    # if cached tokens were prefilled
    assert first.ttft_s >= 2016 / 10_000
    assert second.ttft_s < first.ttft_s / 3


async def test_exact_hits_of_two_conversations_sharing_a_small_cache(
    http: aiohttp.ClientSession,
) -> None:
    """100 blocks for two conversations of 65 blocks each: the second evicts the first's tail.

    After A1 and B1 the cache holds the 100 most recently used blocks: all 65 of B and A's
    first 35 (a chain is touched tail first, so it loses its tail first). A2 hits those 35 and
    its 67 blocks push B's oldest out: B keeps its first 33. B2 hits them.
    """
    async with running_server(engine(prefix_cache_blocks=100)) as server:
        before = await scrape_metrics(server.url, None)
        a = Conversation(http, server.url, words(1000, 0))
        b = Conversation(http, server.url, words(1000, 1500))
        cached = [
            (await a.turn(words(30, 1000))).cached,
            (await b.turn(words(30, 2500))).cached,
            (await a.turn(words(10, 3000))).cached,
            (await b.turn(words(10, 3500))).cached,
        ]
        after = await scrape_metrics(server.url, None)
    assert cached == [0, 0, 35 * BLOCK, 33 * BLOCK]
    assert before is not None and after is not None
    figures = engine_figures(before, after)
    assert figures["prefix_cache_hit_pct"] == pytest.approx(68 * BLOCK / 4180 * 100)
    assert after["arena_sim:prefix_cache_blocks"] == 100


async def test_salts_separate_conversations_and_cache_prompt_false_opts_out(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    system, user = words(100, 0), words(28, 100)
    salted = Conversation(http, server.url, system, cache_salt="s1")
    assert (await salted.turn(user)).cached == 0
    other_salt = Conversation(http, server.url, system, cache_salt="s2")
    assert (await other_salt.turn(user)).cached == 0
    same_salt = Conversation(http, server.url, system, cache_salt="s1")
    assert (await same_salt.turn(user)).cached == 7 * BLOCK  # 128 tokens: 127 lookable
    unsalted = Conversation(http, server.url, system)
    assert (await unsalted.turn(user)).cached == 0

    metrics = await scrape_metrics(server.url, None)
    assert metrics is not None
    blocks = metrics["arena_sim:prefix_cache_blocks"]
    opted_out = Conversation(http, server.url, system, cache_prompt=False)
    assert (await opted_out.turn(user)).cached == 0
    after = await scrape_metrics(server.url, None)
    assert after is not None
    assert after["arena_sim:prefix_cache_blocks"] == blocks  # nothing stored
    assert after["arena_sim:prefix_cache_queries_total"] == metrics[
        "arena_sim:prefix_cache_queries_total"
    ] + (100 + 28)


async def test_a_non_streamed_answer_reports_cached_tokens_too(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": words(40, 0)}], "max_tokens": 3}
    cached = []
    for _ in range(2):
        async with http.post(f"{server.url}/v1/chat/completions", json=body) as response:
            cached.append((await response.json())["usage"]["prompt_tokens_details"])
    assert cached == [{"cached_tokens": 0}, {"cached_tokens": 2 * BLOCK}]


async def test_reset_empties_the_cache(server: RunningServer, http: aiohttp.ClientSession) -> None:
    chat = Conversation(http, server.url, words(200, 0))
    await chat.turn(words(10, 300))
    assert await reset_prefix_cache(server.url, None) is True
    metrics = await scrape_metrics(server.url, None)
    assert metrics is not None and metrics["arena_sim:prefix_cache_blocks"] == 0
    assert (await chat.turn(words(10, 400))).cached == 0


async def test_with_the_cache_off_nothing_hits_and_nothing_is_queried(
    http: aiohttp.ClientSession,
) -> None:
    async with running_server(engine(prefix_cache=False)) as server:
        chat = Conversation(http, server.url, words(500, 0))
        await chat.turn(words(10, 600))
        assert (await chat.turn(words(10, 700))).cached == 0
        metrics = await scrape_metrics(server.url, None)
        assert await reset_prefix_cache(server.url, None) is True
    assert metrics is not None
    assert metrics["arena_sim:prefix_cache_queries_total"] == 0
    assert metrics["arena_sim:prompt_tokens_total"] == 510 + (510 + 20 + 10)
    assert "prefix_cache_hit_pct" not in engine_figures({}, metrics)


@pytest.mark.parametrize("salt", ["", "x" * 1025, 5])
async def test_a_bad_salt_is_a_400(
    server: RunningServer, http: aiohttp.ClientSession, salt: object
) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "a"}], "cache_salt": salt}
    async with http.post(f"{server.url}/v1/chat/completions", json=body) as response:
        assert response.status == 400
        assert "cache_salt" in (await response.json())["error"]["message"]


async def test_the_agents_command_line_carries_the_cache_settings(
    http: aiohttp.ClientSession,
) -> None:
    """The agent starts the engine from the profile (engines/simulated.py): the process it
    starts caches with the profile's block size."""
    profile = engine(prefix_cache_block_size=8, prefix_cache_blocks=3)
    _, policy = simulated_process(profile)
    (recipe,) = policy.process.recipes.values()
    argv = [
        {"{port}": "0", "{served_model_name}": "arena-sim"}.get(arg, arg) for arg in recipe.command
    ]
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        url = f"http://127.0.0.1:{int(line[len(LISTENING_PREFIX) :])}"
        chat = Conversation(http, url, words(40, 0))
        await chat.turn(words(8, 100), max_tokens=1)
        assert (await chat.turn(words(8, 200), max_tokens=1)).cached == 3 * 8
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
