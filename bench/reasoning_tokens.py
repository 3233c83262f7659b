"""The numbers a user sees for a reasoning model and for an engine whose usage lies, this tree
against a baseline tree, on the same paced ``bench.instant_server`` (exact timing known).

Cases (issue 24): 20 reasoning tokens before the answer (TTFT 51 ms, 10 ms apart: content
starts at 251 ms), in an open-loop run (4 requests) and a closed-loop c1 run; and usage saying
54 for 64 streamed tokens (TTFT 50 ms, ITL 10 ms: TPOT is 10.0 ms, tg 100 t/s). Each tree runs
the generator's ``run_benchmark`` with the server's ``/tokenize`` and derives the metrics with
its own ``derive.run_metrics``; a key the tree does not have prints as ``—``.

Usage: ``python -m bench.reasoning_tokens [--baseline DIR]``; ``DIR`` holds another checkout's
``agent`` and ``shared`` folders (``git archive main | tar -x -C DIR``).
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
from typing import Any

from bench.common import instant_server

KEYS = {
    "reasoning": [
        ("open", "mean_ttft_ms"),
        ("open", "mean_ttfc_ms"),
        ("closed", "e2e_ttft"),
        ("closed", "e2e_ttfc"),
        ("open", "mean_reasoning_tokens"),
        ("open", "reasoning_first"),
    ],
    "usage": [
        ("open", "mean_tpot_ms"),
        ("open", "total_output_tokens"),
        ("closed", "tg_throughput"),
        ("open", "token_mismatch_pct"),
    ],
}


async def _metrics(url: str, kind: str) -> dict[str, Any]:
    from arena.agent.generator.clock import JobClock
    from arena.agent.generator.runner import Endpoint, run_benchmark
    from arena.agent.generator.tokens import ServerTokenizer
    from arena.common.metrics.derive import run_metrics
    from arena.common.schemas.suite import ClosedLoopBenchmark, OpenLoopBenchmark
    from arena.common.suites.variants import variants

    bench: Any
    if kind == "open":
        bench = OpenLoopBenchmark(
            id="o", input_len=16, output_len=64, num_prompts=4, request_rate=[20.0]
        )
    else:
        bench = ClosedLoopBenchmark(
            id="c", pp=[16], tg=[64], concurrency=[1], latency_mode="none", warmup=False
        )
    endpoint = Endpoint(url, "tiny")
    tokenizer = ServerTokenizer(endpoint)
    samples: list[Any] = []
    try:
        await run_benchmark(
            bench,
            endpoint=endpoint,
            runs=1,
            seed=1,
            clock=JobClock(),
            sink=samples.append,
            tokenizer=tokenizer,
        )
    finally:
        await tokenizer.close()
    return run_metrics(bench, variants(bench)[0], samples)


def measure(urls: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per case, the keys of ``KEYS`` this tree reports (absent ones left out)."""
    figures: dict[str, dict[str, Any]] = {}
    for case, keys in KEYS.items():
        by_kind = {kind: asyncio.run(_metrics(urls[case], kind)) for kind in ("open", "closed")}
        figures[case] = {f"{kind} {key}": by_kind[kind].get(key) for kind, key in keys}
    return figures


def baseline(folder: str, urls: dict[str, str]) -> dict[str, dict[str, Any]]:
    paths = [os.path.join(folder, part) for part in ("agent", "shared")]
    env = os.environ | {"PYTHONPATH": os.pathsep.join(paths)}
    argv = [sys.executable, "-m", "bench.reasoning_tokens", "--json", json.dumps(urls)]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    figures: dict[str, dict[str, Any]] = json.loads(out.strip().splitlines()[-1])
    return figures


def _cell(value: Any) -> str:
    return f"{value:10.2f}" if isinstance(value, int | float) else f"{'—':>10}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", metavar="DIR")
    parser.add_argument("--json", metavar="URLS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(json.loads(args.json))))
        return
    reasoning = ["--reasoning-chunks", "20"]
    lying = ["--usage-completion-tokens", "54"]
    with (
        instant_server(pace_ms=(51.0, 10.0), quirks=reasoning) as reasoning_url,
        instant_server(pace_ms=(50.0, 10.0), quirks=lying) as lying_url,
    ):
        urls = {"reasoning": reasoning_url, "usage": lying_url}
        before = baseline(args.baseline, urls) if args.baseline else {}
        after = measure(urls)
    print(f"{'case':<10} {'metric':<28} {'baseline':>10} {'this tree':>10}")
    for case, figures in after.items():
        for key, value in figures.items():
            then = before.get(case, {}).get(key)
            print(f"{case:<10} {key:<28} {_cell(then)} {_cell(value)}")


if __name__ == "__main__":
    main()
