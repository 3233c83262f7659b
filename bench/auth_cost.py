"""Auth cost: what a call pays for the credential lookup and for TLS.

One controller per transport (plain text, TLS) on loopback; against each, the same Heartbeat
call with a static token (matched in memory, plus one query: is the name enrolled?) and with
an enrolled credential (one indexed query by hash), interleaved round by round so that load on
the machine hits every variant alike. Prints the median and p95 per call and the ratio to the
plain-text static-token call.

Usage: ``python -m bench.auth_cost [--calls 300] [--rounds 5]``
"""

import argparse
import tempfile
import time
from pathlib import Path

import grpc

from arena.agent.hardware import probe
from arena.common import stats
from arena.common.pb.arena.v2 import agent_pb2, agent_pb2_grpc, common_pb2, user_pb2
from arena.common.pb.arena.v2 import user_pb2_grpc as user_grpc
from arena.common.settings import DEV_AGENT_TOKEN
from arena.common.wire import to_message
from arena.controller.settings import ControllerSettings
from arena.controller.tls import generated_paths
from tests.support import ControllerThread

ADMIN = "bench-admin-token"


def prepare(
    running: ControllerThread, tls: bool
) -> dict[str, tuple[agent_pb2_grpc.AgentServiceStub, str, str]]:
    """(stub, token, agent id) for a static-token agent and an enrolled one."""
    if tls:
        cert = generated_paths(running.settings.data_dir)[1].read_bytes()
        channel = grpc.secure_channel(running.address, grpc.ssl_channel_credentials(cert))
    else:
        channel = grpc.insecure_channel(running.address)
    agents, users = agent_pb2_grpc.AgentServiceStub(channel), user_grpc.UserServiceStub(channel)
    admin = (("authorization", f"Bearer {ADMIN}"),)
    token = users.CreateEnrolment(
        user_pb2.CreateEnrolmentRequest(expires_in_s=60, uses=1), metadata=admin
    ).token
    hardware = to_message(probe(), common_pb2.HardwareInfo)
    enrol = agent_pb2.EnrollRequest(agent_name="enrolled", hardware=hardware)
    enrolled = agents.Enroll(enrol, metadata=(("authorization", f"Bearer {token}"),)).credential
    found = {}
    for name, secret in (("static", DEV_AGENT_TOKEN), ("enrolled", enrolled)):
        reply = agents.Register(
            agent_pb2.RegisterRequest(agent_name=name, hardware=hardware),
            metadata=(("authorization", f"Bearer {secret}"),),
        )
        found[name] = (agents, secret, reply.agent_id)
    return found


def timed(stub: object, secret: str, agent_id: str, calls: int) -> list[float]:
    request = agent_pb2.HeartbeatRequest(agent_id=agent_id)
    metadata = (("authorization", f"Bearer {secret}"),)
    took = []
    for _ in range(calls):
        start = time.perf_counter()
        stub.Heartbeat(request, metadata=metadata, timeout=10)  # type: ignore[attr-defined]
        took.append((time.perf_counter() - start) * 1000.0)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:

        def settings(name: str, tls: bool) -> ControllerSettings:
            return ControllerSettings(
                listen="127.0.0.1:0",
                data_dir=Path(folder) / name,
                tls=tls,
                admin_token=ADMIN,
                log_level="warning",
            )

        with (
            ControllerThread(settings("plain", False)) as plain,
            ControllerThread(settings("tls", True)) as secure,
        ):
            variants = {}
            for transport, running in (("plain", plain), ("tls", secure)):
                for who, target in prepare(running, transport == "tls").items():
                    variants[f"{transport}/{who}"] = target
            samples: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.rounds):
                for name, (stub, secret, agent_id) in variants.items():
                    samples[name] += timed(stub, secret, agent_id, args.calls // args.rounds)
    base = stats.median(samples["plain/static"])
    print(f"{'variant':<16} {'calls':>6} {'median ms':>10} {'p95 ms':>8} {'ratio':>6}")
    for name, took in samples.items():
        ordered = sorted(took)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        median = stats.median(took)
        print(f"{name:<16} {len(took):>6} {median:>10.3f} {p95:>8.3f} {median / base:>6.2f}")


if __name__ == "__main__":
    main()
