"""Oversized inputs against a real controller process: what each costs everybody else.

One ``arena-controller`` on loopback (SQLite). Four bystander clients, another user than the
attacker, call ListRuns 20 times a second each throughout; the controller's RSS is sampled every
10 ms. Each attack runs after a quiet window; for each, the bench prints what the attacker was
told, how long the attack took, the controller's RSS before and at its peak, and the
bystanders' ListRuns p50/p99 in the quiet window and during the attack, with the p99 ratio.

First, for comparison, ten ordinary suites submitted one after the other. Attacks: one 0.9 MB
suite of 20,000 targets; eight of them at once from one user; a 16 kB
suite whose aliases repeat a 4 kB description into 130 MB of job specs; sixteen
unauthenticated 60 MB ImportResults calls at once; sixteen Register calls with 900 kB labels.

Usage: ``python -m bench.abuse [--quiet-s 2]``
"""

import argparse
import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
import psutil

from arena.agent.hardware import probe
from arena.common import stats
from arena.common.pb.arena.v2 import agent_pb2, common_pb2, user_pb2
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.common.wire import to_message
from bench.common import controllers, free_port
from tests.integration.test_protocol import SUITE
from tests.integration.test_stall_and_bloat import laughing_descriptions, many_targets

BYSTANDER = "bench-bystander-admin-token"
BYSTANDERS = 4
BYSTANDER_PERIOD_S = 0.05


@dataclass
class Watch:
    """ListRuns latencies (when each ended, ms) and RSS samples, recorded in the background."""

    pid: int
    address: str
    latencies: list[tuple[float, float]] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._memory)]
        threads += [threading.Thread(target=self._bystander) for _ in range(BYSTANDERS)]
        for thread in threads:
            thread.start()
        return threads

    def _memory(self) -> None:
        process = psutil.Process(self.pid)
        while not self.stop.is_set():
            self.rss.append((time.monotonic(), process.memory_info().rss))
            time.sleep(0.01)

    def _bystander(self) -> None:
        with grpc.insecure_channel(self.address) as channel:
            call = channel.unary_unary(
                "/arena.v2.UserService/ListRuns",
                request_serializer=user_pb2.ListRunsRequest.SerializeToString,
                response_deserializer=user_pb2.ListRunsResponse.FromString,
            )
            metadata = (("authorization", f"Bearer {BYSTANDER}"),)
            while not self.stop.is_set():
                started = time.monotonic()
                with contextlib.suppress(grpc.RpcError):  # a refusal counts by its latency too
                    call(user_pb2.ListRunsRequest(limit=20), metadata=metadata, timeout=120)
                ended = time.monotonic()
                self.latencies.append((ended, (ended - started) * 1000.0))
                time.sleep(max(0.0, BYSTANDER_PERIOD_S - (ended - started)))

    def window(self, start: float, end: float) -> tuple[list[float], int]:
        """Latencies of calls that ended in [start, end] and the peak RSS in it."""
        took = [ms for ended, ms in self.latencies if start <= ended <= end]
        peak = max((rss for at, rss in self.rss if start <= at <= end), default=0)
        return took, peak


def p(values: list[float], q: float) -> float:
    return stats.percentile(values, q) if values else float("nan")


async def _calls(address: str, method: str, bodies: list[bytes], token: str) -> Counter[str]:
    options = [("grpc.max_send_message_length", 128 << 20)]

    async def one(body: bytes) -> str:
        async with grpc.aio.insecure_channel(address, options=options) as channel:
            call = channel.unary_unary(method)
            try:
                await call(body, metadata=(("authorization", f"Bearer {token}"),), timeout=300)
            except grpc.aio.AioRpcError as error:
                return error.code().name
            return "OK"

    return Counter(await asyncio.gather(*(one(body) for body in bodies)))


def submit(copies: int, text: str) -> Callable[[str], Counter[str]]:
    body = user_pb2.SubmitSuiteRequest(suite_yaml=text, filename="abuse.yaml").SerializeToString()
    method = "/arena.v2.UserService/SubmitSuite"
    return lambda address: asyncio.run(_calls(address, method, [body] * copies, DEV_USER_TOKEN))


def unauthenticated(copies: int, size: int) -> Callable[[str], Counter[str]]:
    body = b"\x0a" + b"\xff" * 5 + b"x" * size
    method = "/arena.v2.UserService/ImportResults"
    return lambda address: asyncio.run(_calls(address, method, [body] * copies, "nobody"))


def huge_labels(copies: int, size: int) -> Callable[[str], Counter[str]]:
    hardware = to_message(probe(), common_pb2.HardwareInfo)
    bodies = [
        agent_pb2.RegisterRequest(
            agent_name=f"abuser-{i}", hardware=hardware, labels={"rack": "v" * size}
        ).SerializeToString()
        for i in range(copies)
    ]
    method = "/arena.v2.AgentService/Register"
    return lambda address: asyncio.run(_calls(address, method, bodies, DEV_AGENT_TOKEN))


def one_by_one(copies: int, text: str) -> Callable[[str], Counter[str]]:
    """Not an attack: what an ordinary suite's submission costs, for comparison."""
    single = submit(1, text)

    def run(address: str) -> Counter[str]:
        told: Counter[str] = Counter()
        for _ in range(copies):
            told += single(address)
        return told

    return run


ATTACKS: dict[str, Callable[[str], Counter[str]]] = {
    "10 ordinary suites, in turn": one_by_one(10, SUITE.format(target="any", labels="{}")),
    "suite 0.9 MB, 20k targets": submit(1, many_targets()),
    "8 such suites at once": submit(8, many_targets()),
    "alias bomb: 130 MB of specs": submit(1, laughing_descriptions()),
    "16 x 60 MB unauthenticated": unauthenticated(16, 60 << 20),
    "16 x 900 kB labels": huge_labels(16, 900_000),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quiet-s", type=float, default=2.0)
    args = parser.parse_args()
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = {"ARENA_ADMIN_TOKEN": BYSTANDER}
    rows = []
    with controllers(None, [port], env=env) as (process,):
        watch = Watch(process.pid, address)
        threads = watch.start()
        try:
            for name, attack in ATTACKS.items():
                quiet_start = time.monotonic()
                time.sleep(args.quiet_s)
                start = time.monotonic()
                told = attack(address)
                end = time.monotonic()
                time.sleep(0.2)  # the calls that were stuck behind the attack end now
                quiet, quiet_peak = watch.window(quiet_start, start)
                during, peak = watch.window(start, end + 0.2)
                rows.append((name, told, end - start, quiet_peak, peak, quiet, during))
        finally:
            watch.stop.set()
            for thread in threads:
                thread.join()
    print(
        f"{'attack':<30} {'told':<40} {'s':>6} {'RSS MB':>13} "
        f"{'ListRuns p50 ms':>17} {'p99 ms':>17} {'p99x':>6}"
    )
    for name, told, took, quiet_peak, peak, quiet, during in rows:
        said = ", ".join(f"{count} {code}" for code, count in sorted(told.items()))
        ratio = p(during, 99) / p(quiet, 99)
        print(
            f"{name:<30} {said:<40} {took:>6.1f} {quiet_peak / 1e6:>5.0f} → {peak / 1e6:>5.0f} "
            f"{p(quiet, 50):>7.1f} → {p(during, 50):>7.1f} {p(quiet, 99):>7.1f} → "
            f"{p(during, 99):>7.1f} {ratio:>6.1f}"
        )


if __name__ == "__main__":
    main()
