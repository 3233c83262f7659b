"""The prefix-cache figures against a real llama-server (its prompt cache, ``--metrics``): the
engine's counters, read as the agent reads them, say what the requests' usage says."""

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from arena.agent.engines.probe import engine_figures, reset_prefix_cache, scrape_metrics
from tests.llama import CACHE, tiny_gguf
from tests.prerequisites import require
from tests.support import free_port

pytestmark = pytest.mark.slow

PROMPT = " ".join(["the quick brown fox jumps over the lazy dog"] * 40)


@contextlib.asynccontextmanager
async def llama_server(parallel: int = 1, context: int = 4096) -> AsyncIterator[str]:
    """The tiny model on the built CPU llama-server: ``parallel`` slots sharing ``context``
    tokens (each slot gets ``context / parallel``)."""
    binaries = sorted(CACHE.glob("llama-server-[0-9]*/bin/llama-server"))
    require(bool(binaries), "a built llama-server (scripts/build_llama_server.sh)")
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(binaries[-1]),
        *("--model", str(tiny_gguf(CACHE / "models")), "--host", "127.0.0.1"),
        *("--port", str(port), "--parallel", str(parallel), "--metrics"),
        *("-c", str(context), "-t", "1"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{url}/health") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("llama-server never became healthy")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)


async def usage(http: aiohttp.ClientSession, url: str, **extra: Any) -> dict[str, Any]:
    body = {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": 4, **extra}
    async with http.post(f"{url}/v1/chat/completions", json=body) as response:
        assert response.status == 200, await response.text()
        found: dict[str, Any] = (await response.json())["usage"]
    return found


async def test_llama_server_counters_give_the_hits_its_answers_report() -> None:
    async with llama_server() as url, aiohttp.ClientSession() as http:
        before = await scrape_metrics(url, None)
        first = await usage(http, url)
        second = await usage(http, url)
        after_two = await scrape_metrics(url, None)
        uncached = await usage(http, url, cache_prompt=False)
        after_three = await scrape_metrics(url, None)
        reset = await reset_prefix_cache(url, None)
    prompt = first["prompt_tokens"]
    assert first["prompt_tokens_details"]["cached_tokens"] == 0
    # the whole prompt but its last token, which is computed to sample the answer
    assert second["prompt_tokens_details"]["cached_tokens"] == prompt - 1
    assert uncached["prompt_tokens_details"]["cached_tokens"] == 0
    assert before is not None and after_two is not None and after_three is not None
    two = engine_figures(before, after_two)
    assert two["prefix_cache_queries"] == 2 * prompt
    assert two["prefix_cache_hits"] == prompt - 1
    assert two["prefix_cache_hit_pct"] == pytest.approx((prompt - 1) / (2 * prompt) * 100)
    three = engine_figures(before, after_three)
    assert three["prefix_cache_queries"] == 3 * prompt
    assert three["prefix_cache_hits"] == prompt - 1
    assert reset is False  # llama-server has no reset route
