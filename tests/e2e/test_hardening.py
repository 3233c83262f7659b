"""The small promises of docs/security.md, each against real processes: a host name is not
loopback because it begins with ``127.``; what the controller and the agent keep on disk is
their user's alone; a refused client certificate reads as one on both sides, and the agent
backs off; a revoked agent comes back with a new enrolment (and ``reset-key`` when it lost its
signing key)."""

import json
import os
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from arena.client.api import ArenaClient
from arena.common import pki
from arena.common.settings import DEV_USER_TOKEN
from arena.common.transport import ClientTls
from arena.controller.tls import generated_paths
from tests.support import BIN, Processes, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ADMIN = "hardening-admin-token"


def wait_until(check: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def arenactl(
    address: str, *args: str, tls: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "arenactl"), "--controller", address, *(tls or []), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_a_name_beginning_with_127_is_not_loopback(tmp_path: Path) -> None:
    """127.evil.example resolves wherever its owner likes: the controller keeps its
    development tokens for loopback addresses only."""
    listen = f"127.evil.example:{free_port()}"
    done = subprocess.run(
        [str(BIN / "arena-controller"), "--listen", listen, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | {"ARENA_DASHBOARD": "off"},
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"refusing to listen on {listen} with the development tokens" in done.stderr


def test_what_the_controller_and_the_agent_keep_is_their_users_alone(tmp_path: Path) -> None:
    """The database with its -wal and -shm, the TLS key, the spool and the signing key: 0600 in
    0700 folders, whatever the umask; an agent started on a state folder left open closes it."""
    processes = Processes(tmp_path)
    state = tmp_path / "box-state"
    try:
        processes.start_controller("--tls")
        cert = generated_paths(processes.data_dir)[1]
        processes.start_agent("box", "--ca-file", str(cert))
        with ArenaClient(processes.address, DEV_USER_TOKEN, ClientTls(cert)) as client:
            wait_until(lambda: client.agents(), "the agent to register")
        data = processes.data_dir
        assert mode(data) == 0o700 and mode(data / "tls") == 0o700
        for path in ("arena.db", "arena.db-wal", "arena.db-shm", "tls/controller.key"):
            assert mode(data / path) == 0o600, path
        assert mode(state) == 0o700
        for path in ("spool.db", "spool.db-wal", "spool.db-shm", "signing-key.pem"):
            assert mode(state / path) == 0o600, path

        # an older version, or a copy, left the folder and the spool open: closed at start
        processes.running["box"].terminate()
        processes.running["box"].wait(30)
        state.chmod(0o755)
        (state / "spool.db").chmod(0o644)
        processes.start_agent("box", "--ca-file", str(cert))
        wait_until(lambda: processes.log("box").count('"registered"') == 2, "a second start")
        assert mode(state) == 0o700 and mode(state / "spool.db") == 0o600
        assert "closed files other users could read" in processes.log("box")
    finally:
        processes.stop_all()


def test_a_refused_client_certificate_reads_as_one_and_the_agent_backs_off(
    tmp_path: Path,
) -> None:
    ca, other = pki.new_ca(), pki.new_ca("another CA")
    files = {"ca.pem": ca[1]}
    for name, (key, cert) in (
        ("controller", pki.issue(ca, "controller", ["127.0.0.1"])),
        ("ops", pki.issue(ca, "ops")),
        ("stranger", pki.issue(other, "stranger")),
    ):
        files[f"{name}.key"], files[f"{name}.pem"] = key, cert
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    processes = Processes(tmp_path)
    path = {name: str(tmp_path / name) for name in files}
    try:
        processes.start_controller(
            "--tls-cert",
            path["controller.pem"],
            "--tls-key",
            path["controller.key"],
            "--tls-client-ca",
            path["ca.pem"],
        )
        address = processes.address
        trusted = ["--ca-file", path["ca.pem"]]
        works = arenactl(
            address,
            "runs",
            tls=[*trusted, "--cert-file", path["ops.pem"], "--key-file", path["ops.key"]],
        )
        assert works.returncode == 0, works.stderr

        stranger = arenactl(
            address,
            "runs",
            tls=[*trusted, "--cert-file", path["stranger.pem"], "--key-file", path["stranger.key"]],
        )
        assert stranger.returncode == 1
        assert "the controller refused this client certificate" in stranger.stderr
        assert path["stranger.pem"] in stranger.stderr and "Socket closed" not in stranger.stderr
        missing = arenactl(address, "runs", tls=trusted)
        assert "the controller requires a client certificate" in missing.stderr

        processes.start_agent(
            "stranger-box",
            *trusted,
            "--cert-file",
            path["stranger.pem"],
            "--key-file",
            path["stranger.key"],
        )
        wait_until(
            lambda: '"call failed; retrying"' in processes.log("stranger-box"),
            "the agent's first refusal",
        )
        lines = [
            json.loads(line)
            for line in processes.log("stranger-box").splitlines()
            if line.startswith("{")
        ]
        retry = next(line for line in lines if line["event"] == "call failed; retrying")
        assert "the controller refused this client certificate" in retry["error"]
        assert retry["retry_in_s"] >= 60  # not every half second: only a person can fix it
        assert any(line["event"] == "certificate refused" for line in lines)
        assert processes.running["stranger-box"].poll() is None  # still waiting, not gone
        # the controller's side: gRPC's own line (grpcio logs it unless GRPC_VERBOSITY hides it)
        assert "Handshake failed" in processes.log("controller")
    finally:
        processes.stop_all()


def test_a_revoked_agent_comes_back_with_a_new_enrolment(tmp_path: Path) -> None:
    """docs/security.md, Revocation: delete the credential (keep the signing key) and enrol
    again; a box that lost its state folder also needs ``arenactl agents reset-key``."""
    processes = Processes(tmp_path)
    state = tmp_path / "spark-state"
    admin = ["--token", ADMIN]

    def enrolment() -> str:
        made = arenactl(processes.address, "enroll", "create", "-o", "json", tls=admin)
        assert made.returncode == 0, made.stderr
        return str(json.loads(made.stdout)["token"])

    def registrations() -> int:
        return processes.log("spark").count('"registered"')

    try:
        processes.start_controller(env={"ARENA_ADMIN_TOKEN": ADMIN})
        processes.start_agent("spark", "--enroll", enrolment())
        wait_until(lambda: registrations() == 1, "the first registration")
        revoked = arenactl(processes.address, "agents", "revoke", "spark", tls=admin)
        assert revoked.returncode == 0, revoked.stderr
        assert processes.running["spark"].wait(60) != 0

        # the same state folder: the revoked credential is kept and --enroll ignored
        processes.start_agent("spark", "--enroll", enrolment())
        assert processes.running["spark"].wait(60) != 0
        assert "already enrolled; ignoring --enroll" in processes.log("spark")
        # as the docs say: delete the credential, keep the signing key, enrol again
        (state / "credential.json").unlink()
        processes.start_agent("spark", "--enroll", enrolment())
        wait_until(lambda: registrations() == 2, "registration after re-enrolment")

        # a box that lost its state folder: a new signing key is refused until reset-key
        revoked = arenactl(processes.address, "agents", "revoke", "spark", tls=admin)
        assert processes.running["spark"].wait(60) != 0
        for path in state.iterdir():
            path.unlink()
        processes.start_agent("spark", "--enroll", enrolment())
        assert processes.running["spark"].wait(60) != 0
        assert "registered before with another signing key" in processes.log("spark")
        reset = arenactl(processes.address, "agents", "reset-key", "spark", tls=admin)
        assert reset.returncode == 0, reset.stderr
        processes.start_agent("spark")  # it kept the credential of that enrolment
        wait_until(lambda: registrations() == 3, "registration after reset-key")
    finally:
        processes.stop_all()
