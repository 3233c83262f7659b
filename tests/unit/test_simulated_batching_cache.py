"""The batch with the prefix cache on: lookups at admission in arrival order, prefill of the
uncached tokens only, what a request that leaves early leaves behind, and the counters."""

import asyncio

import pytest

from arena.agent.simulated.batching import Admitted, BatchScheduler, TokenEmitted
from arena.agent.simulated.prefix_cache import BlockChain
from arena.common.schemas.engine import SimulatedEngine

BLOCK = 4


def engine(**fields: float | bool) -> SimulatedEngine:
    return SimulatedEngine.model_validate(
        {
            "runtime": "simulated",
            "decode_step_ms": 5,
            "decode_step_ms_per_seq": 0,
            "prefix_cache": True,
            "prefix_cache_block_size": BLOCK,
            **fields,
        }
    )


def prompt(scheduler: BatchScheduler, tokens: list[int]) -> BlockChain:
    assert scheduler.prefix_cache is not None
    chain = scheduler.prefix_cache.chain()
    chain.extend(tokens)
    return chain


async def run(scheduler: BatchScheduler, tokens: list[int], max_tokens: int = 2) -> int:
    """Cached tokens of one request run to the end."""
    cached = -1
    chain = prompt(scheduler, tokens)
    async with scheduler.submit(len(tokens), max_tokens, chain) as stream:
        async for event in stream:
            if isinstance(event, Admitted):
                cached = event.cached_tokens
    return cached


async def test_a_request_admitted_behind_one_with_its_prefix_hits_in_the_same_step() -> None:
    async with BatchScheduler(engine()) as scheduler:
        tokens = list(range(40))
        both = await asyncio.gather(run(scheduler, tokens), run(scheduler, tokens))
        assert list(both) == [0, 36]
        counters = scheduler.counters
        assert (counters.prompt_tokens, counters.prefix_cache_queries) == (80, 80)
        assert (counters.prefix_cache_hits, counters.generation_tokens) == (36, 4)


async def test_only_uncached_tokens_cost_prefill() -> None:
    profile = engine(prefill_tokens_per_s=10_000, decode_step_ms=10)
    tokens = list(range(2000))
    loop = asyncio.get_running_loop()
    async with BatchScheduler(profile) as scheduler:
        await run(scheduler, tokens)
        start = loop.time()
        cached = await run(scheduler, tokens, max_tokens=1)
        ttft = loop.time() - start
    assert cached == 1996
    expected = 4 / 10_000 + 0.010
    assert expected - 0.002 <= ttft <= expected * 1.25 + 0.010
    assert ttft < 2000 / 10_000  # a prefill of the whole prompt would take 0.2 s alone


async def test_an_admitted_request_that_leaves_leaves_its_prompt_a_queued_one_nothing() -> None:
    async with BatchScheduler(engine(max_batch=1)) as scheduler:
        cache = scheduler.prefix_cache
        assert cache is not None
        hog_tokens, queued_tokens = list(range(20)), list(range(100, 120))
        async with scheduler.submit(20, 1000, prompt(scheduler, hog_tokens)) as hog:
            async for event in hog:
                if isinstance(event, TokenEmitted) and event.index == 1:
                    break
            async with scheduler.submit(20, 5, prompt(scheduler, queued_tokens)):
                await asyncio.sleep(0.02)
                assert scheduler.waiting_count == 1
        assert len(cache) == 5
        assert cache.cached_tokens(prompt(scheduler, hog_tokens)) == 16
        assert cache.cached_tokens(prompt(scheduler, queued_tokens)) == 0


async def test_a_request_without_a_chain_is_a_query_that_misses_and_stores_nothing() -> None:
    async with BatchScheduler(engine()) as scheduler:
        await run(scheduler, list(range(12)))
        async with scheduler.submit(12, 1) as stream:
            events = [event async for event in stream]
        assert events[0] == Admitted(0)
        assert scheduler.counters.prefix_cache_queries == 24
        assert scheduler.counters.prefix_cache_hits == 0
        assert scheduler.prefix_cache is not None and len(scheduler.prefix_cache) == 3


async def test_with_the_cache_off_nothing_is_looked_up() -> None:
    async with BatchScheduler(engine(prefix_cache=False)) as scheduler:
        assert scheduler.prefix_cache is None
        async with scheduler.submit(12, 1) as stream:
            assert [event async for event in stream][0] == Admitted(0)
        assert scheduler.counters.prefix_cache_queries == 0
        assert scheduler.counters.prompt_tokens == 12


async def test_a_chain_that_disagrees_with_the_prompt_length_is_refused() -> None:
    scheduler = BatchScheduler(engine())
    with pytest.raises(ValueError, match="disagree"):
        scheduler.submit(5, 1, prompt(scheduler, [1, 2, 3]))
