"""Sample ingest: how many request samples per second one controller stores, and how fast it
acknowledges them, with N simulated agents as separate processes.

Each agent registers, leases its own job (one target per agent) and pushes numbered batches of
realistic samples (one chunk time per output token) back to back, each as soon as the previous
one is acknowledged, as the agent's outbox does; every ack must extend the previous one by the
batch. Each agent encodes its batch once and only renumbers its requests for each push (one
sample per request: the controller refuses a repeat), so the agent's own protobuf cost is left
out and the cores go to the controller. The controller runs as its own process; its CPU time
comes from psutil. One column per database:

    .venv/bin/python -m bench.ingest                       # SQLite in a temporary directory
    .venv/bin/python -m bench.ingest --postgres postgresql+psycopg://arena@/arena_bench
    .venv/bin/python -m bench.ingest --postgres URL --controllers 2   # and two replicas on it

``--postgres`` needs a database the controller may create its tables in.
"""

import argparse
import asyncio
import contextlib
import functools
import itertools
import multiprocessing
import os
import random
import signal
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from multiprocessing.queues import Queue
from typing import TYPE_CHECKING

import psutil

from arena.common.logging import configure_logging
from bench.common import controllers, free_port, side_by_side

if TYPE_CHECKING:
    from arena.common.pb.arena.v2 import common_pb2

SUITE_HEAD = """
name: ingest-bench
models: [{name: tiny, engine: sim}]
engines: {sim: {runtime: simulated}}
runs: 1
benchmarks:
  - {kind: closed_loop, id: chat, pp: [512], tg: [65536], concurrency: [8]}
targets:
"""
VARIANT = "pp512/tg65536/d0/c8"
"""The suite's one variant: its requests ask for up to 65,536 tokens, more than any sample's
``max_tokens`` here (the controller holds samples to the job's spec)."""


KEYS = [
    "samples/s stored",
    "batches/s",
    "ack p50 (ms)",
    "ack p99 (ms)",
    "controller CPU s / 1k samples",
    "controller CPU share",
    "  of which kernel",
    "agents CPU share",
    "database server CPU share",
]


@dataclass(frozen=True)
class Plan:
    run: str
    """Names this measurement's agents apart from earlier ones in the same database."""
    addresses: tuple[str, ...]
    """One per controller; agent ``slot`` pushes to ``addresses[slot % len(addresses)]``."""
    batch: int
    chunks: int
    warmup: float
    seconds: float


@dataclass(frozen=True)
class AgentResult:
    samples: int
    latencies_s: list[float]
    error: str = ""


def samples_pb(batch: int, chunks: int, seed: int) -> "list[common_pb2.RequestSample]":
    """A batch of closed-loop samples as the agent sends them: one chunk time per output token,
    output lengths spread around ``chunks``."""
    from arena.common.pb.arena.v2 import common_pb2
    from arena.common.schemas.sample import RequestSample
    from arena.common.wire import to_message

    rng = random.Random(seed)
    out = []
    for index in range(batch):
        tokens = max(1, int(rng.uniform(0.5, 1.5) * chunks))
        sent = index * 0.5
        times = list(itertools.accumulate(rng.uniform(0.008, 0.012) for _ in range(tokens)))
        first = sent + rng.uniform(0.05, 0.3)
        times = [first + t for t in times]
        sample = RequestSample(
            benchmark="chat",
            variant=VARIANT,
            run=0,
            index=index,
            sent_s=sent,
            first_response_s=times[0],
            first_token_s=times[0],
            end_s=times[-1],
            chunk_times_s=times,
            prompt_tokens=512,
            completion_tokens=tokens,
            max_tokens=2 * chunks,
        )
        out.append(to_message(sample, common_pb2.RequestSample))
    return out


async def _agent(slot: int, plan: Plan, ready: "Queue[int]", starts: "Queue[float]") -> AgentResult:
    import grpc

    from arena.agent.hardware import probe
    from arena.agent.link import CHANNEL_OPTIONS, ControllerLink
    from arena.common.pb.arena.v2 import agent_pb2, agent_pb2_grpc
    from arena.common.schemas.job import JobState
    from arena.common.settings import DEV_AGENT_TOKEN

    address = plan.addresses[slot % len(plan.addresses)]
    link = ControllerLink(address, DEV_AGENT_TOKEN)
    registration = await link.register(
        f"ingest-{plan.run}-{slot}", probe(), {"slot": str(slot)}, {}
    )
    lease = await link.lease(wait_s=10)
    if lease is None:
        return AgentResult(0, [], f"agent {slot} got no job")
    await link.report(lease.job_id, lease.attempt, JobState.RUNNING, "ingest bench")
    batch = agent_pb2.SampleBatch(
        agent_id=registration.agent_id,
        job_id=lease.job_id,
        attempt=lease.attempt,
        samples=samples_pb(plan.batch, plan.chunks, slot),
    )
    metadata = (("authorization", f"Bearer {DEV_AGENT_TOKEN}"),)
    ready.put(slot)
    # the parent opens the window once every agent holds its job
    start_at = await asyncio.to_thread(starts.get) + plan.warmup
    end_at = start_at + plan.seconds
    latencies: list[float] = []
    stored = 0
    acked = 0
    async with grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        push = agent_pb2_grpc.AgentServiceStub(channel).PushSamples
        while time.time() < end_at:
            batch.first_seq = acked + 1
            for position, sample in enumerate(batch.samples):  # one sample per request
                sample.index = acked + position
            began = time.perf_counter()
            reply = await push(batch, metadata=metadata, timeout=120)
            took = time.perf_counter() - began
            if reply.acked_seq != acked + plan.batch:
                return AgentResult(
                    stored,
                    latencies,
                    f"agent {slot}: ack {reply.acked_seq} after {acked} + {plan.batch}",
                )
            acked = reply.acked_seq
            if start_at <= time.time() <= end_at:  # acknowledged inside the window
                latencies.append(took)
                stored += plan.batch
    await link.report(lease.job_id, lease.attempt, JobState.CANCELLED, "ingest bench over")
    await link.close()
    return AgentResult(stored, latencies)


def agent_process(
    slot: int,
    plan: Plan,
    ready: "Queue[int]",
    starts: "Queue[float]",
    results: "Queue[AgentResult]",
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging("warning")  # the agents' own logs stay out of the figures
    try:
        results.put(asyncio.run(_agent(slot, plan, ready, starts)))
    except Exception as error:  # reported by the parent, not swallowed
        ready.put(slot)
        results.put(AgentResult(0, [], f"agent {slot}: {error!r}"))


def submit(address: str, agents: int) -> None:
    from arena.client.api import ArenaClient
    from arena.common.settings import DEV_USER_TOKEN

    targets = "".join(
        f"  - {{name: slot{slot}, labels: {{slot: '{slot}'}}}}\n" for slot in range(agents)
    )
    with ArenaClient(address, DEV_USER_TOKEN) as client:
        client.submit(SUITE_HEAD + targets, "ingest.yaml")


def _cpu(processes: list[psutil.Process]) -> tuple[float, float]:
    """CPU seconds (user + system, system) the processes have used so far."""
    total = kernel = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total, kernel = total + times.user + times.system, kernel + times.system
    return total, kernel


def _postgres_processes() -> list[psutil.Process]:
    """The local PostgreSQL server's processes (its backends do the database's share)."""
    return [
        p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres")
    ]


def measure(database_url: str | None, count: int, args: argparse.Namespace) -> dict[str, float]:
    """``count`` controllers on one database, ``args.agents`` agents spread over them, for
    ``args.seconds``."""
    ports = [free_port() for _ in range(count)]
    addresses = tuple(f"127.0.0.1:{port}" for port in ports)
    with controllers(database_url, ports) as processes:
        submit(addresses[0], args.agents)
        plan = Plan(
            uuid.uuid4().hex[:6], addresses, args.batch, args.chunks, args.warmup, args.seconds
        )
        context = multiprocessing.get_context("spawn")
        ready: Queue[int] = context.Queue()
        results: Queue[AgentResult] = context.Queue()
        starts: Queue[float] = context.Queue()
        workers = [
            context.Process(target=agent_process, args=(slot, plan, ready, starts, results))
            for slot in range(args.agents)
        ]
        for worker in workers:
            worker.start()
        for _ in workers:
            ready.get(timeout=300)
        began = time.time()
        for _ in workers:
            starts.put(began)
        print(
            f"{count} controller(s): {args.agents} agents pushing, measuring after "
            f"{args.warmup:.0f} s for {args.seconds:.0f} s",
            file=sys.stderr,
        )
        own = [psutil.Process(process.pid) for process in processes]
        agents = [psutil.Process(worker.pid) for worker in workers]
        time.sleep(args.warmup)
        server = _postgres_processes() if database_url else []  # its connections are open
        before = [_cpu(own), _cpu(agents), _cpu(server)]
        time.sleep(args.seconds)
        after = [_cpu(own), _cpu(agents), _cpu(server)]
        (cpu_s, kernel_s), (agents_s, _), (server_s, _) = (
            (a[0] - b[0], a[1] - b[1]) for a, b in zip(after, before, strict=True)
        )
        collected = [results.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(30)
    errors = [r.error for r in collected if r.error]
    if errors:
        raise RuntimeError("; ".join(errors[:3]))
    samples = sum(r.samples for r in collected)
    latencies = sorted(t for r in collected for t in r.latencies_s)
    if len(latencies) < 2:
        raise RuntimeError(
            f"only {len(latencies)} batches acknowledged in the window: "
            "measure longer (--seconds) or with fewer agents"
        )
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    figures = {
        "samples/s stored": samples / args.seconds,
        "batches/s": len(latencies) / args.seconds,
        "ack p50 (ms)": quantiles[49] * 1000,
        "ack p99 (ms)": quantiles[98] * 1000,
        "controller CPU s / 1k samples": cpu_s / max(samples, 1) * 1000,
        "controller CPU share": cpu_s / args.seconds,  # all of them together
        "  of which kernel": kernel_s / args.seconds,
        "agents CPU share": agents_s / args.seconds,
        "database server CPU share": server_s / args.seconds,
    }
    assert list(figures) == KEYS
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=32)
    parser.add_argument("--batch", type=int, default=200, help="samples per push (agent default)")
    parser.add_argument("--chunks", type=int, default=512, help="mean output tokens per sample")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--postgres", metavar="URL", help="also measure this PostgreSQL database")
    parser.add_argument(
        "--controllers",
        type=int,
        default=1,
        metavar="N",
        help="with --postgres: also N controllers on it, agents spread evenly",
    )
    args = parser.parse_args()
    setups = {"SQLite": functools.partial(measure, None, 1, args)}
    if args.postgres:
        setups["PostgreSQL"] = functools.partial(measure, args.postgres, 1, args)
        if args.controllers > 1:
            setups[f"PG, {args.controllers} ctl"] = functools.partial(
                measure, args.postgres, args.controllers, args
            )
    title = (
        f"{args.agents} agents, batches of {args.batch} samples, ~{args.chunks} chunk times "
        f"each, {args.seconds:.0f} s measured, {os.cpu_count()} CPUs"
    )
    side_by_side(title, KEYS, setups)


if __name__ == "__main__":
    main()
