import math

import pytest

from arena.common.metrics.catalogue import HEADLINE
from arena.common.metrics.closed_loop import closed_loop_metrics
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.metrics.summary import summarize, summarize_closed_loop
from arena.common.schemas.sample import RequestSample


def request(run: int, index: int, ttfr_s: float, latency_s: float = 0.0) -> RequestSample:
    return RequestSample(
        benchmark="b",
        variant="v",
        run=run,
        index=index,
        sent_s=0.0,
        first_response_s=ttfr_s,
        first_token_s=ttfr_s,
        chunk_times_s=[ttfr_s, ttfr_s + 0.1],
        end_s=ttfr_s + 0.1,
        prompt_tokens=100,
        completion_tokens=2,
        baseline_latency_s=latency_s,
    )


def test_summarize_skips_missing_values() -> None:
    summary = summarize([{"a": 1.0, "b": None}, {"a": 3.0, "b": 2.0}])
    assert (summary["a"].mean, summary["a"].std, summary["a"].n) == (2.0, 1.0, 2)
    assert (summary["b"].mean, summary["b"].n) == (2.0, 1)


def test_closed_loop_pools_requests_across_runs() -> None:
    runs = [
        [request(0, 0, 0.1), request(0, 1, 0.2)],
        [request(1, 0, 0.3), request(1, 1, 0.4)],
    ]
    summary = summarize_closed_loop(runs, concurrency=2)
    # pooled 100, 200, 300, 400 ms: std sqrt((150² + 50² + 50² + 150²) / 4), not the run means' 100
    assert summary["ttfr"].mean == pytest.approx(250.0)
    assert summary["ttfr"].std == pytest.approx(math.sqrt(12500.0))
    assert summary["ttfr"].n == 4
    assert summary["pp_throughput"].n == 2  # one batch value per run


def test_ttfr_minus_est_ppt_is_the_latency_as_in_a_real_table() -> None:
    # 01-chat.md, pp1024 (c5): ttfr 132.57 ± 48.13, est_ppt 88.01 ± 48.13 → latency 44.56 ms;
    # the same std on both is only possible when every ttfr exceeds the latency
    latency_s = (132.57 - 88.01) / 1000
    runs = [
        [request(r, i, 0.06 + 0.03 * i + 0.01 * r, latency_s) for i in range(5)] for r in range(3)
    ]
    summary = summarize_closed_loop(runs, concurrency=5)
    assert summary["ttfr"].mean - summary["est_ppt"].mean == pytest.approx(44.56)
    assert summary["ttfr"].std == pytest.approx(summary["est_ppt"].std)


def test_headline_keys_exist_in_the_metrics() -> None:
    batch = [request(0, 0, 0.1), request(0, 1, 0.2)]
    assert {h.key for h in HEADLINE["closed_loop"]} <= set(closed_loop_metrics(batch))
    assert {h.key for h in HEADLINE["open_loop"]} <= set(open_loop_metrics(batch))
