"""The one output-token rule and the notes on a benchmark's tokens and reasoning."""

from arena.common.metrics.closed_loop import token_timestamps
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.metrics.tokens import (
    output_tokens,
    token_checks,
    token_mismatch_pct,
    usage_over_max,
)
from arena.common.metrics.validity import assess
from arena.common.schemas.results import BenchmarkResult, MetricStat, VariantResult
from arena.common.schemas.sample import RequestSample

CHUNKS = [0.1 + 0.01 * i for i in range(64)]


def sample(**change: object) -> RequestSample:
    base = RequestSample(
        benchmark="b",
        variant="v",
        run=0,
        index=0,
        sent_s=0.05,
        first_token_s=0.1,
        end_s=0.8,
        chunk_times_s=CHUNKS,
        completion_tokens=64,
        max_tokens=64,
    )
    return base.model_copy(update=change)


def test_the_count_is_the_tokenizers_then_usage_then_one_per_chunk() -> None:
    assert output_tokens(sample(counted_output_tokens=64, completion_tokens=54)) == 64
    assert output_tokens(sample(completion_tokens=54)) == 54
    assert output_tokens(sample(completion_tokens=0)) == 64  # a usage of 0 is no count
    assert output_tokens(sample(completion_tokens=None)) == 64


def test_tpot_and_token_timestamps_follow_the_counted_tokens() -> None:
    lying = sample(completion_tokens=54, counted_output_tokens=64)
    tpot = open_loop_metrics([lying])["mean_tpot_ms"]
    assert tpot is not None and abs(tpot - 10.0) < 1e-9  # 630 ms over 63 gaps, not 53
    assert token_timestamps(lying) == CHUNKS  # the count matches the chunks: their own times
    assert (
        abs((open_loop_metrics([sample(completion_tokens=54)])["mean_tpot_ms"] or 0) - 630 / 53)
        < 1e-9
    )


def test_mismatch_is_summed_over_requests_with_both_counts() -> None:
    samples = [
        sample(completion_tokens=54, counted_output_tokens=64),
        sample(index=1, completion_tokens=70, counted_output_tokens=64),
        sample(index=2, completion_tokens=10),  # no count: left out
        sample(index=3, completion_tokens=1, counted_output_tokens=9, error="boom"),  # failed
    ]
    assert token_mismatch_pct(samples) == 16 / 128 * 100
    assert token_mismatch_pct([sample()]) is None


def test_usage_past_max_tokens_and_reasoning_first_are_counted() -> None:
    samples = [
        sample(completion_tokens=80),
        sample(index=1, first_content_s=0.3, reasoning_tokens=20),
        sample(index=2, first_content_s=0.1),
    ]
    assert usage_over_max(samples) == 1
    checks = token_checks(samples)
    assert checks["usage_over_max"] == 1.0 and checks["reasoning_first"] == 1.0
    assert checks["mean_reasoning_tokens"] == 20 / 3
    assert token_checks([sample()]) == dict.fromkeys(checks)  # nothing to say: no keys stored


def stat(mean: float, n: int = 2) -> MetricStat:
    return MetricStat(mean=mean, std=0.0, n=n)


def bench(metrics: dict[str, MetricStat]) -> BenchmarkResult:
    variant = VariantResult(key="rate1", runs=2, metrics=metrics)
    return BenchmarkResult(id="b", title="b", kind="open_loop", variants=[variant])


def test_token_notes_say_what_happened_and_never_invalidate() -> None:
    judged = assess(
        bench(
            {
                "completed": stat(5.0),
                "failed": stat(0.0),
                "reasoning_first": stat(5.0),
                "token_mismatch_pct": stat(15.625),
                "usage_over_max": stat(1.5),
            }
        )
    )
    assert judged.valid
    assert judged.flags == [
        "reasoning came first in 10 of 10 requests: TTFT is the first reasoning token, TTFC "
        "the first answer token (TTFC leaves out a request whose reasoning used up max_tokens: "
        "it never reached an answer)",
        "usage disagrees with the tokenizer by 15.6 % (rate1): output tokens are the "
        "tokenizer's count of the streamed answer",
        "usage exceeded max_tokens in 3 requests (kept; see usage_over_max)",
    ]
    quiet = assess(bench({"completed": stat(5.0), "token_mismatch_pct": stat(0.9)}))
    assert quiet.flags == []  # under 1 %: usage and tokenizer agree closely enough
