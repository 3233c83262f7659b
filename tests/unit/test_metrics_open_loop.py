"""Hand-computed checks of vLLM's open-loop definitions (numbers worked out in the comments)."""

import pytest

from arena.common.metrics.client_load import RunClientFigures
from arena.common.metrics.open_loop import open_loop_metrics, percentile_key
from arena.common.schemas.sample import RequestSample

# Metric keys of a real `vllm bench serve --save-result` file (fixtures: 07-office-baseline.json)
VLLM_RESULT_KEYS = [
    "completed",
    "failed",
    "duration",
    "total_input_tokens",
    "total_output_tokens",
    "request_throughput",
    "request_goodput",
    "output_throughput",
    "total_token_throughput",
    "max_output_tokens_per_s",
    "max_concurrent_requests",
] + [
    f"{stat}_{metric}_ms"
    for metric in ("ttft", "tpot", "itl", "e2el")
    for stat in ("mean", "median", "std", "p50", "p90", "p95", "p99")
]


def sample(index: int, **fields: object) -> RequestSample:
    return RequestSample(benchmark="b", variant="rate1", run=0, index=index, **fields)


# A: TTFT 0.2, E2EL 0.5, 3 tokens → TPOT 0.15, ITLs 0.1, 0.2
# B: TTFT 0.4, E2EL 0.8, 4 tokens → TPOT 0.4/3, ITLs 0.1, 0.2, 0.1
# C: failed after waiting 0.2 s for the concurrency gate, sent 0.05 s after passing it
SAMPLES = [
    sample(
        0,
        scheduled_s=0.0,
        queued_s=0.0,
        sent_s=0.0,
        first_response_s=0.1,
        first_token_s=0.2,
        chunk_times_s=[0.2, 0.3, 0.5],
        end_s=0.5,
        prompt_tokens=10,
        completion_tokens=3,
    ),
    sample(
        1,
        scheduled_s=0.5,
        queued_s=0.5,
        sent_s=0.5,
        first_response_s=0.8,
        first_token_s=0.9,
        chunk_times_s=[0.9, 1.0, 1.2, 1.3],
        end_s=1.3,
        prompt_tokens=20,
        completion_tokens=4,
    ),
    sample(2, scheduled_s=1.0, queued_s=1.2, sent_s=1.25, end_s=1.5, error="HTTP 500: boom"),
]


@pytest.fixture(scope="module")
def metrics() -> dict[str, float | None]:
    return open_loop_metrics(
        SAMPLES, percentiles=[50, 99], goodput_slo_ms={"tpot": 140, "ttft": 500}
    )


def test_counts_duration_and_throughputs(metrics: dict[str, float | None]) -> None:
    assert metrics["completed"] == 2
    assert metrics["failed"] == 1
    assert metrics["duration"] == pytest.approx(1.5)  # first dispatch 0.0 → last completion 1.5
    assert metrics["total_input_tokens"] == 30
    assert metrics["total_output_tokens"] == 7
    assert metrics["request_throughput"] == pytest.approx(2 / 1.5)
    assert metrics["output_throughput"] == pytest.approx(7 / 1.5)
    assert metrics["total_token_throughput"] == pytest.approx(37 / 1.5)


def test_goodput_needs_every_slo(metrics: dict[str, float | None]) -> None:
    # A misses TPOT (150 > 140 ms); B meets both (133 ms, 400 ms)
    assert metrics["request_goodput"] == pytest.approx(1 / 1.5)
    assert open_loop_metrics(SAMPLES)["request_goodput"] is None


def test_latency_distributions(metrics: dict[str, float | None]) -> None:
    assert metrics["mean_ttft_ms"] == pytest.approx(300.0)
    assert metrics["std_ttft_ms"] == pytest.approx(100.0)
    assert metrics["p99_ttft_ms"] == pytest.approx(398.0)
    assert metrics["mean_tpot_ms"] == pytest.approx((150.0 + 400.0 / 3) / 2)
    assert metrics["mean_itl_ms"] == pytest.approx(140.0)  # pooled 100, 200, 100, 200, 100
    assert metrics["median_itl_ms"] == pytest.approx(100.0)
    assert metrics["mean_e2el_ms"] == pytest.approx(650.0)
    assert metrics["p50_e2el_ms"] == metrics["median_e2el_ms"]


def test_peaks(metrics: dict[str, float | None]) -> None:
    # second 0 holds A's 3 chunks and B's first; second 1 holds B's other 3
    assert metrics["max_output_tokens_per_s"] == 4.0
    # vLLM 0.33 counts requests per 1 s bucket: A (0–0.5 s) and B (0.5–1.3 s) share second 0
    assert metrics["max_concurrent_requests"] == 2.0


def test_client_side_extras(metrics: dict[str, float | None]) -> None:
    assert metrics["mean_client_queue_ms"] == pytest.approx(200.0 / 3)
    assert metrics["p99_client_queue_ms"] == pytest.approx(196.0)
    assert metrics["p50_send_lag_ms"] == pytest.approx(0.0)
    assert metrics["p99_send_lag_ms"] == pytest.approx(49.0)
    assert metrics["mean_user_output_tokens_per_s"] == pytest.approx((1 / 0.15 + 7.5) / 2)


def test_single_token_outputs_have_no_tpot_and_chunks_stand_in_for_usage() -> None:
    one = sample(0, sent_s=0.0, first_token_s=0.1, chunk_times_s=[0.1], end_s=0.1)
    two = sample(1, sent_s=0.0, first_token_s=0.1, chunk_times_s=[0.1, 0.3], end_s=0.3)
    metrics = open_loop_metrics([one, two], percentiles=[50])
    assert metrics["total_output_tokens"] == 3
    assert metrics["mean_tpot_ms"] == pytest.approx(200.0)  # only the 2-token request


def test_a_run_without_successes_has_no_latency_numbers() -> None:
    metrics = open_loop_metrics([sample(0, sent_s=0.0, end_s=0.2, error="reset")])
    assert metrics["completed"] == 0 and metrics["failed"] == 1
    assert metrics["mean_ttft_ms"] is None and metrics["max_output_tokens_per_s"] is None


def test_e2el_ends_at_the_last_output_chunk_not_the_stream_end() -> None:
    # usage and [DONE] arrive 0.2 s after the last token: vLLM 0.33's latency ignores them
    late_end = sample(0, sent_s=0.0, first_token_s=0.1, chunk_times_s=[0.1, 0.3], end_s=0.5)
    metrics = open_loop_metrics([late_end], percentiles=[50])
    assert metrics["mean_e2el_ms"] == pytest.approx(300.0)
    assert metrics["mean_tpot_ms"] == pytest.approx(200.0)
    assert metrics["duration"] == pytest.approx(0.5)  # the run lasts until the stream closed


def test_concurrency_buckets_are_whole_seconds_from_the_first_send() -> None:
    spans = [(0.0, 0.4), (0.5, 0.9), (1.5, 1.6), (1.7, 2.3)]
    samples = [
        sample(i, sent_s=a, first_token_s=b, chunk_times_s=[b], end_s=b)
        for i, (a, b) in enumerate(spans)
    ]
    # never two at once, but seconds 0 and 1 each see two requests (a sweep line would say 1)
    assert open_loop_metrics(samples)["max_concurrent_requests"] == 2.0


def test_client_saturation_flag() -> None:
    late = sample(
        0, scheduled_s=0.0, sent_s=0.002, first_token_s=0.1, chunk_times_s=[0.1], end_s=0.1
    )
    on_time = late.model_copy(update={"sent_s": 0.0005})
    assert open_loop_metrics([late])["client_saturated"] == 1.0  # 2 ms lag > 1 ms
    assert open_loop_metrics([on_time])["client_saturated"] == 0.0
    busy = open_loop_metrics([on_time], client=RunClientFigures(cpu_util=0.95))
    assert busy["client_saturated"] == 1.0 and busy["client_cpu_util"] == 0.95
    stalled = open_loop_metrics([on_time], client=RunClientFigures(loop_lag_p99_ms=1.5))
    assert stalled["client_saturated"] == 1.0 and stalled["loop_lag_p99_ms"] == 1.5
    quiet = open_loop_metrics([on_time], client=RunClientFigures(0.2, 0.3, 4.0, 0.1, 12.0))
    assert quiet["client_saturated"] == 0.0  # a single long stall is not a p99
    assert quiet["client_headroom_used_pct"] == 12.0
    stalls = [on_time.model_copy(update={"index": i, "read_stall_s": i / 1000}) for i in range(5)]
    assert open_loop_metrics(stalls)["read_stall_p99_ms"] == pytest.approx(3.96)


def test_percentile_keys_follow_vllm() -> None:
    assert percentile_key(99, "ttft") == "p99_ttft_ms"
    assert percentile_key(99.9, "itl") == "p99.9_itl_ms"


def test_keys_match_a_real_vllm_result() -> None:
    ours = open_loop_metrics(SAMPLES, percentiles=[50, 90, 95, 99])
    assert set(VLLM_RESULT_KEYS) <= set(ours)
