"""vLLM ``--save-result`` JSON → Arena's open-loop metrics, and detailed arrays → samples."""

import json
import math

import pytest

from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.parsers import ParseError
from arena.common.parsers.vllm_result import parse_result, request_samples

BASE = {
    "date": "20260101-000000",
    "request_rate": 0.5,
    "burstiness": 0.7,
    "max_concurrency": None,
    "num_prompts": 3,
    "completed": 2,
    "failed": 1,
    "duration": 4.0,
    "request_goodput": None,
    "mean_ttft_ms": 150.0,
    "p99.9_ttft_ms": 199.0,
    "rtfx": 0.0,
}


def test_metrics_keep_vllm_keys_and_drop_nulls_and_settings() -> None:
    result = parse_result(json.dumps(BASE))
    assert result.metrics == {
        "completed": 2.0,
        "failed": 1.0,
        "duration": 4.0,
        "mean_ttft_ms": 150.0,
        "p99.9_ttft_ms": 199.0,
    }
    assert (result.request_rate, result.burstiness, result.max_concurrency) == (0.5, 0.7, None)
    assert result.detailed is None and request_samples(result, "b", "rate0.5") == []


def test_infinite_rate_is_understood() -> None:
    assert math.isinf(parse_result(json.dumps(BASE | {"request_rate": "inf"})).request_rate)


def test_detailed_arrays_become_samples_that_reproduce_the_metrics() -> None:
    detailed = {
        "start_times": [100.0, 100.5, 101.0],
        "ttfts": [0.1, 0.2, 0.0],
        "itls": [[0.05, 0.05], [0.1], []],
        "input_lens": [10, 20, 30],
        "output_lens": [3, 2, 0],
        "errors": ["", "", "HTTP 500: boom"],
    }
    result = parse_result(json.dumps(BASE | detailed))
    samples = request_samples(result, "07-office", "rate0.5")
    assert [s.sent_s for s in samples] == [0.0, 0.5, 1.0]
    assert samples[0].chunk_times_s == pytest.approx([0.1, 0.15, 0.2])
    assert samples[0].end_s == pytest.approx(0.2) and samples[0].completion_tokens == 3
    assert samples[2].error == "HTTP 500: boom" and not samples[2].ok
    metrics = open_loop_metrics(samples)
    assert metrics["completed"] == 2 and metrics["failed"] == 1
    assert metrics["mean_ttft_ms"] == pytest.approx(150.0)
    assert metrics["mean_tpot_ms"] == pytest.approx((50.0 + 100.0) / 2)


def test_incomplete_detailed_arrays_are_an_error() -> None:
    with pytest.raises(ParseError, match="itls"):
        parse_result(json.dumps(BASE | {"start_times": [1.0], "ttfts": [0.1]}))


def test_truncated_json_is_an_error() -> None:
    with pytest.raises(ParseError, match="not valid JSON"):
        parse_result(json.dumps(BASE)[:40])


def test_speculative_decoding_counters_are_kept() -> None:
    counters = {
        "spec_decode_acceptance_rate": 62.5,
        "spec_decode_acceptance_length": 2.875,
        "spec_decode_num_drafts": 1200,
        "spec_decode_draft_tokens": 3600,
        "spec_decode_accepted_tokens": 2250,
    }
    result = parse_result(json.dumps(BASE | counters))
    assert {key: result.metrics[key] for key in counters} == counters
