"""What the event-loop monitor costs the client, two ways:

- idle: CPU time of a loop running only the monitor, per second of wall time, beside the same
  loop without it (the worst case: every tick is a wake-up of its own);
- in a run: client CPU seconds per request of the same open-loop run against
  ``bench.instant_server``, with the monitor as shipped and with it ticking once a second
  (effectively off), alternated ``--pairs`` times.

Usage: ``python -m bench.loop_lag_cost [--seconds 3] [--pairs 3] [--rate 200] [--prompts 400]``
"""

import argparse
import asyncio
import time
from unittest import mock

from arena.agent.generator import open_loop
from arena.agent.generator.clock import JobClock
from arena.agent.generator.loop_lag import INTERVAL_S, LoopMonitor
from bench.common import instant_server
from bench.ours import run_ours


async def idle(seconds: float, monitored: bool) -> tuple[float, int]:
    """CPU seconds per wall second of a loop that only sleeps (and ticks, when monitored)."""
    cpu = time.process_time()
    wall = time.perf_counter()
    if monitored:
        async with LoopMonitor(JobClock()) as monitor:
            await asyncio.sleep(seconds)
        ticks = len(monitor.overshoots_s)
    else:
        await asyncio.sleep(seconds)
        ticks = 0
    return (time.process_time() - cpu) / (time.perf_counter() - wall), ticks


class _Rare(LoopMonitor):
    def __init__(self, clock: JobClock, interval_s: float = 1.0) -> None:
        super().__init__(clock, interval_s)


def run_cpu_per_request_us(url: str, rate: float, prompts: int, monitored: bool) -> float:
    with mock.patch.object(open_loop, "LoopMonitor", LoopMonitor if monitored else _Rare):
        cpu = time.process_time()
        asyncio.run(run_ours(url, num_prompts=prompts, rate=rate))
        return (time.process_time() - cpu) / prompts * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--prompts", type=int, default=400)
    args = parser.parse_args()
    plain, _ = asyncio.run(idle(args.seconds, monitored=False))
    watched, ticks = asyncio.run(idle(args.seconds, monitored=True))
    per_tick_us = (watched - plain) * args.seconds / ticks * 1e6 if ticks else 0.0
    print(f"idle: interval {INTERVAL_S * 1000:g} ms, {ticks} ticks in {args.seconds:g} s")
    print(f"idle: CPU share of a core without monitor {plain:.3%}, with {watched:.3%}")
    print(f"idle: cost per tick {per_tick_us:.1f} µs CPU")
    with instant_server() as url:
        for pair in range(args.pairs):
            off = run_cpu_per_request_us(url, args.rate, args.prompts, monitored=False)
            on = run_cpu_per_request_us(url, args.rate, args.prompts, monitored=True)
            print(
                f"run pair {pair}: client CPU per request {off:.1f} µs (monitor off), "
                f"{on:.1f} µs (on), ratio {on / off:.3f}"
            )


if __name__ == "__main__":
    main()
