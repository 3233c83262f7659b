"""Cross-check: the same benchmark through a reference tool and through Arena's generator, on
the real llama.cpp server; prints both sides and their relative deltas.

Closed loop: llama-benchy (the agent's driver, its report's numbers) against the built-in
closed loop (Arena's llama-benchy maths on its own samples). Open loop: ``vllm bench serve``
(its own JSON, and Arena's maths on its ``--save-detailed`` requests) against the built-in
open loop. Needs llama-server (``scripts/build_llama_server.sh``); llama-benchy is installed by
the driver when missing; the vLLM part runs when ``ARENA_VLLM_BENCH`` (default
``~/.cache/arena/venvs/vllm/bin/vllm``) exists. Model: ``ARENA_CROSSCHECK_MODEL`` (a folder with
``model-f32.gguf`` and its ``tokenizer.json``), by default the parity model if built, else the
tiny one.

Usage: ``.venv/bin/python -m bench.crosscheck [--runs N]``
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import aiohttp

from arena.agent.generator.client import Endpoint
from arena.agent.generator.clock import JobClock
from arena.agent.generator.runner import run_benchmark
from arena.agent.generator.tokens import ServerTokenizer
from arena.agent.tools import ToolContext, driver_for
from arena.agent.tools.venvs import vllm_executable
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.metrics.summary import summarize, summarize_closed_loop
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import Benchmark, ClosedLoopBenchmark, OpenLoopBenchmark
from arena.common.suites.variants import closed_variants
from tests.llama import CACHE, MODEL_NAME, TOKENIZER_NAME, llama_server_binary, tiny_gguf
from tests.support import free_port

CLOSED = ClosedLoopBenchmark(id="chat", pp=[512], tg=[64], concurrency=[1, 4])
OPEN = OpenLoopBenchmark(
    id="office",
    input_len=256,
    output_len=64,
    num_prompts=32,
    request_rate=[4.0],
    max_concurrency=8,
    burstiness=1.0,
)
CLOSED_KEYS = (
    "pp_throughput",
    "tg_throughput",
    "tg_req_throughput",
    "peak_throughput",
    "ttfr",
    "est_ppt",
    "e2e_ttft",
)
OPEN_KEYS = (
    "request_throughput",
    "output_throughput",
    "mean_ttft_ms",
    "median_ttft_ms",
    "p99_ttft_ms",
    "mean_tpot_ms",
    "mean_itl_ms",
    "mean_e2el_ms",
)
Table = Mapping[str, Mapping[str, float]]


def model_dir() -> Path:
    configured = os.environ.get("ARENA_CROSSCHECK_MODEL")
    if configured:
        return Path(configured)
    parity = CACHE / "parity-model"
    return parity if (parity / TOKENIZER_NAME).exists() else tiny_gguf(CACHE / "models").parent


@contextmanager
def llama_server(folder: Path) -> Iterator[str]:
    port = free_port()
    command = [
        str(llama_server_binary()),
        "--model",
        str(folder / MODEL_NAME),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--parallel",
        "8",
        "-c",
        "8192",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


async def wait_healthy(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(url + "/health") as reply:
                    if reply.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("llama-server never became healthy")


async def builtin(bench: Benchmark, endpoint: Endpoint, runs: int) -> list[RequestSample]:
    samples: list[RequestSample] = []
    tokenizer = ServerTokenizer(endpoint)
    try:
        await run_benchmark(
            bench,
            endpoint=endpoint,
            runs=runs,
            seed=42,
            clock=JobClock(),
            sink=samples.append,
            tokenizer=tokenizer,
        )
    finally:
        await tokenizer.close()
    return samples


async def through_tool(
    bench: Benchmark, endpoint: Endpoint, runs: int, folder: Path, workdir: Path
) -> tuple[Table, list[RequestSample], str]:
    samples: list[RequestSample] = []
    ctx = ToolContext(
        endpoint=endpoint,
        model_name="tiny",
        runs=runs,
        seed=42,
        tokenizer=str(folder / TOKENIZER_NAME),
        random_weights=True,
        clock=JobClock(),
        workdir=workdir,
        output=lambda line: None,
        sample=samples.append,
        position=lambda benchmark, variant, run: None,
    )
    outcome = await driver_for(bench.tool).run(bench, ctx)
    table = {
        variant: {key: stat["mean"] for key, stat in stats.items()}
        for variant, stats in outcome.metrics.items()
    }
    return table, samples, outcome.command


def closed_table(samples: list[RequestSample], runs: int) -> Table:
    table: dict[str, dict[str, float]] = {}
    for variant in closed_variants(CLOSED):
        per_run = [
            [s for s in samples if s.variant == variant.key and s.run == run] for run in range(runs)
        ]
        stats = summarize_closed_loop(
            per_run, concurrency=variant.concurrency, expected_prompt_tokens=variant.pp
        )
        table[variant.key] = {key: stat.mean for key, stat in stats.items()}
    return table


def open_table(samples: list[RequestSample], runs: int) -> Table:
    by_run = [[s for s in samples if s.run == run] for run in range(runs)]
    stats = summarize([open_loop_metrics(run, OPEN.percentiles) for run in by_run if run])
    return {"rate4": {key: stat.mean for key, stat in stats.items()}}


def delta(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None:
        return "n/a"
    return f"{(ours - theirs) / theirs:+.1%}" if theirs else "n/a"


def print_table(title: str, keys: tuple[str, ...], columns: dict[str, Table]) -> None:
    names = list(columns)
    reference = columns[names[0]]
    print(f"\n{title}")
    print(
        f"{'variant':<18} {'metric':<20}"
        + "".join(f"{n:>24}" for n in names)
        + "".join(f"{'Δ ' + n:>26}" for n in names[1:])
    )
    for variant in reference:
        for key in keys:
            values = [columns[n].get(variant, {}).get(key) for n in names]
            cells = "".join(f"{v:>24,.2f}" if v is not None else f"{'—':>24}" for v in values)
            deltas = "".join(f"{delta(v, values[0]):>26}" for v in values[1:])
            print(f"{variant:<18} {key:<20}{cells}{deltas}")


async def main(runs: int) -> None:
    folder = model_dir()
    print(f"model: {folder / MODEL_NAME} · runs: {runs} · seed 42")
    with llama_server(folder) as url, tempfile.TemporaryDirectory() as workdir:
        await wait_healthy(url)
        endpoint = Endpoint(url, "tiny")
        tool_closed = CLOSED.model_copy(update={"tool": "llama-benchy"})
        benchy, _, command = await through_tool(tool_closed, endpoint, runs, folder, Path(workdir))
        ours = closed_table(await builtin(CLOSED, endpoint, runs), runs)
        print(f"llama-benchy: {command}")
        print_table(
            "closed loop (Δ = Arena vs llama-benchy)",
            CLOSED_KEYS,
            {"llama-benchy": benchy, "arena": ours},
        )
        if vllm_executable() is None:
            print("\n[skip] open loop: no vLLM venv (set ARENA_VLLM_BENCH)", file=sys.stderr)
            return
        tool_open = OPEN.model_copy(update={"tool": "vllm-bench"})
        vllm, detailed, command = await through_tool(
            tool_open, endpoint, runs, folder, Path(workdir)
        )
        ours = open_table(await builtin(OPEN, endpoint, runs), runs)
        print(f"\nvllm bench serve (per run): {command.splitlines()[0]}")
        print_table(
            "open loop (Δ = vs vllm bench serve's own numbers)",
            OPEN_KEYS,
            {"vllm": vllm, "arena-on-vllm-requests": open_table(detailed, runs), "arena": ours},
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args().runs))
