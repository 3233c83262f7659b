"""Open-loop send lag: how late each request leaves against its schedule, at 100/500/1000 req/s.

Against ``bench.instant_server`` in its own process, Arena's generator runs vLLM's seeded
Poisson schedule (seed 42) for ``--seconds`` per rate, in one process and with ``--workers``
processes, after one unmeasured warm-up run. Lag = actual send − scheduled send, per request.
Prints p50/p99/max lag, the send rate achieved, the busiest client core's utilisation and the
``client_saturated`` flag the results would carry. The machine's load average is printed too:
on a shared machine other processes' CPU use shows up as lag.

``--late N`` also lists, under each row, the first N requests that left over 1 ms late: when
into the run, from which worker, how late. Stalls shared by every worker at one moment point
at something all processes do alike (a full garbage collection after start-up was one);
scattered ones at the machine.

Usage: ``python -m bench.timing [--seconds 3] [--workers 2] [--late 0]``
"""

import argparse
import asyncio
import os

from arena.common import stats
from arena.common.metrics.client_verdict import client_saturated
from arena.common.schemas.sample import RequestSample
from bench.ours import lags_ms, run_ours

RATES = (100.0, 500.0, 1000.0)


LATE_MS = 1.0


def late_requests(samples: list[RequestSample], workers: int, count: int) -> str:
    """The first ``count`` requests over ``LATE_MS`` late, as time-into-run/worker/lag-ms."""
    start = min(s.scheduled_s for s in samples if s.scheduled_s is not None)
    late = sorted(
        (s.scheduled_s - start, s.index % workers, (s.sent_s - s.scheduled_s) * 1000.0)
        for s in samples
        if s.scheduled_s is not None and (s.sent_s - s.scheduled_s) * 1000.0 > LATE_MS
    )
    cells = " ".join(f"{t:.3f}s/w{w}/{lag:.1f}ms" for t, w, lag in late[:count])
    return f"         {len(late)} late > {LATE_MS:g} ms: {cells}"


def row(rate: float, workers: int, seconds: float, url: str, late: int) -> str:
    samples, load = asyncio.run(
        run_ours(url, num_prompts=int(rate * seconds), rate=rate, workers=workers)
    )
    lags = lags_ms(samples)
    sent = sorted(s.sent_s for s in samples)
    achieved = (len(sent) - 1) / (sent[-1] - sent[0])
    p99 = stats.percentile(lags, 99)
    figures = {"p99_send_lag_ms": p99, "client_cpu_util": load.cpu_util}
    flag = int(client_saturated(figures | {"loop_lag_p99_ms": load.loop_lag_p99_ms}))
    failed = sum(1 for s in samples if not s.ok)
    line = (
        f"{rate:>6.0f} {workers:>7} {stats.percentile(lags, 50):>9.3f} {p99:>9.3f} "
        f"{max(lags):>9.3f} {achieved:>10.1f} {load.cpu_util:>8.2f} {flag:>9} {failed:>6}"
        f"   load {os.getloadavg()[0]:.2f}"
    )
    return line + ("\n" + late_requests(samples, workers, late) if late else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--late", type=int, default=0, metavar="N")
    args = parser.parse_args()
    from bench.common import instant_server

    with instant_server() as url:
        asyncio.run(run_ours(url, num_prompts=200, rate=200.0))  # warm-up, not reported
        print(f"open-loop send lag, {args.seconds:g} s per rate, Poisson arrivals, seed 42")
        print("  rate workers   p50 ms    p99 ms    max ms  sent/s  cpu_util saturated failed")
        for rate in RATES:
            for workers in sorted({1, args.workers}):
                print(row(rate, workers, args.seconds, url, args.late), flush=True)


if __name__ == "__main__":
    main()
