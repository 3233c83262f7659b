"""vLLM ``--save-result`` export: key sets against real files, values against hand-worked data."""

import json

import pytest

from arena.common.exports import VllmRunInfo, vllm_save_result
from arena.common.exports.vllm import DETAILED_KEYS
from arena.common.schemas.sample import RequestSample
from tests.prerequisites import SPARK_MISSING, SPARK_RESULTS, requires

RESULT_FILES = sorted(SPARK_RESULTS.glob("*/*/*/07-*.json"))


def sample(index: int, **fields: object) -> RequestSample:
    return RequestSample(benchmark="b", variant="rate1", run=0, index=index, **fields)


# A: TTFT 0.2, 3 tokens, ITLs 0.1, 0.2; B (listed first, index 1): TTFT 0.4, 4 tokens; C failed
SAMPLES = [
    sample(
        1,
        scheduled_s=0.5,
        sent_s=0.5,
        first_response_s=0.8,
        first_token_s=0.9,
        chunk_times_s=[0.9, 1.0, 1.2, 1.3],
        end_s=1.3,
        prompt_tokens=20,
        completion_tokens=4,
    ),
    sample(
        0,
        scheduled_s=0.0,
        sent_s=0.0,
        first_response_s=0.1,
        first_token_s=0.2,
        chunk_times_s=[0.2, 0.3, 0.5],
        end_s=0.5,
        prompt_tokens=10,
        completion_tokens=3,
    ),
    sample(2, scheduled_s=1.0, sent_s=1.25, end_s=1.5, error="HTTP 500: boom"),
]
INFO = VllmRunInfo(
    model_id="org/model", num_prompts=3, request_rate=1.0, burstiness=0.7, date="20260101-000000"
)


@requires(bool(RESULT_FILES), SPARK_MISSING)
def test_keys_and_order_match_real_vllm_files() -> None:
    exported = vllm_save_result(
        SAMPLES,
        INFO,
        percentiles=(50, 90, 95, 99),
        percentile_metrics=("ttft", "tpot", "itl", "e2el"),
        detailed=False,
    )
    for path in RESULT_FILES:
        real = json.loads(path.read_text())
        assert list(exported) == list(real), path
        assert {k: type(v) for k, v in exported.items() if v is not None} == {
            k: type(v) for k, v in real.items() if v is not None and k not in ("request_rate",)
        } | {"request_rate": float}, path


def test_infinite_rate_is_written_as_vllm_writes_it() -> None:
    info = VllmRunInfo(model_id="m", num_prompts=3, request_rate=float("inf"))
    assert vllm_save_result(SAMPLES, info)["request_rate"] == "inf"


def test_detailed_arrays_follow_request_order() -> None:
    exported = vllm_save_result(SAMPLES, INFO)
    keys = list(exported)
    start = keys.index("input_lens")
    assert keys[start - 1] == "total_token_throughput"
    assert keys[start : start + len(DETAILED_KEYS)] == list(DETAILED_KEYS)
    assert exported["latencies"] == pytest.approx([0.5, 0.8, 0.0])
    assert exported["queue_times"] == [0.0, 0.0, 0.0]
    assert exported["input_lens"] == [10, 20, 0]
    assert exported["output_lens"] == [3, 4, 0]
    assert exported["start_times"] == [0.0, 0.5, 1.25]
    assert exported["ttfts"] == pytest.approx([0.2, 0.4, 0.0])
    assert exported["itls"][0] == pytest.approx([0.1, 0.2])
    assert exported["itls"][1] == pytest.approx([0.1, 0.2, 0.1])
    assert exported["itls"][2] == []
    assert exported["generated_texts"] == ["", "", ""]
    assert exported["errors"] == ["", "", "HTTP 500: boom"]
    json.dumps(exported)  # serialisable as is


def test_values_and_vllm_defaults() -> None:
    exported = vllm_save_result(SAMPLES, INFO)
    assert exported["completed"] == 2 and isinstance(exported["completed"], int)
    assert exported["failed"] == 1
    assert exported["duration"] == pytest.approx(1.5)
    assert exported["total_output_tokens"] == 7
    assert exported["request_goodput"] is None  # no SLOs given, as vLLM
    assert exported["median_ttft_ms"] == pytest.approx(300.0)
    assert exported["p99_tpot_ms"] > 0 and "p99_e2el_ms" not in exported  # vLLM's defaults
    assert exported["tokenizer_id"] == "org/model" and exported["rtfx"] == 0.0


def test_no_successful_request_writes_zeros_like_vllm() -> None:
    exported = vllm_save_result([SAMPLES[2]], INFO, detailed=False)
    assert exported["completed"] == 0
    assert exported["mean_ttft_ms"] == 0.0 and exported["p99_itl_ms"] == 0.0
