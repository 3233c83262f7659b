"""Hand-computed checks of llama-benchy 0.4.0's per-request and per-batch formulas."""

import pytest

from arena.common.metrics.closed_loop import (
    closed_loop_metrics,
    peak_tokens_per_s,
    prompt_tokens,
    token_timestamps,
    tokens_after_first,
)
from arena.common.schemas.sample import RequestSample


def sample(index: int, **fields: object) -> RequestSample:
    return RequestSample(benchmark="b", variant="pp100/tg5/d0/c2", run=0, index=index, **fields)


# Batch of c = 2 sent at 0.0 with a 50 ms baseline latency:
# R1: ttfr 150 ms, first token 200 ms → est_ppt 100 ms; tokens at 0.2, 0.4, 0.6
# R2: ttfr 250 ms, first token 300 ms → est_ppt 200 ms; tokens at 0.3 … 1.1 every 0.2 s
R1 = sample(
    0,
    sent_s=0.0,
    first_response_s=0.15,
    first_token_s=0.2,
    chunk_times_s=[0.2, 0.4, 0.6],
    end_s=0.6,
    prompt_tokens=100,
    completion_tokens=3,
    baseline_latency_s=0.05,
)
R2 = sample(
    1,
    sent_s=0.0,
    first_response_s=0.25,
    first_token_s=0.3,
    chunk_times_s=[0.3, 0.5, 0.7, 0.9, 1.1],
    end_s=1.1,
    prompt_tokens=100,
    completion_tokens=5,
    baseline_latency_s=0.05,
)
FAILED = sample(2, sent_s=0.0, end_s=0.1, error="HTTP 500: boom")


def test_per_request_means_of_one_batch() -> None:
    metrics = closed_loop_metrics([R1, R2, FAILED], concurrency=3)
    assert metrics["ttfr"] == pytest.approx(200.0)
    assert metrics["e2e_ttft"] == pytest.approx(250.0)
    assert metrics["est_ppt"] == pytest.approx(150.0)
    assert metrics["pp_req_throughput"] == pytest.approx((1000.0 + 500.0) / 2)  # 100/0.1, 100/0.2
    assert metrics["tg_req_throughput"] == pytest.approx(5.0)  # 2/0.4 and 4/0.8
    assert metrics["peak_req_throughput"] == pytest.approx((3 / 0.4 + 5 / 0.8) / 2)  # short bursts


def test_batch_totals() -> None:
    metrics = closed_loop_metrics([R1, R2, FAILED], concurrency=3)
    assert metrics["pp_throughput"] == pytest.approx(200 / 0.3)  # latest first token at 0.3
    assert metrics["tg_throughput"] == pytest.approx(6 / 0.9)  # 2 + 4 tokens, 0.2 → 1.1
    assert metrics["peak_throughput"] == pytest.approx(8 / 0.9)  # 8 tokens within 0.9 s


def test_concurrency_one_reports_request_speeds_as_totals() -> None:
    metrics = closed_loop_metrics([R1])
    assert metrics["pp_throughput"] == metrics["pp_req_throughput"] == pytest.approx(1000.0)
    assert metrics["tg_throughput"] == metrics["tg_req_throughput"] == pytest.approx(5.0)


def test_est_ppt_never_negative_and_skips_pp_speed() -> None:
    fast = R1.model_copy(update={"baseline_latency_s": 0.5})
    metrics = closed_loop_metrics([fast])
    assert metrics["est_ppt"] == 0.0
    assert metrics["pp_req_throughput"] is None


def test_sliding_window_peak() -> None:
    # windows ending on each token: the 4 tokens in (0.2, 1.2] are the most
    assert peak_tokens_per_s([0.0, 0.5, 0.9, 1.0, 1.2, 2.5]) == 4.0
    assert peak_tokens_per_s([0.0, 0.5]) == pytest.approx(4.0)  # burst shorter than 1 s
    assert peak_tokens_per_s([1.0]) == 1.0


def test_token_timestamps_spread_usage_over_chunks() -> None:
    bundled = sample(0, sent_s=0.0, chunk_times_s=[1.0, 2.0], completion_tokens=5, end_s=2.0)
    assert token_timestamps(bundled) == pytest.approx([1.0, 1.25, 1.5, 1.75, 2.0])
    assert token_timestamps(R1) == [0.2, 0.4, 0.6]  # usage agrees: the chunk times themselves
    no_usage = R1.model_copy(update={"completion_tokens": None})
    assert token_timestamps(no_usage) == [0.2, 0.4, 0.6]


def test_decode_tokens_exclude_ties_with_the_first() -> None:
    assert tokens_after_first([1.0, 1.0, 1.5, 2.0]) == 2
    assert tokens_after_first([1.0]) == 0


def test_prompt_tokens_trust_usage_within_twenty_percent() -> None:
    assert prompt_tokens(R1.model_copy(update={"prompt_tokens": 115}), 100) == 115
    assert prompt_tokens(R1.model_copy(update={"prompt_tokens": 130}), 100) == 100
    assert prompt_tokens(R1.model_copy(update={"prompt_tokens": None}), 100) == 100
    assert prompt_tokens(R1, None) == 100
