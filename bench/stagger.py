"""Stagger: how far apart a client's "simultaneous" requests reach the server.

llama-benchy's closed loop fires a batch of c requests at once, and so does Arena's. A batching
server (llama-server) starts a step with whatever has arrived: a request landing a few ms after
the others waits for the next step, so its TTFT, and the batch's throughput, depend on how
tightly the client sends. Against the paced server logging arrivals (``bench.instant_server
--arrivals``), this runs each client's closed loop (3 runs plus its warm-up) and prints each
batch's spread, first to last arrival, on the machine's monotonic clock.

Usage: ``python -m bench.stagger [--concurrency 4] [--pp 128] [--tg 32]``
"""

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

from arena.common import stats
from bench.common import BENCHY_VENV, instant_server, seed_benchy_corpus, tool
from bench.parity import PACE_MS, benchy_closed, ours_closed

BATCH_GAP_S = 0.05
"""Arrivals further apart than this belong to different batches (batches are > 100 ms apart)."""


def batch_spreads_ms(arrivals: list[float], size: int) -> list[float]:
    """First-to-last spread of every group of exactly ``size`` arrivals (lone latency probes
    and anything else fall out)."""
    groups: list[list[float]] = []
    for t in sorted(arrivals):
        if groups and t - groups[-1][-1] <= BATCH_GAP_S:
            groups[-1].append(t)
        else:
            groups.append([t])
    return [(g[-1] - g[0]) * 1000.0 for g in groups if len(g) == size]


def measure(name: str, run: Callable[[str], object], size: int, folder: Path) -> None:
    log = folder / f"{name}.arrivals"
    with instant_server(pace_ms=PACE_MS, arrivals=log) as url:
        run(url)
    spreads = batch_spreads_ms([float(line) for line in log.read_text().split()], size)
    if not spreads:
        print(f"{name:<14} no batches of {size} seen")
        return
    print(f"{name:<14} {len(spreads):>7} {stats.median(spreads):>10.3f} {max(spreads):>10.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pp", type=int, default=128)
    parser.add_argument("--tg", type=int, default=32)
    args = parser.parse_args()
    seed_benchy_corpus()
    print(f"arrival spread of batches of {args.concurrency} (first to last request), paced server")
    print(f"{'client':<14} {'batches':>7} {'median ms':>10} {'max ms':>10}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        measure("arena", lambda url: ours_closed(url, args), args.concurrency, folder)
        benchy = tool(BENCHY_VENV, "llama-benchy")
        if benchy is not None:
            run = lambda url: benchy_closed(url, args, folder, benchy)  # noqa: E731
            measure("llama-benchy", run, args.concurrency, folder)


if __name__ == "__main__":
    main()
