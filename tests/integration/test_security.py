"""Every refusal of docs/security.md against a real controller over real TLS on loopback: the
right status, an audit line, and nothing stored (rows counted before and after).

The table in docs/security.md is rendered from CASES; ``test_the_docs_table_is_current`` fails
with the table to paste when they disagree.
"""

import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog

from arena.agent.hardware import probe
from arena.client.api import ArenaClient
from arena.common import pki
from arena.common.errors import UnavailableError
from arena.common.pb.arena.v2 import agent_pb2, agent_pb2_grpc, common_pb2, user_pb2
from arena.common.pb.arena.v2 import user_pb2_grpc as user_grpc
from arena.common.schemas.packed import pack_floats
from arena.common.settings import DEV_AGENT_TOKEN
from arena.common.transport import ClientTls
from arena.common.wire import to_message
from arena.controller.settings import ControllerSettings
from arena.controller.tls import generated_paths
from tests.conftest import REPO
from tests.support import ControllerThread

ADMIN = "test-admin-token"
TABLES = (
    "agents",
    "credentials",
    "enrolments",
    "runs",
    "run_owners",
    "jobs",
    "samples",
    "job_logs",
    "telemetry",
    "tool_results",
)
SUITE = """
name: security-test
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
targets:
  - name: lab
    labels: {site: lab}
runs: 1
benchmarks:
  - kind: closed_loop
    id: chat
    pp: [16]
    tg: [8]
    concurrency: [2]
"""
SAMPLE = common_pb2.RequestSample(
    benchmark="chat",
    variant="pp16/tg8/d0/c2",
    run=0,
    index=0,
    sent_s=0.1,
    first_token_s=0.2,
    end_s=0.3,
    chunk_times_s_packed=pack_floats([0.3]),
    completion_tokens=1,
    prompt_tokens=16,
)


class World:
    """A TLS controller with users vic (viewer), sam and sue (submitters), sam's run, and two
    enrolled agents: a1 (site=lab) holding the run's job at attempt 1, and a2."""

    expired: str  # enrolment tokens the cases' setups make
    fresh: str

    def __init__(self, running: ControllerThread) -> None:
        self.running = running
        self.db = running.settings.data_dir / "arena.db"
        cert = generated_paths(running.settings.data_dir)[1].read_bytes()
        self.channel = grpc.secure_channel(running.address, grpc.ssl_channel_credentials(cert))
        self.user = user_grpc.UserServiceStub(self.channel)
        self.agent = agent_pb2_grpc.AgentServiceStub(self.channel)
        self.hardware = to_message(probe(), common_pb2.HardwareInfo)
        self.tokens = {
            name: self.call_user(
                ADMIN, "CreateUser", user_pb2.CreateUserRequest(name=name, role=role)
            ).token
            for name, role in (
                ("vic", user_pb2.USER_ROLE_VIEWER),
                ("sam", user_pb2.USER_ROLE_SUBMITTER),
                ("sue", user_pb2.USER_ROLE_SUBMITTER),
            )
        }
        submitted = self.call_user(
            self.tokens["sam"], "SubmitSuite", user_pb2.SubmitSuiteRequest(suite_yaml=SUITE)
        )
        self.run_id, self.job_id = submitted.run_id, submitted.job_ids[0]
        self.enrolment = self.enrolment_token({"site": "lab"})
        self.creds: dict[str, str] = {}
        self.creds["a1"] = self.enroll(self.enrolment, "a1")
        self.creds["a2"] = self.enroll(self.enrolment_token({}), "a2")
        self.ids = {
            name: self.register(name, {"site": "lab"} if name == "a1" else {})
            for name in self.creds
        }
        lease = self.call_agent(
            "a1", "LeaseJob", agent_pb2.LeaseJobRequest(agent_id=self.ids["a1"], wait_s=0)
        ).lease
        assert (lease.job_id, lease.attempt) == (self.job_id, 1)

    def meta(self, token: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {token}"),) if token else ()

    def call_user(self, token: str, method: str, request: object) -> Any:
        return getattr(self.user, method)(request, metadata=self.meta(token), timeout=10)

    def call_agent(self, who: str, method: str, request: object) -> Any:
        token = self.creds.get(who, who)
        return getattr(self.agent, method)(request, metadata=self.meta(token), timeout=10)

    def enrolment_token(self, labels: dict[str, str], expires_s: float = 3600) -> str:
        request = user_pb2.CreateEnrolmentRequest(labels=labels, expires_in_s=expires_s, uses=1)
        return self.call_user(ADMIN, "CreateEnrolment", request).token

    def enroll(self, token: str, name: str) -> str:
        request = agent_pb2.EnrollRequest(agent_name=name, hardware=self.hardware)
        return self.call_agent(token, "Enroll", request).credential

    def register(self, name: str, labels: dict[str, str], as_: str = "") -> str:
        request = agent_pb2.RegisterRequest(agent_name=name, hardware=self.hardware, labels=labels)
        return self.call_agent(as_ or name, "Register", request).agent_id

    def samples(self, who: str, agent: str, attempt: int) -> agent_pb2.SampleBatch:
        return agent_pb2.SampleBatch(
            agent_id=self.ids[agent],
            job_id=self.job_id,
            attempt=attempt,
            first_seq=1,
            samples=[SAMPLE],
        )

    def rows(self) -> tuple[int, str]:
        """Rows in every table a refused call could write, and the jobs' states."""
        with sqlite3.connect(self.db) as conn:
            total = sum(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES)
            states = ",".join(s for (s,) in conn.execute("SELECT state FROM jobs ORDER BY id"))
        return total, states


@dataclass(frozen=True)
class Case:
    name: str
    code: grpc.StatusCode
    rows: int
    """Rows in TABLES before the call (and, the call refused, after it)."""
    call: Callable[[World], object]
    prepare: Callable[[World], object] = lambda world: None


def _revoke_a1(world: World) -> None:
    world.call_user(ADMIN, "RevokeAgent", user_pb2.RevokeAgentRequest(name="a1"))


def _expired_enrolment(world: World) -> None:
    world.expired = world.enrolment_token({}, expires_s=0.05)
    time.sleep(0.1)


def _fresh_enrolment(world: World) -> None:
    world.fresh = world.enrolment_token({})


U, A = user_pb2, agent_pb2
SUBMIT = U.SubmitSuiteRequest(suite_yaml=SUITE)
CASES = [
    Case(
        "no token",
        grpc.StatusCode.UNAUTHENTICATED,
        12,
        lambda w: w.call_user("", "SubmitSuite", SUBMIT),
    ),
    Case(
        "unknown token",
        grpc.StatusCode.UNAUTHENTICATED,
        12,
        lambda w: w.call_user("arena-user-made-up", "SubmitSuite", SUBMIT),
    ),
    Case(
        "agent credential on the user service",
        grpc.StatusCode.UNAUTHENTICATED,
        12,
        lambda w: w.call_user(w.creds["a1"], "SubmitSuite", SUBMIT),
    ),
    Case(
        "user token on the agent service",
        grpc.StatusCode.UNAUTHENTICATED,
        12,
        lambda w: w.call_agent(w.tokens["sam"], "PushSamples", w.samples("a1", "a1", 1)),
    ),
    Case(
        "revoked agent pushes samples",
        grpc.StatusCode.UNAUTHENTICATED,
        12,
        lambda w: w.call_agent("a1", "PushSamples", w.samples("a1", "a1", 1)),
        _revoke_a1,
    ),
    Case(
        "expired enrolment token",
        grpc.StatusCode.UNAUTHENTICATED,
        13,
        lambda w: w.enroll(w.expired, "a3"),
        _expired_enrolment,
    ),
    Case(
        "reused enrolment token",
        grpc.StatusCode.UNAUTHENTICATED,
        12,
        lambda w: w.enroll(w.enrolment, "a3"),
    ),
    Case(
        "enrolling a name already enrolled",
        grpc.StatusCode.PERMISSION_DENIED,
        13,
        lambda w: w.enroll(w.fresh, "a1"),
        _fresh_enrolment,
    ),
    Case(
        "samples for another agent's job",
        grpc.StatusCode.PERMISSION_DENIED,
        12,
        lambda w: w.call_agent("a2", "PushSamples", w.samples("a2", "a2", 1)),
    ),
    Case(
        "samples for a stale attempt",
        grpc.StatusCode.FAILED_PRECONDITION,
        12,
        lambda w: w.call_agent("a1", "PushSamples", w.samples("a1", "a1", 0)),
    ),
    Case(
        "samples under another agent's id",
        grpc.StatusCode.PERMISSION_DENIED,
        12,
        lambda w: w.call_agent("a2", "PushSamples", w.samples("a2", "a1", 1)),
    ),
    Case(
        "registering under another agent's name",
        grpc.StatusCode.PERMISSION_DENIED,
        12,
        lambda w: w.register("a1", {}, as_="a2"),
    ),
    Case(
        "static token registering an enrolled name",
        grpc.StatusCode.PERMISSION_DENIED,
        12,
        lambda w: w.register("a1", {}, as_=DEV_AGENT_TOKEN),
    ),
    Case(
        "claiming a label not enrolled",
        grpc.StatusCode.PERMISSION_DENIED,
        12,
        lambda w: w.register("a2", {"site": "lab"}),
    ),
    Case(
        "viewer submits",
        grpc.StatusCode.PERMISSION_DENIED,
        12,
        lambda w: w.call_user(w.tokens["vic"], "SubmitSuite", SUBMIT),
    ),
    Case(
        "submitter cancels another's run",
        grpc.StatusCode.PERMISSION_DENIED,
        12,
        lambda w: w.call_user(w.tokens["sue"], "CancelRun", U.CancelRunRequest(run_id=w.run_id)),
    ),
    Case(
        "submitter creates an enrolment token",
        grpc.StatusCode.PERMISSION_DENIED,
        12,
        lambda w: w.call_user(
            w.tokens["sam"], "CreateEnrolment", U.CreateEnrolmentRequest(expires_in_s=60)
        ),
    ),
    Case(
        "viewer rotates another user's token",
        grpc.StatusCode.PERMISSION_DENIED,
        12,
        lambda w: w.call_user(
            w.tokens["vic"], "RotateUserToken", U.RotateUserTokenRequest(name="sam")
        ),
    ),
]


def settings_for(tmp_path: Path) -> ControllerSettings:
    return ControllerSettings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "controller",
        tls=True,
        admin_token=ADMIN,
        heartbeat_interval_s=0.2,
        lease_ttl_s=30,
    )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with ControllerThread(settings_for(tmp_path)) as running:
        built = World(running)
        yield built
        built.channel.close()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_refused_with_its_status_and_nothing_stored(world: World, case: Case) -> None:
    case.prepare(world)
    before = world.rows()
    with structlog.testing.capture_logs() as logs, pytest.raises(grpc.RpcError) as refused:
        case.call(world)
    assert refused.value.code() == case.code, refused.value.details()
    assert refused.value.details()
    assert world.rows() == before
    assert before[0] == case.rows
    audits = [
        line for line in logs if line["event"] == "audit" and line.get("outcome") == "refused"
    ]
    assert [line["code"] for line in audits] == [case.code.name]


def table() -> str:
    lines = ["| case | status | rows before → after |", "|---|---|---|"]
    lines += [f"| {case.name} | {case.code.name} | {case.rows} → {case.rows} |" for case in CASES]
    return "\n".join(lines)


def test_the_docs_table_is_current() -> None:
    docs = (REPO / "docs" / "security.md").read_text()
    assert table() in docs, f"paste this table into docs/security.md:\n{table()}"


def test_the_allowed_calls_still_work(world: World) -> None:
    """The same world lets each party do its own work: the owner cancels, a1 stores samples."""
    ack = world.call_agent("a1", "PushSamples", world.samples("a1", "a1", 1))
    assert ack.acked_seq == 1
    runs = world.call_user(world.tokens["vic"], "ListRuns", U.ListRunsRequest())
    assert [run.run_id for run in runs.runs] == [world.run_id]
    checked = world.call_user(
        world.tokens["vic"], "CheckSuite", U.SubmitSuiteRequest(suite_yaml=SUITE)
    )
    assert len(checked.jobs) == 1  # a viewer may ask who'd take it
    cancelled = world.call_user(
        world.tokens["sam"], "CancelRun", U.CancelRunRequest(run_id=world.run_id)
    )
    assert cancelled.jobs_cancelled == 1


def test_revoking_requeues_the_job_and_rotation_keeps_the_old_credential_for_a_while(
    world: World,
) -> None:
    old = world.creds["a2"]
    rotated = world.call_agent("a2", "RotateCredential", A.RotateCredentialRequest())
    world.creds["a2"] = rotated.credential
    heartbeat = A.HeartbeatRequest(agent_id=world.ids["a2"])
    world.call_agent(old, "Heartbeat", heartbeat)  # the grace period: still accepted
    world.call_agent("a2", "Heartbeat", heartbeat)
    revoked = world.call_user(ADMIN, "RevokeAgent", U.RevokeAgentRequest(name="a1"))
    assert revoked.jobs_requeued == 1
    assert world.rows()[1] == "queued"
    for token in (world.creds["a1"],):
        with pytest.raises(grpc.RpcError) as refused:
            world.call_agent(token, "Heartbeat", A.HeartbeatRequest(agent_id=world.ids["a1"]))
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # the requeued job wants site=lab: a2, enrolled without that label, cannot lease it
    lease = world.call_agent("a2", "LeaseJob", A.LeaseJobRequest(agent_id=world.ids["a2"]))
    assert not lease.HasField("lease")
    world.creds["a1b"] = world.enroll(world.enrolment_token({"site": "lab"}), "a1")
    assert world.register("a1", {"site": "lab"}, as_="a1b") == world.ids["a1"]
    lease = world.call_agent("a1b", "LeaseJob", A.LeaseJobRequest(agent_id=world.ids["a1"]))
    assert lease.lease.attempt == 2


def test_plain_text_and_missing_client_certificates_are_refused(world: World) -> None:
    with grpc.insecure_channel(world.running.address) as plain:
        stub = user_grpc.UserServiceStub(plain)
        with pytest.raises(grpc.RpcError) as refused:
            stub.ListRuns(U.ListRunsRequest(), metadata=world.meta(ADMIN), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_needs_a_certificate_from_the_arena_ca(tmp_path: Path) -> None:
    ca, other = pki.new_ca(), pki.new_ca("another CA")
    server_key, server_cert = pki.issue(ca, "controller", ["127.0.0.1"])
    files = {"ca.pem": ca[1], "controller.pem": server_cert, "controller.key": server_key}
    for name, pair in (("good", pki.issue(ca, "good")), ("bad", pki.issue(other, "bad"))):
        files[f"{name}.key"], files[f"{name}.pem"] = pair
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    settings = settings_for(tmp_path).model_copy(
        update={
            "tls_cert": tmp_path / "controller.pem",
            "tls_key": tmp_path / "controller.key",
            "tls_client_ca": tmp_path / "ca.pem",
        }
    )
    with ControllerThread(settings) as running:
        for client, works in (("good", True), ("bad", False), (None, False)):
            tls = ClientTls(
                tmp_path / "ca.pem",
                tmp_path / f"{client}.pem" if client else None,
                tmp_path / f"{client}.key" if client else None,
            )
            with ArenaClient(running.address, ADMIN, tls) as api:
                if works:
                    assert api.runs() == []
                else:
                    with pytest.raises(UnavailableError):
                        api.runs()
