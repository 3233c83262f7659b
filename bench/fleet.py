"""A fleet on one controller: what keeping N agents connected costs it, with no work to give.

Each agent registers and then does what an idle ``arena-agent`` does: a heartbeat every
``heartbeat_interval_s`` (the controller's: 2 s unless ``--heartbeat-interval``) and a
long-poll for work (``LeaseJob`` with the agent's ``lease_wait_s``, 10 s), again and again.
The agents run as asyncio tasks in a few processes, each with its own channel. It prints,
per database, heartbeats/s, their latency p50/p99 and the controller's CPU share (psutil):

    .venv/bin/python -m bench.fleet                          # 1,000 agents on SQLite
    .venv/bin/python -m bench.fleet --agents 300 --postgres postgresql+psycopg://arena@/arena_bench
"""

import argparse
import asyncio
import functools
import math
import multiprocessing
import queue
import signal
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from multiprocessing.queues import Queue

import psutil

from arena.common.logging import configure_logging
from bench.common import controllers, free_port, side_by_side

KEYS = [
    "agents",
    "heartbeat interval (s)",
    "heartbeats/s",
    "heartbeat p50 (ms)",
    "heartbeat p99 (ms)",
    "controller CPU share",
    "controller CPU ms / heartbeat",
    "agents' CPU share",
]
LEASE_WAIT_S = 10.0
"""``arena-agent``'s default ``lease_wait_s``."""


@dataclass(frozen=True)
class Plan:
    address: str
    run: str
    slots: range
    seconds: float


@dataclass
class Window:
    """When heartbeats count; known once every agent of every process has registered."""

    start: float = math.inf
    end: float = math.inf


async def _agent(
    slot: int, plan: Plan, window: Window, registered: asyncio.Queue[int], latencies: list[float]
) -> None:
    from arena.agent.hardware import probe
    from arena.agent.link import ControllerLink
    from arena.common.settings import DEV_AGENT_TOKEN

    link = ControllerLink(plan.address, DEV_AGENT_TOKEN)
    try:
        registration = await link.register(f"fleet-{plan.run}-{slot}", probe(), {}, {})
    finally:
        registered.put_nowait(slot)  # or failed: the process stops waiting for it either way

    async def poll() -> None:
        while time.time() < window.end:
            await link.lease(LEASE_WAIT_S)

    polling = asyncio.create_task(poll())
    await asyncio.sleep(registration.heartbeat_interval_s * (slot % 97) / 97)  # spread them
    while time.time() < window.end:
        began = time.perf_counter()
        await link.heartbeat([], False)
        if window.start <= time.time() <= window.end:
            latencies.append(time.perf_counter() - began)
        await asyncio.sleep(registration.heartbeat_interval_s)
    polling.cancel()
    await link.close()


async def _agents(plan: Plan, ready: "Queue[int]", starts: "Queue[float]") -> list[float]:
    window, registered = Window(), asyncio.Queue[int]()
    latencies: list[float] = []
    fleet = asyncio.gather(
        *(_agent(slot, plan, window, registered, latencies) for slot in plan.slots)
    )
    for _ in plan.slots:
        await registered.get()
    if fleet.done():
        await fleet  # an agent could not register: its error
    ready.put(len(plan.slots))
    window.start = await asyncio.to_thread(starts.get)  # the parent: every process is ready
    window.end = window.start + plan.seconds
    await fleet
    return latencies


def agents_process(
    plan: Plan, ready: "Queue[int]", starts: "Queue[float]", results: "Queue[list[float] | str]"
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging("warning")  # the agents' own logs stay out of the figures
    try:
        results.put(asyncio.run(_agents(plan, ready, starts)))
    except Exception as error:  # reported by the parent, not swallowed
        ready.put(0)
        results.put(f"agents {plan.slots}: {error!r}")


def measure(database_url: str | None, args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    interval = {"ARENA_HEARTBEAT_INTERVAL_S": str(args.heartbeat_interval)}
    with controllers(database_url, [port], interval) as [controller]:
        run = uuid.uuid4().hex[:6]
        share = math.ceil(args.agents / args.processes)
        address = f"127.0.0.1:{port}"
        plans = [
            Plan(address, run, range(first, min(first + share, args.agents)), args.seconds)
            for first in range(0, args.agents, share)
        ]
        context = multiprocessing.get_context("spawn")
        ready: Queue[int] = context.Queue()
        starts: Queue[float] = context.Queue()
        results: Queue[list[float] | str] = context.Queue()
        workers = [
            context.Process(target=agents_process, args=(plan, ready, starts, results))
            for plan in plans
        ]
        for worker in workers:
            worker.start()
        began = time.monotonic()
        try:
            registered = sum(ready.get(timeout=600) for _ in workers)
        except queue.Empty:
            raise RuntimeError("the agents did not register within 10 minutes") from None
        print(
            f"{registered} agents registered in {time.monotonic() - began:.0f} s", file=sys.stderr
        )
        start_at = time.time() + args.settle
        for _ in workers:
            starts.put(start_at)
        process = psutil.Process(controller.pid)
        agents = [psutil.Process(worker.pid) for worker in workers]
        time.sleep(args.settle)
        before = sum(process.cpu_times()[:2]), sum(sum(a.cpu_times()[:2]) for a in agents)
        time.sleep(args.seconds)
        cpu_s = sum(process.cpu_times()[:2]) - before[0]
        agents_s = sum(sum(a.cpu_times()[:2]) for a in agents) - before[1]
        collected = [results.get(timeout=args.seconds + 120) for _ in workers]
        for worker in workers:
            worker.join(30)
    errors = [one for one in collected if isinstance(one, str)]
    if errors:
        raise RuntimeError("; ".join(errors[:3]))
    latencies = sorted(t for one in collected if not isinstance(one, str) for t in one)
    if len(latencies) < 2:
        raise RuntimeError("no heartbeat in the window: measure longer (--seconds)")
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    figures = {
        "agents": float(args.agents),
        "heartbeat interval (s)": args.heartbeat_interval,
        "heartbeats/s": len(latencies) / args.seconds,
        "heartbeat p50 (ms)": quantiles[49] * 1000,
        "heartbeat p99 (ms)": quantiles[98] * 1000,
        "controller CPU share": cpu_s / args.seconds,
        "controller CPU ms / heartbeat": cpu_s / len(latencies) * 1000,
        "agents' CPU share": agents_s / args.seconds,
    }
    assert list(figures) == KEYS
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=4, help="agent processes")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window")
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds all registered before the window opens"
    )
    parser.add_argument("--postgres", metavar="URL", help="also measure this PostgreSQL database")
    parser.add_argument(
        "--heartbeat-interval",
        type=float,
        default=2.0,
        help="the controller's heartbeat_interval_s (its default: 2)",
    )
    args = parser.parse_args()
    setups = {"SQLite": functools.partial(measure, None, args)}
    if args.postgres:
        setups["PostgreSQL"] = functools.partial(measure, args.postgres, args)
    title = f"idle agents heartbeating and long-polling, {args.seconds:.0f} s measured"
    side_by_side(title, KEYS, setups)


if __name__ == "__main__":
    main()
