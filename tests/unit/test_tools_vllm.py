"""vllm bench serve driver: the reference argv, and a real ``--save-detailed`` file (made once
with vLLM 0.33 against llama-server) turned into samples on the job clock."""

import math
from pathlib import Path

import pytest

from arena.agent.generator.client import Endpoint
from arena.agent.generator.clock import JobClock
from arena.agent.tools.base import ToolContext, ToolError, command_line
from arena.agent.tools.vllm_bench import Placement, on_job_clock, vllm_argv
from arena.common.parsers.vllm_result import parse_result, request_samples
from arena.common.schemas.suite import OpenLoopBenchmark
from arena.common.suites.variants import open_variants

DATA = Path(__file__).resolve().parent.parent / "data" / "vllm-bench-detailed.json"
REFERENCE_FLAGS = (
    "--backend openai-chat --base-url http://localhost:8000 --endpoint /v1/chat/completions "
    "--model google/gemma-4-26B-A4B-it --tokenizer /models/tok --served-model-name gemma "
    "--percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,95,99 --seed 42 "
    "--save-result --save-detailed --result-dir /work "
)


def context(
    tokenizer: str | None = "/models/tok/tokenizer.json", key: str | None = None
) -> ToolContext:
    return ToolContext(
        endpoint=Endpoint("http://localhost:8000", "gemma", key),
        model_name="google/gemma-4-26B-A4B-it",
        runs=3,
        seed=42,
        tokenizer=tokenizer,
        random_weights=False,
        clock=JobClock(),
        workdir=Path("/work"),
        output=lambda line: None,
        sample=lambda sample: None,
        position=lambda benchmark, variant, run: None,
    )


VENV = Placement(["vllm"], "http://localhost:8000", "/work")


def test_random_dataset_argv_is_the_reference_command() -> None:
    bench = OpenLoopBenchmark(
        id="07-office-baseline",
        input_len=4000,
        output_len=500,
        range_ratio=0.9,
        num_prompts=200,
        request_rate=[0.3],
        burstiness=0.7,
        tool="vllm-bench",
    )
    [variant] = open_variants(bench)
    argv = vllm_argv(VENV, bench, variant, context(), "07.json")
    assert command_line(argv) == (
        "vllm bench serve " + REFERENCE_FLAGS + "--dataset-name random --random-input-len 4000 "
        "--random-output-len 500 --random-range-ratio 0.9 --num-prompts 200 --request-rate 0.3 "
        "--burstiness 0.7 --result-filename 07.json"
    )


def test_sharegpt_sweep_concurrency_and_goodput() -> None:
    bench = OpenLoopBenchmark(
        id="sweep",
        dataset="sharegpt",
        dataset_path="/data/sg.json",
        num_prompts=10,
        request_rate=[1, math.inf],
        max_concurrency=8,
        goodput_slo_ms={"ttft": 2000},
        tool="vllm-bench",
    )
    fast = open_variants(bench)[1]
    argv = vllm_argv(VENV, bench, fast, context(), "f.json")
    line = command_line(argv)
    assert "--dataset-name sharegpt --dataset-path /data/sg.json" in line
    assert "--request-rate inf" in line and "--max-concurrency 8" in line
    assert "--goodput ttft:2000" in line
    missing = bench.model_copy(update={"dataset_path": None})
    with pytest.raises(ToolError, match="ShareGPT"):
        vllm_argv(VENV, missing, fast, context(), "f.json")


def test_in_the_engine_container_the_model_names_the_tokenizer() -> None:
    bench = OpenLoopBenchmark(id="o", input_len=8, output_len=8, num_prompts=2, request_rate=[1])
    inside = Placement(["docker", "exec", "c1", "vllm"], "http://localhost:8000", "/tmp", "c1")
    argv = vllm_argv(inside, bench, open_variants(bench)[0], context(), "o.json")
    assert argv[:6] == ["docker", "exec", "c1", "vllm", "bench", "serve"]
    assert argv[argv.index("--tokenizer") + 1] == "google/gemma-4-26B-A4B-it"


def test_the_endpoint_key_never_appears_in_the_stored_command() -> None:
    bench = OpenLoopBenchmark(id="o", input_len=8, output_len=8, num_prompts=2, request_rate=[1])
    argv = vllm_argv(VENV, bench, open_variants(bench)[0], context(key="sk-secret"), "o.json")
    assert "sk-secret" not in command_line([*argv, "sk-secret"], "sk-secret")


def test_detailed_output_becomes_samples_on_the_job_clock() -> None:
    result = parse_result(DATA.read_text())
    samples = request_samples(result, "office", "rate10", run=1)
    assert len(samples) == result.metrics["completed"] == 6
    assert result.detailed is not None
    first_start = min(result.detailed["start_times"])
    clock = JobClock(origin=first_start - 5.0)
    moved = on_job_clock(result, samples, clock.origin)
    assert min(s.sent_s for s in moved) == pytest.approx(5.0)
    for before, after in zip(samples, moved, strict=True):
        assert after.end_s is not None and before.end_s is not None
        assert after.end_s - after.sent_s == pytest.approx(before.end_s - before.sent_s)
        assert after.chunk_times_s[0] == after.first_token_s
        assert (after.variant, after.run) == ("rate10", 1)
    assert sum(s.completion_tokens or 0 for s in moved) == result.metrics["total_output_tokens"]
