"""A controller exposed the way docs/security.md says: listening on every interface with mutual
TLS from an arena CA, no static tokens, three agents enrolled with one-time tokens, one of them
marked official by the operator. Everything runs as separate processes: the arenactl commands
an operator types, the controller, the agents and their simulated engines."""

import json
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.client.api import ArenaClient
from arena.common.errors import AuthError
from arena.common.transport import ClientTls
from tests.support import BIN, Processes

pytestmark = pytest.mark.slow

ADMIN = "e2e-admin-token"
SUITE = """
name: secure
models:
  - name: sim-small
    engine: sim
engines:
  sim:
    runtime: simulated
    prefill_tokens_per_s: 20000
    decode_step_ms: 5
targets:
  - name: box-a
    agent: agent-a
    labels: {site: lab}
  - name: box-b
    agent: agent-b
    labels: {site: lab}
  - name: box-o
    agent: agent-o
    labels: {site: lab}
runs: 1
benchmarks:
  - kind: closed_loop
    id: chat
    pp: [32]
    tg: [16]
    concurrency: [1, 2]
"""


class Deployment:
    def __init__(self, processes: Processes, ca: Path) -> None:
        self.processes = processes
        self.ca = ca

    def ctl(self, *args: str, name: str = "ctl", check: bool = True) -> str:
        command = [
            str(BIN / "arenactl"),
            "--controller",
            self.processes.address,
            "--token",
            ADMIN,
            "--ca-file",
            str(self.ca / "ca.pem"),
            "--cert-file",
            str(self.ca / f"{name}.pem"),
            "--key-file",
            str(self.ca / f"{name}.key"),
            *args,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0 or not check, done.stderr
        return done.stdout

    def client(self) -> ArenaClient:
        tls = ClientTls(self.ca / "ca.pem", self.ca / "ctl.pem", self.ca / "ctl.key")
        return ArenaClient(self.processes.address, ADMIN, tls)

    def start_agent(self, name: str, *extra: str) -> None:
        self.processes.start_agent(
            name,
            "--ca-file",
            str(self.ca / "ca.pem"),
            "--cert-file",
            str(self.ca / f"{name}.pem"),
            "--key-file",
            str(self.ca / f"{name}.key"),
            *extra,
            env={"ARENA_AGENT_TOKENS": "[]"},
        )


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    ca = tmp_path / "ca"
    arenactl = str(BIN / "arenactl")
    subprocess.run([arenactl, "ca", "init", "--dir", str(ca)], check=True, timeout=60)
    for name, hosts in (
        ("controller", ["--host", "127.0.0.1"]),
        ("ctl", []),
        ("agent-a", []),
        ("agent-b", []),
        ("agent-o", []),
    ):
        subprocess.run(
            [arenactl, "ca", "issue", name, "--dir", str(ca), *hosts], check=True, timeout=60
        )
    # a client certificate from another CA, which the controller must not accept
    other = tmp_path / "other-ca"
    subprocess.run([arenactl, "ca", "init", "--dir", str(other)], check=True, timeout=60)
    subprocess.run(
        [arenactl, "ca", "issue", "stranger", "--dir", str(other), "--out", str(ca)],
        check=True,
        timeout=60,
    )
    processes = Processes(tmp_path)
    try:
        processes.start_controller(
            "--listen",
            f"0.0.0.0:{processes.port}",  # every interface: TLS is not optional
            "--tls-cert",
            str(ca / "controller.pem"),
            "--tls-key",
            str(ca / "controller.key"),
            "--tls-client-ca",
            str(ca / "ca.pem"),
            env={
                "ARENA_ADMIN_TOKEN": ADMIN,
                "ARENA_AGENT_TOKENS": "[]",
                "ARENA_USER_TOKENS": "[]",
                "ARENA_HEARTBEAT_INTERVAL_S": "0.5",
            },
        )
        yield Deployment(processes, ca)
    finally:
        processes.stop_all()


def wait_until(check: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_enrolled_agents_over_mutual_tls(deployment: Deployment, tmp_path: Path) -> None:
    agents = ("agent-a", "agent-b", "agent-o")
    for name in agents:
        made = json.loads(deployment.ctl("enroll", "create", "--labels", "site=lab", "-o", "json"))
        deployment.start_agent(name, "--enroll", made["token"])
    with deployment.client() as client:
        wait_until(lambda: len(client.agents()) == 3, "three enrolled agents")
        for name in agents:
            held = tmp_path / f"{name}-state" / "credential.json"
            assert stat.S_IMODE(held.stat().st_mode) == 0o600
            assert json.loads(held.read_text())["labels"] == {"site": "lab"}
        # enrolled agents are community until the operator vouches for one
        assert "agent-o: official" in deployment.ctl("agents", "trust", "agent-o", "official")
        run_id, _ = client.submit(SUITE, "secure.yaml")
        wait_until(lambda: client.run(run_id).finished, "the run", timeout=180)
        detail = client.run(run_id)
        assert detail.run.state == "succeeded", deployment.processes.log("agent-a")
        assert {job.agent for job in detail.jobs} == set(agents)

        shown = json.loads(deployment.ctl("show", run_id, "-o", "json"))
        tiers = {job["agent"]: job["tier"] for job in shown["jobs"]}
        assert tiers == {"agent-a": "community", "agent-b": "community", "agent-o": "official"}
        official = json.loads(deployment.ctl("show", run_id, "--tier", "official", "-o", "json"))
        assert [job["agent"] for job in official["jobs"]] == ["agent-o"]
        # every job's manifest, signed by its agent's key, verifies against the stored samples
        verdicts = json.loads(deployment.ctl("verify", run_id, "-o", "json"))
        assert [v["state"] for v in verdicts] == ["verified"] * 3, verdicts

        # a restarted agent uses its saved credential: no token on the command line
        deployment.processes.kill9("agent-a")
        deployment.start_agent("agent-a")
        wait_until(
            lambda: deployment.processes.log("agent-a").count('"registered"') == 2,
            "agent-a to register again",
        )

        # revoked: the agent is refused at its next call and stops
        assert "1 credential(s) revoked" in deployment.ctl("agents", "revoke", "agent-b")
        stopped = deployment.processes.running["agent-b"]
        assert stopped.wait(timeout=30) != 0
        assert "refused" in deployment.processes.log("agent-b")

        # a viewer reads but cannot submit
        viewer = deployment.ctl("users", "create", "vic", "--role", "viewer").strip()
    tls = ClientTls(deployment.ca / "ca.pem", deployment.ca / "ctl.pem", deployment.ca / "ctl.key")
    with ArenaClient(deployment.processes.address, viewer, tls) as as_viewer:
        assert [run.run_id for run in as_viewer.runs()] == [run_id]
        with pytest.raises(AuthError, match="needs the submitter role"):
            as_viewer.submit(SUITE, "secure.yaml")

    # without a certificate from the arena CA, the TLS handshake itself fails
    refused = deployment.ctl("runs", name="stranger", check=False)
    assert refused == ""
    audit = [
        json.loads(line)
        for line in deployment.processes.log("controller").splitlines()
        if '"audit"' in line
    ]
    assert any(line.get("action") == "revoke-agent" for line in audit)
    assert os.path.exists(deployment.ca / "ca.key")
