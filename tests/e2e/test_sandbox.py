"""Issue 21's attacks on an agent's box, against a real controller and real agents (processes).

- A submitter's process engine that copies the agent's credential and signing key: a suite
  cannot name a command at all, and even the owner's recipe, running a script that tries,
  runs as the policy's user with none of the agent's variables and cannot read its state.
- An external endpoint at the attacker's address with ``api_key_env: DB_PASSWORD``: the agent
  refuses before it sends anything; the attacker's server hears nothing.
"""

import http.server
import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from arena.client.api import ArenaClient, JobInfo
from arena.common.errors import SuiteError
from arena.common.schemas.admission import NOBODY_ADMITS
from arena.common.settings import DEV_USER_TOKEN
from tests.policy_files import shared_folder, write_policy
from tests.prerequisites import is_root, requires
from tests.support import Processes, http_serving, running_with

pytestmark = pytest.mark.slow

DB_PASSWORD = "agent-db-Password-8d1e"
AGENT = "box-owner"
BENCHMARKS = """
runs: 1
benchmarks:
  - {kind: closed_loop, id: chat, pp: [16], tg: [4], concurrency: [1]}
"""
PRYING = (
    'echo "uid $(id -u)"; env | sed "s/^/env: /"; ls "$0"; cat "$0/signing-key.pem"; '
    'cp "$0/signing-key.pem" "$HOME/stolen.pem"; echo "pried at $0"; exit 1'
)
"""What the issue's attacker ran: read the agent's state, then (here) give up."""


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """The agent's state where any user could reach it but for the folder's own mode, holding
    a signing key an older setup left 0644, in a folder left 0755."""
    with shared_folder() as folder:
        state = folder / "state"
        state.mkdir(mode=0o755)
        key = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (state / "signing-key.pem").write_bytes(key)
        (state / "signing-key.pem").chmod(0o644)
        yield state


def wait_finished(client: ArenaClient, run_id: str, timeout_s: float = 90) -> JobInfo:
    deadline = time.monotonic() + timeout_s
    while not (detail := client.run(run_id)).finished and time.monotonic() < deadline:
        time.sleep(0.3)
    [job] = detail.jobs
    return job


def wait_refused(client: ArenaClient, run_id: str, timeout_s: float = 30) -> JobInfo:
    """The job once it ended or the controller says no agent admits it, plus a few seconds in
    which an agent that was wrongly leased it would have acted."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        detail = client.run(run_id)
        if detail.finished or NOBODY_ADMITS in detail.jobs[0].message:
            break
        time.sleep(0.3)
    time.sleep(3)
    [job] = client.run(run_id).jobs
    return job


@requires(is_root(), "root (the agent switches users only as root)")
def test_an_engine_cannot_take_the_agents_credential_or_environment(
    tmp_path: Path, state_dir: Path
) -> None:
    recipe = {
        "command": ["/bin/sh", "-c", "{script}", "{state}", "{port}"],
        "args": {
            "script": {"type": "choice", "choices": [PRYING]},
            "state": {"type": "choice", "choices": [str(state_dir)]},
        },
    }
    policy = write_policy(
        tmp_path, {"runtimes": ["process"], "process": {"recipes": {"sh": recipe}}}
    )
    processes = Processes(tmp_path)
    try:
        processes.start_controller()
        processes.start_agent(
            AGENT,
            env={
                "ARENA_POLICY_FILE": str(policy),
                "ARENA_STATE_DIR": str(state_dir),
                "DB_PASSWORD": DB_PASSWORD,
            },
        )
        with ArenaClient(processes.address, DEV_USER_TOKEN) as client:
            command = (
                f"sh -c 'cp {state_dir}/signing-key.pem /tmp/x; exec arena-sim --port {{port}}'"
            )
            with pytest.raises(SuiteError, match="command"):
                client.submit(
                    "name: steal\nmodels: [{name: m, engine: e}]\n"
                    f'engines:\n  e: {{runtime: process, command: "{command}"}}\n' + BENCHMARKS,
                    "steal.yaml",
                )
            run_id, _ = client.submit(
                "name: pry\nmodels: [{name: m, engine: e}]\nengines:\n  e:\n"
                f"    runtime: process\n    recipe: sh\n    args: {{script: '{PRYING}', "
                f"state: {state_dir}}}\n" + BENCHMARKS,
                "pry.yaml",
            )
            job = wait_finished(client, run_id)
            logs = client.logs(job.job_id)
    finally:
        processes.stop_all()
    assert job.state == "failed" and "exited with code 1" in job.message, job
    seen = "\n".join(logs)
    assert "uid 65534" in seen and f"pried at {state_dir}" in seen, seen
    assert "Permission denied" in seen
    assert "PRIVATE KEY" not in seen and DB_PASSWORD not in seen
    names = {line[5:].split("=", 1)[0] for line in logs if line.startswith("env: ")}
    assert names <= {
        "PATH",
        "HOME",
        "PWD",
        "OLDPWD",
        "LANG",
        "CUDA_VISIBLE_DEVICES",
        "SHLVL",
        "_",
    }, names
    assert oct(state_dir.stat().st_mode & 0o777) == "0o700"
    assert oct((state_dir / "signing-key.pem").stat().st_mode & 0o777) == "0o600"


class Listener(http.server.BaseHTTPRequestHandler):
    heard: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (the handler's name is http.server's)
        self.heard.append(f"{self.path} {self.headers.get('Authorization')}")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"object": "list", "data": [{"id": "m"}]}')

    do_POST = do_GET

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def attacker() -> Iterator[tuple[int, list[str]]]:
    Listener.heard = []
    with http_serving(Listener) as port:
        yield port, Listener.heard


def test_an_external_engine_cannot_send_an_agent_variable_anywhere(
    tmp_path: Path, attacker: tuple[int, list[str]]
) -> None:
    """The owner allows benchmarking 127.0.0.1 but exposes no variable: the attacker's endpoint
    on that host is still refused, before a single request."""
    port, heard = attacker
    policy = write_policy(
        tmp_path, {"runtimes": ["external"], "external": {"hosts": ["127.0.0.1"]}}
    )
    processes = Processes(tmp_path)
    try:
        processes.start_controller()
        processes.start_agent(
            AGENT, env={"ARENA_POLICY_FILE": str(policy), "DB_PASSWORD": DB_PASSWORD}
        )
        with ArenaClient(processes.address, DEV_USER_TOKEN) as client:
            run_id, _ = client.submit(
                "name: exfiltrate\nmodels: [{name: m, engine: e}]\nengines:\n  e:\n"
                f"    runtime: external\n    url: http://127.0.0.1:{port}/v1\n"
                "    api_key_env: DB_PASSWORD\n" + BENCHMARKS,
                "exfiltrate.yaml",
            )
            job = wait_refused(client, run_id)
    finally:
        processes.stop_all()
    assert heard == []
    # the controller knows the agent's policy: it never leases the job, and says why
    reason = "api_key_env DB_PASSWORD is not a variable the policy exposes"
    assert job.state == "queued" and f"{NOBODY_ADMITS}: {AGENT}: {reason}" in job.message, job


@requires(is_root(), "root (the agent switches users only as root)")
def test_a_process_an_engine_detaches_does_not_outlive_its_job(tmp_path: Path) -> None:
    """The attacker's recipe leaves a ``setsid`` sleep behind (its own session, out of the
    engine's process group) and exits: once the job has ended, nothing of it runs."""
    mark = f"1{secrets.randbelow(10**8):08d}"
    script = f'setsid sh -c "exec sleep {mark}" & sleep 1; exit 1'
    recipe = {
        "command": ["/bin/sh", "-c", "{script}", "{port}"],
        "args": {"script": {"type": "choice", "choices": [script]}},
    }
    policy = write_policy(
        tmp_path, {"runtimes": ["process"], "process": {"recipes": {"sh": recipe}}}
    )
    processes = Processes(tmp_path)
    left: list[int] = []
    try:
        processes.start_controller()
        processes.start_agent(AGENT, env={"ARENA_POLICY_FILE": str(policy)})
        with ArenaClient(processes.address, DEV_USER_TOKEN) as client:
            run_id, _ = client.submit(
                "name: linger\nmodels: [{name: m, engine: e}]\nengines:\n  e:\n"
                f"    runtime: process\n    recipe: sh\n    args: {{script: '{script}'}}\n"
                + BENCHMARKS,
                "linger.yaml",
            )
            job = wait_finished(client, run_id)
            logs = client.logs(job.job_id)
        left = running_with(mark)
    finally:
        processes.stop_all()
        after_stop = running_with(mark)
        for pid in after_stop:
            os.kill(pid, signal.SIGKILL)
    assert job.state == "failed" and "exited with code 1" in job.message, (job, logs)
    assert left == [], "a process the engine detached outlived its job"
    assert after_stop == [], "a process the engine detached outlived the agent"
