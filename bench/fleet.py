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
import math
import multiprocessing
import signal
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from multiprocessing.queues import Queue

import psutil

from bench.common import controllers, free_port

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
    start_at: float
    seconds: float


async def _agent(slot: int, plan: Plan, latencies: list[float]) -> None:
    from arena.agent.hardware import probe
    from arena.agent.link import ControllerLink
    from arena.common.settings import DEV_AGENT_TOKEN

    link = ControllerLink(plan.address, DEV_AGENT_TOKEN)
    registration = await link.register(f"fleet-{plan.run}-{slot}", probe(), {}, {})
    end_at = plan.start_at + plan.seconds

    async def poll() -> None:
        while time.time() < end_at:
            await link.lease(LEASE_WAIT_S)

    polling = asyncio.create_task(poll())
    await asyncio.sleep(registration.heartbeat_interval_s * (slot % 97) / 97)  # spread them
    while time.time() < end_at:
        began = time.perf_counter()
        await link.heartbeat([], False)
        if time.time() >= plan.start_at:
            latencies.append(time.perf_counter() - began)
        await asyncio.sleep(registration.heartbeat_interval_s)
    polling.cancel()
    await link.close()


async def _agents(plan: Plan) -> list[float]:
    latencies: list[float] = []
    await asyncio.gather(*(_agent(slot, plan, latencies) for slot in plan.slots))
    return latencies


def agents_process(plan: Plan, results: "Queue[list[float] | str]") -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        results.put(asyncio.run(_agents(plan)))
    except Exception as error:  # reported by the parent, not swallowed
        results.put(f"agents {plan.slots}: {error!r}")


def measure(database_url: str | None, args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    interval = {"ARENA_HEARTBEAT_INTERVAL_S": str(args.heartbeat_interval)}
    with controllers(database_url, [port], interval) as [controller]:
        run = uuid.uuid4().hex[:6]
        start_at = time.time() + args.warmup
        share = math.ceil(args.agents / args.processes)
        plans = [
            Plan(
                f"127.0.0.1:{port}",
                run,
                range(first, min(first + share, args.agents)),
                start_at,
                args.seconds,
            )  # fmt: skip
            for first in range(0, args.agents, share)
        ]
        context = multiprocessing.get_context("spawn")
        results: Queue[list[float] | str] = context.Queue()
        workers = [context.Process(target=agents_process, args=(p, results)) for p in plans]
        for worker in workers:
            worker.start()
        process = psutil.Process(controller.pid)
        agents = [psutil.Process(worker.pid) for worker in workers]
        time.sleep(max(0.0, start_at - time.time()))
        before = sum(process.cpu_times()[:2]), sum(sum(a.cpu_times()[:2]) for a in agents)
        time.sleep(args.seconds)
        cpu_s = sum(process.cpu_times()[:2]) - before[0]
        agents_s = sum(sum(a.cpu_times()[:2]) for a in agents) - before[1]
        collected = [results.get(timeout=args.warmup + args.seconds + 120) for _ in workers]
        for worker in workers:
            worker.join(30)
    errors = [one for one in collected if isinstance(one, str)]
    if errors:
        raise RuntimeError("; ".join(errors[:3]))
    latencies = sorted(t for one in collected for t in one)
    if len(latencies) < 2:
        raise RuntimeError("no heartbeat in the window: give the agents a longer --warmup")
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
    parser.add_argument("--warmup", type=float, default=30.0, help="time to register them all")
    parser.add_argument("--postgres", metavar="URL", help="also measure this PostgreSQL database")
    parser.add_argument("--heartbeat-interval", type=float, default=2.0,
                        help="the controller's heartbeat_interval_s (its default: 2)")  # fmt: skip
    args = parser.parse_args()
    databases = {"SQLite": None} | ({"PostgreSQL": args.postgres} if args.postgres else {})
    columns: dict[str, dict[str, float]] = {}
    for name, url in databases.items():
        try:
            columns[name] = measure(url, args)
        except RuntimeError as error:  # one database failing still shows the other's figures
            print(f"{name}: {error}", file=sys.stderr)
            columns[name] = dict.fromkeys(KEYS, math.nan)
    print(f"idle agents heartbeating and long-polling, {args.seconds:.0f} s measured")
    print(f"{'':32}" + "".join(f"{name:>14}" for name in columns))
    for key in KEYS:
        print(f"{key:32}" + "".join(f"{column[key]:14.3f}" for column in columns.values()))


if __name__ == "__main__":
    main()
