"""Parity: Arena's generator and the reference tools against the same real llama.cpp server.

One ``llama-server`` (llama.cpp, ``--parallel 4``, ``--no-cache-prompt`` so that repeated
seeded prompts are processed afresh every round, one compute thread, the process pinned to the
last CPU — the last two on machines of four or more, so that its HTTP thread has a core of its
own — at nice −10 while the clients keep to the other CPUs, so that other work on a shared
machine moves the numbers less) serves a random-weight GGUF (``bench/tiny_model.py``) whose
``tokenizer.json`` every client uses. Runs alternate between the tools (A, B, A, B …) so that
slow drifts of a shared machine hit both sides alike, and each delta is Arena − reference, in %
of the reference.

- Open loop vs ``vllm bench serve``: the ShareGPT-format file Arena ships
  (``shared/suites/data/sharegpt-synthetic.json``), which both tools shuffle with seed 42 and
  filter alike, so that both send the very same prompts; output fixed at ``--output-len``
  with ignore_eos; ``--num-prompts``, rate inf, max concurrency ``--concurrency``. (The random
  dataset is not used here: its prompts differ in content and, after vLLM's decode/re-encode,
  in length.)
  Compared: output throughput (tok/s) and median TTFT.
- Closed loop vs ``llama-benchy``: ``--pp``/``--tg`` at ``--concurrency``, 3 runs, generation
  latency mode, one warm-up. Compared: tg throughput (total, mean over runs), and the medians
  of e2e_ttft and ttfr over every request.

First, as a control, the same rounds against ``bench.instant_server`` in paced mode (TTFT
100 ms, ITL 10 ms, every request timed alone): a server whose true numbers are known and do
not depend on CPU speed, so that a delta there is the clients' own, while deltas against
llama-server also carry the server's run-to-run variation on this machine.

Concurrency 1 (the default) compares the definitions: each request meets the server alone. At
4, llama-server batches whatever has arrived, so the numbers also depend on how tightly each
client sends a batch (``bench.stagger`` measures that); both regimes are worth a look.

Usage: ``python -m bench.parity [--rounds 5] [--num-prompts 48] [--output-len 32] [--pp 128]
[--tg 128] [--concurrency 1] [--server llama|paced|both] [--close]``
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.engines.probe import engine_figures, scrape_metrics
from agent.generator.client import Endpoint
from agent.generator.clock import JobClock
from agent.generator.runner import run_benchmark
from agent.generator.tokens import LocalTokenizer
from bench.common import (
    BENCHY_VENV,
    TOKENIZER_DIR,
    VLLM_VENV,
    instant_server,
    run_measured,
    seed_benchy_corpus,
    tool,
)
from shared import stats
from shared.exports import BenchyVariant, llama_benchy_json
from shared.metrics.open_loop import open_loop_metrics
from shared.schemas.sample import RequestSample
from shared.schemas.suite import ClosedLoopBenchmark, OpenLoopBenchmark
from shared.suites.standin import sharegpt_standin_path

LLAMA_SERVER = Path(
    os.environ.get("ARENA_LLAMA_SERVER", "/root/.cache/arena/llama-server-0.3.36/bin/llama-server")
)
PORT = int(os.environ.get("ARENA_PARITY_PORT", "8093"))
SERVER_NICE = int(os.environ.get("ARENA_PARITY_NICE", "-10"))
"""The server's priority: on a shared machine other work would otherwise set its speed."""
SLOTS = 4
"""llama-server's parallel sequences: enough for every concurrency compared here."""
PACE_MS = (100.0, 10.0)
SHAREGPT = sharegpt_standin_path()
Numbers = dict[str, float]


def server_cpus() -> set[int]:
    """The last CPU for the server, or the last two where there are four or more: its compute
    thread then does not share a core with its own HTTP thread."""
    cpus = sorted(os.sched_getaffinity(0))
    return set(cpus[-2:] if len(cpus) >= 4 else cpus[-1:])


def _isolate() -> None:
    """In the server's process: its CPUs to itself as far as priority allows."""
    os.sched_setaffinity(0, server_cpus())
    with contextlib.suppress(PermissionError):  # not root: normal priority
        os.nice(SERVER_NICE)


@contextmanager
def llama_server() -> Iterator[str]:
    command = [LLAMA_SERVER, "--model", TOKENIZER_DIR / "tiny.gguf", "--host", "127.0.0.1",
               "--port", str(PORT), "--parallel", str(SLOTS), "-c", "16384",
               "--threads", "1", "--no-cache-prompt", "--metrics"]  # fmt: skip
    process = subprocess.Popen([str(c) for c in command], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, preexec_fn=_isolate)  # fmt: skip
    url = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


async def _ours(bench: Any, url: str, runs: int) -> list[RequestSample]:
    samples: list[RequestSample] = []
    tokenizer = LocalTokenizer(TOKENIZER_DIR)
    await run_benchmark(bench, endpoint=Endpoint(url, "tiny"), runs=runs, seed=42,
                        clock=JobClock(), sink=samples.append, tokenizer=tokenizer)  # fmt: skip
    return samples


def ours_open(url: str, args: argparse.Namespace) -> Numbers:
    bench = OpenLoopBenchmark(id="parity", dataset="sharegpt", dataset_path=str(SHAREGPT),
                              output_len=args.output_len, num_prompts=args.num_prompts,
                              request_rate=[float("inf")], max_concurrency=args.concurrency,
                              ignore_eos=True)  # fmt: skip
    metrics = open_loop_metrics(asyncio.run(_ours(bench, url, 1)))
    return {"output_throughput": metrics["output_throughput"] or 0.0,
            "median_ttft_ms": metrics["median_ttft_ms"] or 0.0}  # fmt: skip


def vllm_open(url: str, args: argparse.Namespace, out: Path, executable: Path) -> Numbers:
    name = f"vllm-{time.monotonic_ns()}.json"
    command = [executable, "bench", "serve", "--backend", "openai-chat", "--base-url", url,
               "--endpoint", "/v1/chat/completions", "--model", "tiny",
               "--tokenizer", TOKENIZER_DIR, "--dataset-name", "sharegpt",
               "--dataset-path", SHAREGPT, "--sharegpt-output-len", str(args.output_len),
               "--ignore-eos",
               "--num-prompts", str(args.num_prompts), "--request-rate", "inf",
               "--max-concurrency", str(args.concurrency), "--seed", "42", "--disable-tqdm",
               "--save-result", "--result-dir", out, "--result-filename", name]  # fmt: skip
    run = run_measured(command, env={"CUDA_VISIBLE_DEVICES": ""})
    if run.returncode != 0:
        raise SystemExit(f"vllm bench serve failed:\n{run.output[-3000:]}")
    result = json.loads((out / name).read_text())
    return {"output_throughput": result["output_throughput"],
            "median_ttft_ms": result["median_ttft_ms"]}  # fmt: skip


def _benchy_numbers(report: dict[str, Any]) -> Numbers:
    bench = report["benchmarks"][0]
    return {"tg_throughput": bench["tg_throughput"]["mean"],
            "median_e2e_ttft_ms": stats.median(bench["e2e_ttft"]["values"]),
            "median_ttfr_ms": stats.median(bench["ttfr"]["values"])}  # fmt: skip


def ours_closed(url: str, args: argparse.Namespace) -> Numbers:
    bench = ClosedLoopBenchmark(id="parity-cl", pp=[args.pp], tg=[args.tg],
                                concurrency=[args.concurrency])  # fmt: skip
    samples = asyncio.run(_ours(bench, url, 3))
    runs = [[s for s in samples if s.run == run] for run in range(3)]
    variant = BenchyVariant(args.pp, args.tg, 0, args.concurrency, runs, args.pp)
    report = llama_benchy_json([variant], model="tiny", latency_mode="generation",
                               latency_ms=0.0, timestamp="")  # fmt: skip
    return _benchy_numbers(report)


def benchy_closed(url: str, args: argparse.Namespace, out: Path, executable: Path) -> Numbers:
    path = out / f"benchy-{time.monotonic_ns()}.json"
    command = [executable, "--base-url", f"{url}/v1", "--model", "tiny",
               "--tokenizer", TOKENIZER_DIR / "tokenizer.json", "--pp", str(args.pp),
               "--tg", str(args.tg), "--concurrency", str(args.concurrency), "--runs", "3",
               "--latency-mode", "generation", "--skip-coherence", "--format", "json",
               "--save-result", path]  # fmt: skip
    run = run_measured(command)
    if run.returncode != 0:
        raise SystemExit(f"llama-benchy failed:\n{run.output[-3000:]}")
    return _benchy_numbers(json.loads(path.read_text()))


def compare(
    title: str, pairs: list[tuple[Numbers, Numbers]], reference: str, keys: list[str]
) -> None:
    """Per round: Arena / reference (delta %); then the ratio of the means, and the mean of
    the per-round deltas ± its standard error (what the noise of this machine allows)."""
    print(f"\n{title}")
    print(f"{'round':<6}" + "".join(f"{k + ' (arena/' + reference + ')':>44}" for k in keys))
    for number, (ours, theirs) in enumerate(pairs, 1):
        cells = [f"{ours[k]:>12.2f} / {theirs[k]:>10.2f} ({pct(ours[k], theirs[k]):>+7.2f}%)"
                 for k in keys]  # fmt: skip
        print(f"{number:<6}" + "".join(f"{c:>44}" for c in cells))
    means = [(stats.mean([o[k] for o, _ in pairs]), stats.mean([t[k] for _, t in pairs]))
             for k in keys]  # fmt: skip
    cells = [f"{o:>12.2f} / {t:>10.2f} ({pct(o, t):>+7.2f}%)" for o, t in means]
    print(f"{'means':<6}" + "".join(f"{c:>44}" for c in cells))
    deltas = [[pct(o[k], t[k]) for o, t in pairs] for k in keys]
    cells = [f"delta {stats.mean(d):+.2f}% ± {stats.std(d) / math.sqrt(max(1, len(d) - 1)):.2f}"
             for d in deltas]  # fmt: skip
    print(f"{'Δ±SE':<6}" + "".join(f"{c:>44}" for c in cells))


def pct(ours: float, theirs: float) -> float:
    return (ours - theirs) / theirs * 100.0 if theirs else float("nan")


Tools = tuple[Path | None, Path | None]


NORMALISED = " ÷ server"


def against_server(url: str, measure: Callable[[], Numbers]) -> Numbers:
    """The tool's numbers, plus each divided by the server's own speed over the same window.

    llama-server's counters (``--metrics``) give its decode time per token and prefill speed
    while this tool ran; throughput × ms/token and TTFT × prefill tok/s are then free of the
    server's drift between rounds (on a shared machine, ±10 % and more), so two clients can be
    compared more finely than the raw numbers allow. A server without counters adds nothing.
    """
    before = asyncio.run(scrape_metrics(url, None))
    numbers = measure()
    after = asyncio.run(scrape_metrics(url, None))
    if before is None or after is None:
        return numbers
    figures = engine_figures(before, after)
    ms_per_token, prefill_per_s = (
        figures.get("ms_per_generated_token"),
        figures.get("prompt_tokens_per_s"),
    )
    normalised = {}
    for key, value in numbers.items():
        if "throughput" in key and ms_per_token:
            normalised[key + NORMALISED] = value * ms_per_token / 1000.0
        elif key.endswith("_ms") and prefill_per_s:
            normalised[key + NORMALISED] = value * prefill_per_s / 1000.0
    return numbers | normalised


def rounds(url: str, args: argparse.Namespace, tools: Tools, out: Path) -> list[list[Any]]:
    """Alternating rounds against one server: (open-loop pairs, closed-loop pairs)."""
    vllm, benchy = tools
    open_pairs: list[tuple[Numbers, Numbers]] = []
    closed_pairs: list[tuple[Numbers, Numbers]] = []
    for _ in range(args.rounds):
        if vllm is not None:
            ours = against_server(url, lambda: ours_open(url, args))
            theirs = against_server(url, lambda: vllm_open(url, args, out, vllm))
            open_pairs.append((ours, theirs))
        if benchy is not None:
            ours = against_server(url, lambda: ours_closed(url, args))
            theirs = against_server(url, lambda: benchy_closed(url, args, out, benchy))
            closed_pairs.append((ours, theirs))
    return [open_pairs, closed_pairs]


def compare_both(title: str, pairs: list[tuple[Numbers, Numbers]], reference: str) -> None:
    """The raw numbers; then, where the server reported its speed, the normalised ones."""
    keys = [key for key in pairs[0][0] if not key.endswith(NORMALISED)]
    compare(title, pairs, reference, keys)
    normalised = [key for key in pairs[0][0] if key.endswith(NORMALISED)]
    if normalised and all(set(normalised) <= set(o) & set(t) for o, t in pairs):
        compare(title + ", each ÷ the server's own speed in its window", pairs, reference,
                normalised)  # fmt: skip


def report(server: str, args: argparse.Namespace, results: list[list[Any]]) -> None:
    open_pairs, closed_pairs = results
    print(f"\n=== {server}; load average now {os.getloadavg()[0]:.2f}")
    if open_pairs:
        title = (f"open loop, ShareGPT-format stand-in, {args.num_prompts} prompts, output "
                 f"{args.output_len}, rate inf, max concurrency {args.concurrency}: arena vs vllm "
                 "bench serve")  # fmt: skip
        compare_both(title, open_pairs, "vllm")
    if closed_pairs:
        title = (f"closed loop, pp {args.pp}, tg {args.tg}, c={args.concurrency}, 3 runs: "
                 "arena vs llama-benchy")  # fmt: skip
        compare_both(title, closed_pairs, "benchy")
    sys.stdout.flush()


def main() -> None:
    clients = set(os.sched_getaffinity(0)) - server_cpus()
    if clients:  # the clients keep off the server's CPUs
        os.sched_setaffinity(0, clients)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--num-prompts", type=int, default=48)
    parser.add_argument("--output-len", type=int, default=32)
    parser.add_argument("--pp", type=int, default=128)
    parser.add_argument("--tg", type=int, default=128)
    parser.add_argument("--concurrency", type=int, default=1, choices=range(1, SLOTS + 1))
    parser.add_argument("--server", choices=["llama", "paced", "both"], default="both")
    parser.add_argument("--close", action="store_true",
                        help="the control closes each connection after its answer, as "
                             "llama-server does: every request then opens a new one")  # fmt: skip
    args = parser.parse_args()
    tools = (tool(VLLM_VENV, "vllm"), tool(BENCHY_VENV, "llama-benchy"))
    seed_benchy_corpus()
    with tempfile.TemporaryDirectory() as folder:
        if args.server in ("paced", "both"):
            with instant_server(model="tiny", pace_ms=PACE_MS, close=args.close) as url:
                results = rounds(url, args, tools, Path(folder))
            closing = ", closing each connection after its answer" if args.close else ""
            report(f"control: paced server (TTFT {PACE_MS[0]:g} ms, ITL {PACE_MS[1]:g} ms, "
                   f"no batching{closing})", args, results)  # fmt: skip
        if args.server in ("llama", "both"):
            if not LLAMA_SERVER.exists():
                raise SystemExit(f"llama-server not found at {LLAMA_SERVER} (ARENA_LLAMA_SERVER)")
            with llama_server() as url:
                results = rounds(url, args, tools, Path(folder))
            report(f"llama-server ({TOKENIZER_DIR / 'tiny.gguf'}, --parallel {SLOTS}, "
                   "1 thread)", args, results)  # fmt: skip


if __name__ == "__main__":
    main()
