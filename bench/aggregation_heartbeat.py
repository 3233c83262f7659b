"""Heartbeat latency while a large job is aggregated: one controller on loopback (a process,
SQLite), 20 agents heartbeating over gRPC as the agent's link does, and one more agent whose
job of 100,000 samples reports success. The window runs from that report until the job's
results carry its metrics; every heartbeat sent in it counts.

Each code tree is measured in turn with the same driver (this tree's client; the protocol is
the same), so an older checkout gives the "before" column beside this tree's "after":

    git worktree add --detach /tmp/arena-before bbd41de
    .venv/bin/python -m bench.aggregation_heartbeat --before /tmp/arena-before
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from arena.agent.hardware import probe
from arena.agent.link import CHANNEL_OPTIONS, ControllerLink
from arena.client.api import ArenaClient
from arena.common.errors import ArenaError
from arena.common.logging import configure_logging
from arena.common.pb.arena.v2 import agent_pb2, agent_pb2_grpc
from arena.common.schemas.job import JobState
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from bench.common import REPO, controllers, free_port, side_by_side
from bench.ingest import SUITE_HEAD, samples_pb

KEYS = [
    "samples in the job",
    "ReportJobStatus (s)",
    "success -> metrics (s)",
    "heartbeats in window",
    "heartbeat p50 (ms)",
    "heartbeat p99 (ms)",
    "heartbeat max (ms)",
    "heartbeats timed out",
    "idle heartbeat p99 (ms)",
]
BATCH = 5000
"""Samples per push: the controller's largest batch."""
METADATA = (("authorization", f"Bearer {DEV_AGENT_TOKEN}"),)


@dataclass
class Heartbeats:
    """(sent at, latency in s) of every heartbeat, all agents together."""

    beats: list[tuple[float, float]] = field(default_factory=list)
    failed: list[float] = field(default_factory=list)
    """When each heartbeat the controller did not answer within the link's deadline was sent."""
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def within(self, start: float, end: float) -> list[float]:
        return sorted(took for sent, took in self.beats if start <= sent <= end)


async def _heartbeat(address: str, slot: int, interval_s: float, beats: Heartbeats) -> None:
    link = ControllerLink(address, DEV_AGENT_TOKEN)
    await link.register(f"beat-{slot}", probe(), {"role": "heartbeat"}, {})
    await asyncio.sleep(interval_s * slot / 20)  # spread over the interval
    while not beats.stop.is_set():
        sent = time.time()
        began = time.perf_counter()
        try:
            await link.heartbeat([], draining=False)
        except ArenaError:  # past the link's deadline: counted at what it waited
            beats.failed.append(sent)
        beats.beats.append((sent, time.perf_counter() - began))
        await asyncio.sleep(interval_s)
    await link.close()


async def _push_job(address: str, samples: int) -> tuple[ControllerLink, str, int]:
    """Lease the one job and store ``samples`` samples in it: (link, job id, attempt)."""
    link = ControllerLink(address, DEV_AGENT_TOKEN)
    registration = await link.register("big-job", probe(), {"slot": "0"}, {})
    lease = await link.lease(wait_s=10)
    if lease is None:
        raise RuntimeError("the job was not leased")
    await link.report(lease.job_id, lease.attempt, JobState.RUNNING, "aggregation bench")
    batch = agent_pb2.SampleBatch(
        agent_id=registration.agent_id,
        job_id=lease.job_id,
        attempt=lease.attempt,
        samples=samples_pb(BATCH, 64, 0),
    )
    async with grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        push = agent_pb2_grpc.AgentServiceStub(channel).PushSamples
        for acked in range(0, samples, BATCH):
            batch.first_seq = acked + 1
            for position, sample in enumerate(batch.samples):  # one sample per request
                sample.index = acked + position
            reply = await push(batch, metadata=METADATA, timeout=300)
            if reply.acked_seq != acked + BATCH:
                raise RuntimeError(f"ack {reply.acked_seq} after {acked} + {BATCH}")
    return link, lease.job_id, lease.attempt


def _has_metrics(address: str, run_id: str) -> bool:
    with ArenaClient(address, DEV_USER_TOKEN) as client:
        [job] = client.results(run_id).jobs
    return all(bench.variants for bench in job.benchmarks)


async def _measure(address: str, args: argparse.Namespace) -> dict[str, float]:
    with ArenaClient(address, DEV_USER_TOKEN) as client:
        run_id, _ = client.submit(SUITE_HEAD + "  - {name: big, labels: {slot: '0'}}\n", "a.yaml")
    link, job_id, attempt = await _push_job(address, args.samples)
    print(f"{args.samples} samples stored; heartbeating", file=sys.stderr)
    beats = Heartbeats()
    agents = [
        asyncio.create_task(_heartbeat(address, slot, args.interval, beats))
        for slot in range(args.agents)
    ]
    await asyncio.sleep(args.idle)
    idle_end = start = time.time()
    began = time.perf_counter()
    success = agent_pb2.JobStatusRequest(
        agent_id=link.agent_id,
        job_id=job_id,
        attempt=attempt,
        phase=agent_pb2.JOB_PHASE_SUCCEEDED,
        total_samples=args.samples,
    )
    async with grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        report = agent_pb2_grpc.AgentServiceStub(channel).ReportJobStatus
        await report(success, metadata=METADATA, timeout=600)  # the agent's link allows 15 s
    reported = time.perf_counter() - began
    while True:  # the controller's reads of results may wait for it themselves
        if await asyncio.to_thread(_has_metrics, address, run_id):
            break
        await asyncio.sleep(0.1)
    end = time.time()
    await asyncio.sleep(1.0)
    beats.stop.set()
    await asyncio.gather(*agents)
    await link.close()
    window = beats.within(start, end)
    idle = beats.within(idle_end - args.idle, idle_end)
    if len(window) < 2 or len(idle) < 2:
        raise RuntimeError(f"too few heartbeats: {len(window)} in the window, {len(idle)} idle")
    quantiles = statistics.quantiles(window, n=100, method="inclusive")
    return {
        "samples in the job": float(args.samples),
        "ReportJobStatus (s)": reported,
        "success -> metrics (s)": end - start,
        "heartbeats in window": float(len(window)),
        "heartbeat p50 (ms)": quantiles[49] * 1000,
        "heartbeat p99 (ms)": quantiles[98] * 1000,
        "heartbeat max (ms)": window[-1] * 1000,
        "heartbeats timed out": float(sum(start <= sent <= end for sent in beats.failed)),
        "idle heartbeat p99 (ms)": statistics.quantiles(idle, n=100, method="inclusive")[98] * 1000,
    }


def measure(tree: Path, args: argparse.Namespace) -> dict[str, float]:
    """A controller running ``tree``'s code (its source roots first on PYTHONPATH)."""
    roots = os.pathsep.join(str(tree / root) for root in ("controller", "agent", "shared"))
    port = free_port()
    with controllers(None, [port], env={"PYTHONPATH": roots}):
        return asyncio.run(_measure(f"127.0.0.1:{port}", args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, metavar="TREE", help="a checkout to compare")
    parser.add_argument("--samples", type=int, default=100_000, help="multiple of 5000")
    parser.add_argument("--agents", type=int, default=20, help="agents heartbeating")
    parser.add_argument("--interval", type=float, default=0.25, help="s between heartbeats")
    parser.add_argument("--idle", type=float, default=3.0, help="s measured before the report")
    args = parser.parse_args()
    configure_logging("warning")
    setups = {}
    if args.before is not None:
        setups["before"] = lambda: measure(args.before.resolve(), args)
    setups["after"] = lambda: measure(REPO, args)
    title = (
        f"{args.agents} agents heartbeating every {args.interval} s while a job of "
        f"{args.samples} samples is aggregated; SQLite, {os.cpu_count()} CPUs"
    )
    side_by_side(title, KEYS, setups)


if __name__ == "__main__":
    main()
