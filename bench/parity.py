"""Parity: Arena's generator and the reference tools against the same real llama.cpp server.

One ``llama-server`` (llama.cpp, ``--parallel 4``, ``--no-cache-prompt`` so that repeated
seeded prompts are processed afresh every round, one compute thread, the process pinned to the
last CPU — the last two on machines of four or more, so that its HTTP thread has a core of its
own — at nice −10 while the clients keep to the other CPUs, so that other work on a shared
machine moves the numbers less) serves a random-weight GGUF (``scripts/make_llama_model.py
--shape parity --types f32``) whose ``tokenizer.json`` every client uses. Runs alternate
between the tools (A, B, A, B …) so that slow drifts of a shared machine hit both sides alike,
and each delta is Arena − reference, in % of the reference.

- Open loop vs ``vllm bench serve``: the ShareGPT-format file Arena ships
  (``shared/arena/common/suites/data/sharegpt-synthetic.json``), which
  both tools shuffle with seed 42 and
  filter alike, so that both send the very same prompts; output fixed at ``--output-len``
  with ignore_eos; ``--num-prompts`` (128: the prompts differ in length, and a median over few
  of them jumps between neighbours whose TTFTs lie ms apart), rate inf, max concurrency
  ``--concurrency``. (The random dataset is not used here: its prompts differ in content and,
  after vLLM's decode/re-encode, in length.)
  Compared: output throughput (tok/s) and median TTFT.
- Closed loop vs ``llama-benchy``: ``--pp``/``--tg`` at ``--concurrency``, ``--runs``, generation
  latency mode, one warm-up. Compared: tg throughput (total, mean over runs), and the medians
  of e2e_ttft and ttfr over every request.

First, as a control, the same rounds against ``bench.instant_server`` in paced mode (TTFT
100 ms, ITL 10 ms, every request timed alone): a server whose true numbers are known and do
not depend on CPU speed, so that a delta there is the clients' own, while deltas against
llama-server also carry the server's run-to-run variation on this machine.

Concurrency 1 (the default) compares the definitions: each request meets the server alone. At
4, llama-server batches whatever has arrived, so the numbers also depend on how tightly each
client sends a batch (``bench.stagger`` measures that); both regimes are worth a look.

The server's drift between rounds (±10–30 % here) is larger than the differences sought, so
each tool's numbers are also read against the server's own measurements: divided by its speed
in the tool's window (``--metrics``), and, at concurrency 1, set beside its own prompt time for
every request (its log): see ``against_server`` and ``pool_server_time``.

Usage: ``python -m bench.parity [--rounds 5] [--num-prompts 128] [--output-len 32] [--pp 128]
[--tg 128] [--runs 3] [--concurrency 1] [--server llama|paced|both] [--close]``
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arena.agent.engines.probe import engine_figures, scrape_metrics
from arena.agent.generator.client import Endpoint
from arena.agent.generator.clock import JobClock
from arena.agent.generator.runner import run_benchmark
from arena.agent.generator.tokens import LocalTokenizer
from arena.common import stats
from arena.common.exports import BenchyVariant, llama_benchy_json
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import ClosedLoopBenchmark, OpenLoopBenchmark
from arena.common.suites.standin import sharegpt_standin_path
from bench.common import (
    BENCHY_VENV,
    TOKENIZER_DIR,
    VLLM_VENV,
    instant_server,
    run_measured,
    seed_benchy_corpus,
    tool,
)
from bench.server_log import ServerLog
from tests.llama import MODEL_NAME

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
def llama_server(log: ServerLog) -> Iterator[str]:
    command = [
        LLAMA_SERVER,
        "--model",
        TOKENIZER_DIR / MODEL_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(PORT),
        "--parallel",
        str(SLOTS),
        "-c",
        "16384",
        "--threads",
        "1",
        "--no-cache-prompt",
        "--metrics",
        "--log-file",
        log.path,
    ]
    process = subprocess.Popen(
        [str(c) for c in command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_isolate,
    )
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
    await run_benchmark(
        bench,
        endpoint=Endpoint(url, "tiny"),
        runs=runs,
        seed=42,
        clock=JobClock(),
        sink=samples.append,
        tokenizer=tokenizer,
    )
    return samples


@dataclass
class Window:
    """One tool's run: its numbers, and each measured request's TTFT in the order sent."""

    numbers: Numbers
    ttfts_ms: list[float]
    generated: int
    """Tokens each measured request generates: how the server's log tells them apart."""
    prompt_ms: list[float] | None = None
    """The server's own prompt time for each of those requests, where its log holds them."""


def ours_open(url: str, args: argparse.Namespace) -> Window:
    bench = OpenLoopBenchmark(
        id="parity",
        dataset="sharegpt",
        dataset_path=str(SHAREGPT),
        output_len=args.output_len,
        num_prompts=args.num_prompts,
        request_rate=[float("inf")],
        max_concurrency=args.concurrency,
        ignore_eos=True,
    )
    samples = sorted(asyncio.run(_ours(bench, url, 1)), key=lambda s: s.index)
    metrics = open_loop_metrics(samples)
    ttfts = [(s.first_token_s - s.sent_s) * 1000 for s in samples if s.first_token_s]
    return Window(
        {
            "output_throughput": metrics["output_throughput"] or 0.0,
            "median_ttft_ms": metrics["median_ttft_ms"] or 0.0,
        },
        ttfts,
        args.output_len,
    )


def vllm_open(url: str, args: argparse.Namespace, out: Path, executable: Path) -> Window:
    name = f"vllm-{time.monotonic_ns()}.json"
    command: list[str | Path] = [
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
        "sharegpt",
        "--dataset-path",
        SHAREGPT,
        "--sharegpt-output-len",
        str(args.output_len),
        "--ignore-eos",
        "--num-prompts",
        str(args.num_prompts),
        "--request-rate",
        "inf",
        "--max-concurrency",
        str(args.concurrency),
        "--seed",
        "42",
        "--disable-tqdm",
        "--save-result",
        "--save-detailed",
        "--result-dir",
        out,
        "--result-filename",
        name,
    ]
    run = run_measured(command, env={"CUDA_VISIBLE_DEVICES": ""})
    if run.returncode != 0:
        raise SystemExit(f"vllm bench serve failed:\n{run.output[-3000:]}")
    result = json.loads((out / name).read_text())
    return Window(
        {
            "output_throughput": result["output_throughput"],
            "median_ttft_ms": result["median_ttft_ms"],
        },
        [t * 1000 for t in result["ttfts"] if t],
        args.output_len,
    )


def _benchy_window(report: dict[str, Any], tg: int) -> Window:
    bench = report["benchmarks"][0]
    ttfts = bench["e2e_ttft"]["values"]
    return Window(
        {
            "tg_throughput": bench["tg_throughput"]["mean"],
            "median_e2e_ttft_ms": stats.median(ttfts),
            "median_ttfr_ms": stats.median(bench["ttfr"]["values"]),
        },
        ttfts,
        tg,
    )


def ours_closed(url: str, args: argparse.Namespace) -> Window:
    bench = ClosedLoopBenchmark(
        id="parity-cl", pp=[args.pp], tg=[args.tg], concurrency=[args.concurrency]
    )
    samples = asyncio.run(_ours(bench, url, args.runs))
    runs = [
        sorted((s for s in samples if s.run == run), key=lambda s: s.index)
        for run in range(args.runs)
    ]
    variant = BenchyVariant(args.pp, args.tg, 0, args.concurrency, runs, args.pp)
    report = llama_benchy_json(
        [variant], model="tiny", latency_mode="generation", latency_ms=0.0, timestamp=""
    )
    return _benchy_window(report, args.tg)


def benchy_closed(url: str, args: argparse.Namespace, out: Path, executable: Path) -> Window:
    path = out / f"benchy-{time.monotonic_ns()}.json"
    command: list[str | Path] = [
        executable,
        "--base-url",
        f"{url}/v1",
        "--model",
        "tiny",
        "--tokenizer",
        TOKENIZER_DIR / "tokenizer.json",
        "--pp",
        str(args.pp),
        "--tg",
        str(args.tg),
        "--concurrency",
        str(args.concurrency),
        "--runs",
        str(args.runs),
        "--latency-mode",
        "generation",
        "--skip-coherence",
        "--format",
        "json",
        "--save-result",
        path,
    ]
    run = run_measured(command)
    if run.returncode != 0:
        raise SystemExit(f"llama-benchy failed:\n{run.output[-3000:]}")
    return _benchy_window(json.loads(path.read_text()), args.tg)


def compare(
    title: str, pairs: list[tuple[Numbers, Numbers]], reference: str, keys: list[str]
) -> None:
    """Per round: Arena / reference (delta %); then the ratio of the means, and the mean of
    the per-round deltas ± its standard error (what the noise of this machine allows)."""
    print(f"\n{title}")
    print(f"{'round':<6}" + "".join(f"{k + ' (arena/' + reference + ')':>44}" for k in keys))
    for number, (ours, theirs) in enumerate(pairs, 1):
        cells = [
            f"{ours[k]:>12.2f} / {theirs[k]:>10.2f} ({pct(ours[k], theirs[k]):>+7.2f}%)"
            for k in keys
        ]
        print(f"{number:<6}" + "".join(f"{c:>44}" for c in cells))
    means = [
        (stats.mean([o[k] for o, _ in pairs]), stats.mean([t[k] for _, t in pairs])) for k in keys
    ]
    cells = [f"{o:>12.2f} / {t:>10.2f} ({pct(o, t):>+7.2f}%)" for o, t in means]
    print(f"{'means':<6}" + "".join(f"{c:>44}" for c in cells))
    deltas = [[pct(o[k], t[k]) for o, t in pairs] for k in keys]
    cells = [
        f"delta {stats.mean(d):+.2f}% ± {stats.std(d) / math.sqrt(max(1, len(d) - 1)):.2f}"
        for d in deltas
    ]
    print(f"{'Δ±SE':<6}" + "".join(f"{c:>44}" for c in cells))


def pct(ours: float, theirs: float) -> float:
    return (ours - theirs) / theirs * 100.0 if theirs else float("nan")


Tools = tuple[Path | None, Path | None]


NORMALISED = " ÷ server"
SERVER_LOG = " (server log)"


def against_server(url: str, log: ServerLog | None, measure: Callable[[], Window]) -> Window:
    """The tool's run, plus its numbers divided by the server's own speed over the same window,
    and the server's own prompt time for each measured request.

    llama-server's counters (``--metrics``) give its decode time per token and prefill speed
    while this tool ran; throughput × ms/token and TTFT × prefill tok/s are then free of the
    server's drift between rounds (on a shared machine, ±10 % and more), so two clients can be
    compared more finely than the raw numbers allow. A server without counters adds nothing.
    With its ``log`` (concurrency 1), ``pool_server_time`` can then go further.
    """
    mark = log.mark() if log else 0
    before = asyncio.run(scrape_metrics(url, None))
    window = measure()
    after = asyncio.run(scrape_metrics(url, None))
    if log:
        window.prompt_ms = log.prompt_ms(mark, len(window.ttfts_ms), window.generated)
    if before is None or after is None:
        return window
    figures = engine_figures(before, after)
    ms_per_token, prefill_per_s = (
        figures.get("ms_per_generated_token"),
        figures.get("prompt_tokens_per_s"),
    )
    for key, value in list(window.numbers.items()):
        if "throughput" in key and ms_per_token:
            window.numbers[key + NORMALISED] = value * ms_per_token / 1000.0
        elif key.endswith("_ms") and prefill_per_s:
            window.numbers[key + NORMALISED] = value * prefill_per_s / 1000.0
    return window


def pool_server_time(ours: Window, theirs: Window, key: str) -> tuple[Numbers, Numbers]:
    """Both numbers, plus two read against the server's own prompt time for each request:

    - the median TTFT each tool would have measured had the server spent the same time on
      each prompt for both: per request, the tool's TTFT minus the server's prompt time for
      it, plus the mean of the two tools' server times for that request (both send the same
      prompts in the same order);
    - the median excess, TTFT minus the server's prompt time: what the client, the transport
      and the server's HTTP side add, which is what parity is about.

    At concurrency 1 only, where a request's server time is its own.
    """
    numbers = ours.numbers.copy(), theirs.numbers.copy()
    if (
        ours.prompt_ms is None
        or theirs.prompt_ms is None
        or not len(ours.ttfts_ms) == len(theirs.ttfts_ms) == len(ours.prompt_ms)
    ):
        return numbers
    pooled = [(a + b) / 2 for a, b in zip(ours.prompt_ms, theirs.prompt_ms, strict=True)]
    for window, target in zip((ours, theirs), numbers, strict=True):
        assert window.prompt_ms is not None
        excess = [t - own for t, own in zip(window.ttfts_ms, window.prompt_ms, strict=True)]
        target[key + SERVER_LOG] = stats.median(
            [e + common for e, common in zip(excess, pooled, strict=True)]
        )
        target["excess_ms" + SERVER_LOG] = stats.median(excess)
    return numbers


def rounds(
    url: str, log: ServerLog | None, args: argparse.Namespace, tools: Tools, out: Path
) -> list[list[Any]]:
    """Alternating rounds against one server: (open-loop pairs, closed-loop pairs)."""
    vllm, benchy = tools
    open_pairs: list[tuple[Numbers, Numbers]] = []
    closed_pairs: list[tuple[Numbers, Numbers]] = []
    log = log if args.concurrency == 1 else None
    for _ in range(args.rounds):
        if vllm is not None:
            ours = against_server(url, log, lambda: ours_open(url, args))
            theirs = against_server(url, log, lambda: vllm_open(url, args, out, vllm))
            open_pairs.append(pool_server_time(ours, theirs, "median_ttft_ms"))
        if benchy is not None:
            ours = against_server(url, log, lambda: ours_closed(url, args))
            theirs = against_server(url, log, lambda: benchy_closed(url, args, out, benchy))
            closed_pairs.append(pool_server_time(ours, theirs, "median_e2e_ttft_ms"))
    return [open_pairs, closed_pairs]


VIEWS = {
    "": "",
    NORMALISED: ", each ÷ the server's own speed in its window",
    SERVER_LOG: (
        ", read against the server's log: median TTFT with its prompt time per "
        "request pooled between the tools; median excess = TTFT − its prompt time"
    ),
}


def view_of(key: str) -> str:
    return next((suffix for suffix in VIEWS if suffix and key.endswith(suffix)), "")


def compare_all(title: str, pairs: list[tuple[Numbers, Numbers]], reference: str) -> None:
    """The raw numbers; then, where the server reported its speed or its per-request prompt
    times, the numbers corrected with them."""
    for suffix, caption in VIEWS.items():
        keys = [key for key in pairs[0][0] if view_of(key) == suffix]
        if keys and all(set(keys) <= set(o) & set(t) for o, t in pairs):
            compare(title + caption, pairs, reference, keys)


def report(server: str, args: argparse.Namespace, results: list[list[Any]]) -> None:
    open_pairs, closed_pairs = results
    print(f"\n=== {server}; load average now {os.getloadavg()[0]:.2f}")
    if open_pairs:
        title = (
            f"open loop, ShareGPT-format stand-in, {args.num_prompts} prompts, output "
            f"{args.output_len}, rate inf, max concurrency {args.concurrency}: arena vs vllm "
            "bench serve"
        )
        compare_all(title, open_pairs, "vllm")
    if closed_pairs:
        title = (
            f"closed loop, pp {args.pp}, tg {args.tg}, c={args.concurrency}, "
            f"{args.runs} runs: arena vs llama-benchy"
        )
        compare_all(title, closed_pairs, "benchy")
    sys.stdout.flush()


def main() -> None:
    clients = set(os.sched_getaffinity(0)) - server_cpus()
    if clients:  # the clients keep off the server's CPUs
        os.sched_setaffinity(0, clients)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--num-prompts", type=int, default=128)
    parser.add_argument("--output-len", type=int, default=32)
    parser.add_argument("--pp", type=int, default=128)
    parser.add_argument("--tg", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3, help="closed loop: runs per round")
    parser.add_argument("--concurrency", type=int, default=1, choices=range(1, SLOTS + 1))
    parser.add_argument("--server", choices=["llama", "paced", "both"], default="both")
    parser.add_argument(
        "--close",
        action="store_true",
        help="the control closes each connection after its answer, as "
        "llama-server does: every request then opens a new one",
    )
    args = parser.parse_args()
    tools = (tool(VLLM_VENV, "vllm"), tool(BENCHY_VENV, "llama-benchy"))
    seed_benchy_corpus()
    with tempfile.TemporaryDirectory() as folder:
        if args.server in ("paced", "both"):
            with instant_server(model="tiny", pace_ms=PACE_MS, close=args.close) as url:
                results = rounds(url, None, args, tools, Path(folder))
            closing = ", closing each connection after its answer" if args.close else ""
            report(
                f"control: paced server (TTFT {PACE_MS[0]:g} ms, ITL {PACE_MS[1]:g} ms, "
                f"no batching{closing})",
                args,
                results,
            )
        if args.server in ("llama", "both"):
            if not LLAMA_SERVER.exists():
                raise SystemExit(f"llama-server not found at {LLAMA_SERVER} (ARENA_LLAMA_SERVER)")
            log = ServerLog(Path(folder) / "llama-server.log")
            with llama_server(log) as url:
                results = rounds(url, log, args, tools, Path(folder))
            report(
                f"llama-server ({TOKENIZER_DIR / MODEL_NAME}, --parallel {SLOTS}, 1 thread)",
                args,
                results,
            )


if __name__ == "__main__":
    main()
