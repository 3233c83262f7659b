"""Client capacity: sustained requests/s and streamed chunks/s per client CPU core.

Every client streams from ``bench.instant_server`` (pre-rendered SSE: a role chunk, 16 content
chunks, usage, ``[DONE]``), so the client is the bottleneck. Each tool runs twice, with a small
and a large request count, as a separate process; the *difference* between the two runs
removes start-up costs (imports, tokenizer loading, dataset building) and leaves the marginal
cost of requests: requests per client CPU-second = ΔN / ΔCPU (the client's user + system time,
children included), and sustained requests/s = ΔN / Δwall.

- Arena: ``python -m bench.ours`` (rate inf, max concurrency 64), 1 worker and ``--workers``.
- vLLM: ``vllm bench serve`` (random dataset, 8 in / 16 out, ignore_eos, rate inf, max
  concurrency 64).
- llama-benchy: batches of 64 (``--concurrency 64 --pp 8 --tg 16``, latency mode none, no
  warm-up), the request count set by ``--runs``.

Usage: ``python -m bench.capacity [--small 1000] [--large 5000] [--workers 2]``
"""

import argparse
import json
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    BENCHY_VENV,
    TOKENIZER_DIR,
    VLLM_VENV,
    Measured,
    instant_server,
    ratio,
    run_measured,
    seed_benchy_corpus,
    tool,
)

CHUNKS = 16
CONCURRENCY = 64


@dataclass(frozen=True)
class Capacity:
    name: str
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


def _difference(name: str, small: tuple[int, Measured], large: tuple[int, Measured]) -> Capacity:
    for count, run in (small, large):
        if run.returncode != 0:
            print(f"[fail] {name} ({count} requests):\n{run.output[-3000:]}", file=sys.stderr)
            raise SystemExit(1)
    return Capacity(
        name,
        large[0] - small[0],
        large[1].wall_s - small[1].wall_s,
        large[1].cpu_s - small[1].cpu_s,
    )


def ours(url: str, counts: tuple[int, int], workers: int) -> Capacity:
    def run(n: int) -> tuple[int, Measured]:
        command = [sys.executable, "-m", "bench.ours", "--base-url", url, "--num-prompts", str(n),
                   "--max-concurrency", str(CONCURRENCY), "--max-tokens", str(CHUNKS),
                   "--workers", str(workers)]  # fmt: skip
        return n, run_measured(command)

    return _difference(f"arena ({workers} worker{'s' * (workers > 1)})", *map(run, counts))


def vllm(url: str, counts: tuple[int, int], out: Path) -> Capacity | None:
    executable = tool(VLLM_VENV, "vllm")
    if executable is None:
        return None

    def run(n: int) -> tuple[int, Measured]:
        command = [executable, "bench", "serve", "--backend", "openai-chat", "--base-url", url,
                   "--endpoint", "/v1/chat/completions", "--model", "tiny",
                   "--tokenizer", TOKENIZER_DIR, "--dataset-name", "random",
                   "--random-input-len", "8", "--random-output-len", str(CHUNKS), "--ignore-eos",
                   "--num-prompts", str(n), "--request-rate", "inf",
                   "--max-concurrency", str(CONCURRENCY), "--seed", "42", "--disable-tqdm",
                   "--save-result", "--result-dir", out,
                   "--result-filename", f"vllm-{n}.json"]  # fmt: skip
        measured = run_measured(command, env={"CUDA_VISIBLE_DEVICES": ""})
        if measured.returncode == 0:
            completed = json.loads((out / f"vllm-{n}.json").read_text())["completed"]
            if completed != n:
                print(f"[warn] vllm completed {completed} of {n}", file=sys.stderr)
        return n, measured

    return _difference("vllm bench serve", *map(run, counts))


def benchy(url: str, counts: tuple[int, int], out: Path) -> Capacity | None:
    executable = tool(BENCHY_VENV, "llama-benchy")
    if executable is None:
        return None

    def run(n: int) -> tuple[int, Measured]:
        runs = max(1, n // CONCURRENCY)
        command = [executable, "--base-url", f"{url}/v1", "--model", "tiny",
                   "--tokenizer", TOKENIZER_DIR / "tokenizer.json", "--pp", "8",
                   "--tg", str(CHUNKS), "--concurrency", str(CONCURRENCY), "--runs", str(runs),
                   "--latency-mode", "none", "--no-warmup", "--skip-coherence",
                   "--no-adapt-prompt", "--format", "json",
                   "--save-result", out / f"benchy-{n}.json"]  # fmt: skip
        return runs * CONCURRENCY, run_measured(command)

    return _difference("llama-benchy", *map(run, counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    counts = (args.small, args.large)
    results: list[Capacity] = []
    seed_benchy_corpus()
    with tempfile.TemporaryDirectory() as folder, instant_server(CHUNKS) as url:
        out = Path(folder)
        results.append(ours(url, counts, 1))
        if args.workers > 1:
            results.append(ours(url, counts, args.workers))
        references = [vllm(url, counts, out), benchy(url, counts, out)]
    results += [r for r in references if r is not None]
    print(f"client capacity against an instant server ({CHUNKS} content chunks per response, "
          f"max concurrency {CONCURRENCY}); marginal cost of "
          f"{counts[1] - counts[0]} requests")  # fmt: skip
    print(f"{'client':<22} {'req/CPU-s':>10} {'chunks/CPU-s':>13} {'req/s wall':>11} "
          f"{'ΔCPU s':>8} {'Δwall s':>8}")  # fmt: skip
    for r in results:
        print(f"{r.name:<22} {r.per_cpu_s:>10.0f} {r.per_cpu_s * CHUNKS:>13.0f} "
              f"{r.per_wall_s:>11.0f} {r.cpu_s:>8.2f} {r.wall_s:>8.2f}")  # fmt: skip
    base = results[0]
    for r in results[1:]:
        print(f"ratio {base.name} / {r.name}: per CPU-s {ratio(base.per_cpu_s, r.per_cpu_s)}, "
              f"per wall-s {ratio(base.per_wall_s, r.per_wall_s)}")  # fmt: skip


if __name__ == "__main__":
    main()
