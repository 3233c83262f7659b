"""llama-benchy JSON export: its schema's keys (llama-benchy 0.4.0 ``results.py``) and values."""

import json

import pytest

from arena.common.exports import BenchyVariant, llama_benchy_json
from arena.common.schemas.sample import RequestSample

TOP_KEYS = [
    "version",
    "timestamp",
    "latency_mode",
    "latency_ms",
    "model",
    "prefix_caching_enabled",
    "max_concurrency",
    "benchmarks",
]
BENCHMARK_KEYS = [
    "concurrency",
    "context_size",
    "prompt_size",
    "response_size",
    "is_context_prefill_phase",
    "pp_throughput",
    "pp_req_throughput",
    "tg_throughput",
    "tg_req_throughput",
    "peak_throughput",
    "peak_req_throughput",
    "ttfr",
    "est_ppt",
    "e2e_ttft",
    "output_throughput",  # Arena's wall-clock rate, after llama-benchy's own keys
    "throughput_over_time",
    "requests_throughput_over_time",
]


def sample(run: int, index: int, **fields: object) -> RequestSample:
    return RequestSample(benchmark="b", variant="v", run=run, index=index, **fields)


# c = 1, two runs, baseline 50 ms: run 0 ttfr 150 ms, tokens 0.2/0.4/0.6 (tg 2/0.4 = 5 t/s);
# run 1 ttfr 250 ms, tokens 0.3/0.5/0.7/0.9/1.1 (tg 4/0.8 = 5 t/s); prompt 100 tokens each
RUN0 = [
    sample(
        0,
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
]
RUN1 = [
    sample(
        1,
        0,
        sent_s=0.0,
        first_response_s=0.25,
        first_token_s=0.3,
        chunk_times_s=[0.3, 0.5, 0.7, 0.9, 1.1],
        end_s=1.1,
        prompt_tokens=100,
        completion_tokens=5,
        baseline_latency_s=0.05,
    )
]


def export(concurrency: int = 1) -> dict[str, object]:
    variant = BenchyVariant(
        prompt_size=100,
        response_size=5,
        context_size=0,
        concurrency=concurrency,
        runs=[RUN0, RUN1],
        expected_prompt_tokens=100,
    )
    return llama_benchy_json(
        [variant],
        model="m",
        latency_mode="generation",
        latency_ms=50.0,
        timestamp="2026-01-01 00:00:00Z",
    )


def test_keys_are_llama_benchys() -> None:
    exported = export()
    assert list(exported) == TOP_KEYS
    benchmarks = exported["benchmarks"]
    assert isinstance(benchmarks, list) and list(benchmarks[0]) == BENCHMARK_KEYS
    for key in BENCHMARK_KEYS[5:14]:
        assert set(benchmarks[0][key]) == {"mean", "std", "values"}, key
    json.dumps(exported)


def test_values_hand_checked() -> None:
    bench = export()["benchmarks"][0]  # type: ignore[index]
    assert bench["ttfr"]["values"] == pytest.approx([150.0, 250.0])
    assert bench["ttfr"]["mean"] == pytest.approx(200.0) and bench["ttfr"]["std"] == 50.0
    assert bench["est_ppt"]["values"] == pytest.approx([100.0, 200.0])
    assert bench["pp_req_throughput"]["values"] == pytest.approx([1000.0, 500.0])
    assert bench["pp_throughput"] == bench["pp_req_throughput"]  # c = 1: total = per request
    assert bench["tg_throughput"]["values"] == pytest.approx([5.0, 5.0])
    assert bench["e2e_ttft"]["values"] == pytest.approx([200.0, 300.0])


def test_batch_metrics_have_one_value_per_run_when_concurrent() -> None:
    bench = export(concurrency=2)["benchmarks"][0]  # type: ignore[index]
    assert len(bench["pp_throughput"]["values"]) == 2
    assert len(bench["ttfr"]["values"]) == 2  # pooled per request
