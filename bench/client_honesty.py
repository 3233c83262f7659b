"""Client honesty on quiet open-loop runs: the send lag and the saturation verdict as they were
(``sent_s`` after the write, flagged on p99 send lag > 1 ms or CPU > 90 %) and as they are
(``sent_s`` before the write, flagged also on event-loop lag), on the same runs.

The after-write stamp is kept in every sample as ``written_s``, so one run gives both: "before"
is p99 of ``written_s − scheduled_s`` (what main recorded as ``sent_s``), "after" p99 of
``sent_s − scheduled_s``. Against ``bench.instant_server`` paced (TTFT 20 ms, ITL 2 ms).
The machine's load average is printed: on a shared box, loop lag is the box's doing too.

Usage: ``python -m bench.client_honesty [--runs 10] [--rate 50] [--prompts 100]``
"""

import argparse
import asyncio
import os

from arena.common import stats
from arena.common.metrics.client_verdict import crossed
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.schemas.sample import RequestSample
from bench.common import instant_server
from bench.ours import run_ours

OLD_LAG_LIMIT_MS = 1.0
OLD_CPU_LIMIT = 0.9


def p99_ms(samples: list[RequestSample], stamp: str) -> float:
    lags = [
        (getattr(s, stamp) - s.scheduled_s) * 1000.0
        for s in samples
        if s.scheduled_s is not None and getattr(s, stamp) is not None
    ]
    return stats.percentile(lags, 99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--prompts", type=int, default=100)
    args = parser.parse_args()
    print(
        f"{'run':>3} {'p99 lag before':>14} {'p99 lag after':>13} {'cpu':>5} "
        f"{'loop p99':>8} {'loop max':>8} {'stall p99':>9}  flag before  flag after (why)  load"
    )
    fired_before = fired_after = 0
    with instant_server(pace_ms=(20.0, 2.0)) as url:
        for run in range(args.runs):
            samples, load = asyncio.run(run_ours(url, num_prompts=args.prompts, rate=args.rate))
            before = p99_ms(samples, "written_s")
            after = p99_ms(samples, "sent_s")
            old = before > OLD_LAG_LIMIT_MS or load.cpu_util > OLD_CPU_LIMIT
            metrics = open_loop_metrics(samples, client=load.figures())
            why = ", ".join(limit.key for limit, _ in crossed(metrics))
            new = metrics["client_saturated"] == 1.0
            fired_before += old
            fired_after += new
            print(
                f"{run:>3} {before:>14.3f} {after:>13.3f} {load.cpu_util:>5.2f} "
                f"{load.loop_lag_p99_ms or 0:>8.3f} {load.loop_lag_max_ms or 0:>8.2f} "
                f"{metrics['read_stall_p99_ms'] or 0:>9.3f}  {int(old):>11}  {int(new):>10}"
                f" ({why or '-'})  {os.getloadavg()[0]:.2f}"
            )
    print(f"fired: before {fired_before} of {args.runs}, after {fired_after} of {args.runs}")


if __name__ == "__main__":
    main()
