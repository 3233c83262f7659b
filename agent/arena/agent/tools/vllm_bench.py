"""``vllm bench serve`` with the reference flags, once per request rate and run.

It runs from a configured venv (``ARENA_VLLM_BENCH``), or, when there is none and the engine
runs in a Docker container, inside that container with ``docker exec`` as the reference did
(the engine's image carries the matching vLLM). Each run's ``--save-detailed`` arrays become
samples on the job's clock: vLLM times requests with ``perf_counter``, the same system-wide
monotonic clock as the agent's, so its start times map onto the job clock by one subtraction.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from arena.agent.tools.base import (
    ToolContext,
    ToolError,
    ToolOutcome,
    command_line,
    metric_stats,
    run_tool,
)
from arena.agent.tools.venvs import vllm_executable
from arena.common.metrics.summary import summarize
from arena.common.parsers import ParseError
from arena.common.parsers.vllm_result import VllmResult, parse_result, request_samples
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import Benchmark, OpenLoopBenchmark
from arena.common.suites.variants import OpenVariant, format_rate, open_variants

CONTAINER_RESULT_DIR = "/tmp"


@dataclass(frozen=True)
class Placement:
    """Where the tool runs: the argv prefix up to ``bench serve``, and the server as it sees it."""

    prefix: list[str]
    base_url: str
    result_dir: str
    in_container: str | None = None


def placement(ctx: ToolContext) -> Placement:
    executable = vllm_executable()
    if executable is not None:
        return Placement([str(executable)], ctx.endpoint.base_url, str(ctx.workdir))
    if ctx.container is not None and ctx.container_port is not None:
        prefix = ["docker", "exec", "-e", "PYTHONUNBUFFERED=1", ctx.container, "vllm"]
        return Placement(
            prefix,
            f"http://localhost:{ctx.container_port}",
            CONTAINER_RESULT_DIR,
            ctx.container,
        )
    raise ToolError(
        "vllm bench serve: no vLLM venv (set ARENA_VLLM_BENCH to its vllm executable) "
        "and the engine does not run in a container"
    )


def vllm_argv(
    where: Placement,
    bench: OpenLoopBenchmark,
    variant: OpenVariant,
    ctx: ToolContext,
    result_filename: str,
) -> list[str]:
    tokenizer = local_tokenizer_folder(ctx.tokenizer) if where.in_container is None else None
    argv = [
        *where.prefix,
        "bench",
        "serve",
        "--backend",
        "openai-chat",
        "--base-url",
        where.base_url,
        "--endpoint",
        "/v1/chat/completions",
        "--model",
        ctx.model_name,
        "--tokenizer",
        tokenizer or ctx.model_name,
        "--served-model-name",
        ctx.endpoint.model,
        "--percentile-metrics",
        "ttft,tpot,itl,e2el",
        "--metric-percentiles",
        ",".join(f"{p:g}" for p in bench.percentiles),
        "--seed",
        str(ctx.seed),
        "--save-result",
        "--save-detailed",
        "--result-dir",
        where.result_dir,
        *_dataset(bench),
        "--num-prompts",
        str(variant.num_prompts),
        "--request-rate",
        format_rate(variant.rate),
        "--burstiness",
        f"{bench.burstiness:g}",
    ]
    if bench.max_concurrency is not None:
        argv += ["--max-concurrency", str(bench.max_concurrency)]
    if bench.goodput_slo_ms:
        argv += ["--goodput", *(f"{k}:{v:g}" for k, v in bench.goodput_slo_ms.items())]
    if bench.ignore_eos:
        argv.append("--ignore-eos")
    return [*argv, "--result-filename", result_filename]


def local_tokenizer_folder(tokenizer: str | None) -> str | None:
    """vLLM loads tokenizers through transformers, which wants the folder, not tokenizer.json."""
    if tokenizer is None:
        return None
    path = Path(tokenizer)
    return str(path.parent) if path.name.endswith(".json") else tokenizer


def _dataset(bench: OpenLoopBenchmark) -> list[str]:
    if bench.dataset == "sharegpt":
        if bench.dataset_path is None:
            raise ToolError(f"{bench.id}: vllm bench serve needs the ShareGPT file (dataset_path)")
        argv = ["--dataset-name", "sharegpt", "--dataset-path", bench.dataset_path]
        if bench.output_len is not None:
            argv += ["--sharegpt-output-len", str(bench.output_len)]
        return argv
    argv = [
        "--dataset-name",
        "random",
        "--random-input-len",
        str(bench.input_len),
        "--random-output-len",
        str(bench.output_len),
        "--random-range-ratio",
        f"{bench.range_ratio:g}",
    ]
    if bench.prefix_len:
        argv += ["--random-prefix-len", str(bench.prefix_len)]
    return argv


def on_job_clock(
    result: VllmResult, samples: Sequence[RequestSample], clock_origin: float
) -> list[RequestSample]:
    """Samples relative to the first request moved onto the job clock (both perf_counter)."""
    arrays = result.detailed
    if not arrays or not samples:
        return list(samples)
    shift = min(float(t) for t in arrays["start_times"]) - clock_origin

    def moved(t: float | None) -> float | None:
        return None if t is None else t + shift

    return [
        s.model_copy(
            update={
                "sent_s": s.sent_s + shift,
                "first_response_s": moved(s.first_response_s),
                "first_token_s": moved(s.first_token_s),
                "end_s": moved(s.end_s),
                "chunk_times_s": [t + shift for t in s.chunk_times_s],
            }
        )
        for s in samples
    ]


class VllmBenchDriver:
    name = "vllm-bench"

    async def run(self, bench: Benchmark, ctx: ToolContext) -> ToolOutcome:
        if not isinstance(bench, OpenLoopBenchmark):
            raise ToolError(f"{bench.id}: vllm bench serve runs open-loop benchmarks only")
        where = placement(ctx)
        outcome = ToolOutcome(self.name)
        for variant in open_variants(bench):
            per_run: list[dict[str, float | None]] = []
            for run in range(ctx.runs):
                ctx.position(bench.id, variant.key, run)
                filename = f"{bench.id}-{variant.key}-run{run}.json"
                argv = vllm_argv(where, bench, variant, ctx, filename)
                command = command_line(argv, ctx.endpoint.api_key)
                ctx.output(f"$ {command}")
                env = {"OPENAI_API_KEY": ctx.endpoint.api_key} if ctx.endpoint.api_key else {}
                code = await run_tool(argv, ctx.output, cwd=ctx.workdir, env=env)
                if code != 0:
                    raise ToolError(f"vllm bench serve exited with code {code} on {bench.id}")
                text = await _result_text(where, filename)
                try:
                    result = parse_result(text)
                except ParseError as error:
                    raise ToolError(f"vllm result of {bench.id} {variant.key}: {error}") from error
                samples = request_samples(result, bench.id, variant.key, run)
                for sample in on_job_clock(result, samples, ctx.clock.origin):
                    ctx.sample(sample)
                outcome.commands.append(command)
                outcome.outputs.append(text)
                per_run.append(dict(result.metrics))
            outcome.metrics[variant.key] = metric_stats(summarize(per_run))
        return outcome


async def _result_text(where: Placement, filename: str) -> str:
    path = f"{where.result_dir}/{filename}"
    if where.in_container is None:
        try:
            return await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
        except OSError as error:
            raise ToolError(f"vllm bench serve wrote no result file: {error}") from error
    lines: list[str] = []
    code = await run_tool(["docker", "exec", where.in_container, "cat", path], lines.append)
    if code != 0:
        raise ToolError(f"vllm bench serve wrote no result file in the container: {path}")
    return "\n".join(lines)
