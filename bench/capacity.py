"""Client capacity: sustained requests/s and streamed chunks/s per client CPU core.

Every client streams from ``bench.instant_server`` (pre-rendered SSE: a role chunk, 16 content
chunks, usage, ``[DONE]``), so the client is the bottleneck. Each tool runs twice, with a small
and a large request count, as a separate process; the *difference* between the two runs
removes start-up costs (imports, tokenizer loading, dataset building) and leaves the marginal
cost of requests: requests per client CPU-second = ΔN / ΔCPU (the client's user + system time,
children included), and sustained requests/s = ΔN / Δwall. One unmeasured small run of each
client goes first, so that no measured run pays for a cold page cache (vLLM's imports alone take
seconds). The clients then take turns for ``--repeats`` rounds: this machine's speed drifts by
2× over minutes, so each ratio is taken within a round and the median over rounds is printed.

- Arena: ``python -m bench.ours`` (rate inf, max concurrency 64), 1 worker and ``--workers``.
- vLLM: ``vllm bench serve`` (random dataset, 8 in / 16 out, ignore_eos, rate inf, max
  concurrency 64).
- llama-benchy: batches of 64 (``--concurrency 64 --pp 8 --tg 16``, latency mode none, no
  warm-up), the request count set by ``--runs``.

Usage: ``python -m bench.capacity [--small 1000] [--large 16000] [--workers 2] [--repeats 3]``
"""

import argparse
import json
import math
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from arena.common import stats
from bench.common import (
    BENCHY_VENV,
    TOKENIZER_DIR,
    VLLM_VENV,
    Measured,
    instant_server,
    run_measured,
    seed_benchy_corpus,
    tool,
)

CHUNKS = 16
CONCURRENCY = 64
Counts = tuple[int, int]
Run = Callable[[int], tuple[int, Measured]]
"""Runs the client for N requests; returns the requests it made and what it cost."""


@dataclass(frozen=True)
class Capacity:
    requests: int
    """ΔN: requests in the large run minus the small one."""
    wall_s: float
    cpu_s: float

    @property
    def per_cpu_s(self) -> float:
        return self.requests / self.cpu_s if self.cpu_s > 0 else math.nan

    @property
    def per_wall_s(self) -> float:
        return self.requests / self.wall_s if self.wall_s > 0 else math.nan


def difference(name: str, run: Run, counts: Counts) -> Capacity:
    small, large = run(counts[0]), run(counts[1])
    for count, measured in (small, large):
        if measured.returncode != 0:
            print(f"[fail] {name} ({count} requests):\n{measured.output[-3000:]}", file=sys.stderr)
            raise SystemExit(1)
    return Capacity(
        large[0] - small[0],
        large[1].wall_s - small[1].wall_s,
        large[1].cpu_s - small[1].cpu_s,
    )


def ours(url: str, workers: int) -> Run:
    def run(n: int) -> tuple[int, Measured]:
        command = [
            sys.executable,
            "-m",
            "bench.ours",
            "--base-url",
            url,
            "--num-prompts",
            str(n),
            "--max-concurrency",
            str(CONCURRENCY),
            "--max-tokens",
            str(CHUNKS),
            "--workers",
            str(workers),
        ]
        return n, run_measured(command)

    return run


def vllm(url: str, out: Path) -> Run | None:
    executable = tool(VLLM_VENV, "vllm")
    if executable is None:
        return None

    def run(n: int) -> tuple[int, Measured]:
        command: list[str | Path]
        command = [
            executable,
            "bench",
            "serve",
            "--backend",
            "openai-chat",
            "--base-url",
            url,
            "--endpoint",
            "/v1/chat/completions",
            "--model",
            "tiny",
            "--tokenizer",
            TOKENIZER_DIR,
            "--dataset-name",
            "random",
            "--random-input-len",
            "8",
            "--random-output-len",
            str(CHUNKS),
            "--ignore-eos",
            "--num-prompts",
            str(n),
            "--request-rate",
            "inf",
            "--max-concurrency",
            str(CONCURRENCY),
            "--seed",
            "42",
            "--disable-tqdm",
            "--save-result",
            "--result-dir",
            out,
            "--result-filename",
            f"vllm-{n}.json",
        ]
        measured = run_measured(command, env={"CUDA_VISIBLE_DEVICES": ""})
        if measured.returncode == 0:
            completed = json.loads((out / f"vllm-{n}.json").read_text())["completed"]
            if completed != n:
                print(f"[warn] vllm completed {completed} of {n}", file=sys.stderr)
        return n, measured

    return run


def benchy(url: str, out: Path) -> Run | None:
    executable = tool(BENCHY_VENV, "llama-benchy")
    if executable is None:
        return None

    def run(n: int) -> tuple[int, Measured]:
        runs = max(1, n // CONCURRENCY)
        command: list[str | Path] = [
            executable,
            "--base-url",
            f"{url}/v1",
            "--model",
            "tiny",
            "--tokenizer",
            TOKENIZER_DIR / "tokenizer.json",
            "--pp",
            "8",
            "--tg",
            str(CHUNKS),
            "--concurrency",
            str(CONCURRENCY),
            "--runs",
            str(runs),
            "--latency-mode",
            "none",
            "--no-warmup",
            "--skip-coherence",
            "--no-adapt-prompt",
            "--format",
            "json",
            "--save-result",
            out / f"benchy-{n}.json",
        ]
        return runs * CONCURRENCY, run_measured(command)

    return run


def report(names: Sequence[str], rounds: list[list[Capacity]], counts: Counts) -> None:
    """Medians over rounds per client; each ratio is the median of within-round ratios."""
    print(
        f"client capacity against an instant server ({CHUNKS} content chunks per response, "
        f"max concurrency {CONCURRENCY}); marginal cost of {counts[1] - counts[0]} requests, "
        f"median of {len(rounds)} rounds"
    )
    print(f"{'client':<22} {'req/CPU-s':>10} {'chunks/CPU-s':>13} {'req/s wall':>11}   per round")
    for i, name in enumerate(names):
        per_cpu = [r[i].per_cpu_s for r in rounds]
        wall = stats.median([r[i].per_wall_s for r in rounds])
        cpu = stats.median(per_cpu)
        each = " ".join(f"{x:.0f}" for x in per_cpu)
        print(f"{name:<22} {cpu:>10.0f} {cpu * CHUNKS:>13.0f} {wall:>11.0f}   {each}")
    for i, name in enumerate(names[1:], 1):
        by_cpu = stats.median([ratio_of(r[0].per_cpu_s, r[i].per_cpu_s) for r in rounds])
        by_wall = stats.median([ratio_of(r[0].per_wall_s, r[i].per_wall_s) for r in rounds])
        print(f"ratio {names[0]} / {name}: per CPU-s {by_cpu:.2f}x, per wall-s {by_wall:.2f}x")


def ratio_of(ours: float, theirs: float) -> float:
    return ours / theirs if theirs > 0 else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=16000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    counts: Counts = (args.small, args.large)
    seed_benchy_corpus()
    with tempfile.TemporaryDirectory() as folder, instant_server(CHUNKS) as url:
        out = Path(folder)
        candidates: list[tuple[str, Run | None]] = [("arena (1 worker)", ours(url, 1))]
        if args.workers > 1:
            candidates.append((f"arena ({args.workers} workers)", ours(url, args.workers)))
        candidates += [("vllm bench serve", vllm(url, out)), ("llama-benchy", benchy(url, out))]
        clients = [(name, run) for name, run in candidates if run is not None]
        for _, run in clients:
            run(counts[0])  # warm-up, not measured
        rounds = [
            [difference(name, run, counts) for name, run in clients] for _ in range(args.repeats)
        ]
    report([name for name, _ in clients], rounds, counts)


if __name__ == "__main__":
    main()
