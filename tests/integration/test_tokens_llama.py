"""Output tokens counted against a real llama-server and its own ``/tokenize``.

The tests' model has random weights: its answers are random token sequences, whose text the
same tokenizer splits differently (``"consi()mainder"`` re-tokenises to more pieces than were
generated). So counting them measures the re-tokenisation, not the engine: here the counted
figure runs above usage and the mismatch is reported as it is, and a job whose model is marked
``random_weights`` does not count (``count_tokens=False``) and falls back to usage, as before.
"""

from collections.abc import Sequence

import pytest

from arena.agent.generator.client import Endpoint
from arena.agent.generator.clock import JobClock
from arena.agent.generator.runner import run_benchmark
from arena.agent.generator.tokens import ServerTokenizer
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.metrics.tokens import output_tokens, token_mismatch_pct
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import OpenLoopBenchmark
from tests.integration.test_llama_prefix_cache import llama_server

pytestmark = pytest.mark.slow

BENCH = OpenLoopBenchmark(
    id="chat", input_len=32, output_len=24, num_prompts=4, request_rate=[4.0], ignore_eos=True
)


async def measure(url: str, *, count_tokens: bool) -> list[RequestSample]:
    endpoint = Endpoint(url, "tiny")
    tokenizer = ServerTokenizer(endpoint)
    samples: list[RequestSample] = []
    try:
        await run_benchmark(
            BENCH,
            endpoint=endpoint,
            runs=1,
            seed=3,
            clock=JobClock(),
            sink=samples.append,
            tokenizer=tokenizer,
            count_tokens=count_tokens,
        )
    finally:
        await tokenizer.close()
    return samples


def reported_by_usage(samples: Sequence[RequestSample]) -> bool:
    return all(s.ok and s.completion_tokens == 24 for s in samples)  # ignore_eos: every token


async def test_llama_server_answers_are_counted_and_a_random_model_is_not() -> None:
    async with llama_server() as url:
        counted = await measure(url, count_tokens=True)
        uncounted = await measure(url, count_tokens=False)
    assert len(counted) == 4 and reported_by_usage(counted)
    assert all(s.counted_output_tokens is not None for s in counted)
    assert all(output_tokens(s) == s.counted_output_tokens for s in counted)  # the one rule
    mismatch = token_mismatch_pct(counted)
    expected = sum(abs(24 - (s.counted_output_tokens or 0)) for s in counted)
    assert mismatch == pytest.approx(expected / sum(output_tokens(s) for s in counted) * 100)

    assert len(uncounted) == 4 and reported_by_usage(uncounted)
    assert all(s.counted_output_tokens is None for s in uncounted)
    assert token_mismatch_pct(uncounted) is None
    assert open_loop_metrics(uncounted)["total_output_tokens"] == 4 * 24  # usage, as before
