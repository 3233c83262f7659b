"""deploy/compose.yaml for real: the images built locally (deploy/docker/build.sh), PostgreSQL,
two controllers on it and a simulated agent brought up, a suite run through them with arenactl
from the host, and everything torn down."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.prerequisites import installed, requires
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
ARENACTL = Path(sys.executable).parent / "arenactl"
SUITE = """
name: compose-smoke
models: [{name: tiny, engine: sim}]
engines: {sim: {runtime: simulated}}
targets: [{name: compose, labels: {site: compose}}]
runs: 1
benchmarks:
  # the engine, two controllers and the agent share this box: its client verdict is a warning
  - kind: closed_loop
    id: chat
    pp: [16]
    tg: [8]
    concurrency: [2]
    accept_saturated_client: true
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.docker,
    pytest.mark.timeout(2400),
    requires(
        installed("docker-compose"), "docker-compose (Debian: apt-get install docker-compose)"
    ),
]


def arenactl(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(ARENACTL), "--controller", f"127.0.0.1:{port}", "--token", "user-t0ken", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_compose_runs_a_suite_across_two_controllers(tmp_path: Path) -> None:
    subprocess.run(["bash", str(ROOT / "deploy/docker/build.sh")], check=True, timeout=1800)
    port_a, port_b = free_port(), free_port()
    env = os.environ | {
        "ARENA_AGENT_TOKEN": "agent-t0ken",
        "ARENA_USER_TOKEN": "user-t0ken",
        "POSTGRES_PASSWORD": "pg-pa55",
        "ARENA_GRPC_PORT_A": str(port_a),
        "ARENA_GRPC_PORT_B": str(port_b),
        "ARENA_HTTP_PORT_A": str(free_port()),
        "ARENA_HTTP_PORT_B": str(free_port()),
    }
    project = f"arena-test-{uuid.uuid4().hex[:8]}"
    compose = ["docker-compose", "-p", project, "-f", str(ROOT / "deploy/compose.yaml")]
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    try:
        subprocess.run([*compose, "up", "-d"], env=env, check=True, timeout=600)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            listed = arenactl(port_a, "agents", "-o", "json")
            if listed.returncode == 0 and any(
                agent["status"] == "online" for agent in json.loads(listed.stdout)
            ):
                break
            time.sleep(1)
        else:
            pytest.fail(f"the agent never came online: {listed.stderr}")

        watched = arenactl(port_a, "submit", str(suite), "--watch")
        assert watched.returncode == 0, watched.stdout + watched.stderr
        assert "SIMULATED" in watched.stdout and "pp16/tg8/d0/c2" in watched.stdout
        # the run submitted to controller A is the same run on controller B (one database)
        [run] = json.loads(arenactl(port_b, "runs", "-o", "json").stdout)
        assert run["state"] == "succeeded" and run["samples"] == 2
    finally:
        logs = subprocess.run([*compose, "logs", "--no-color"], env=env, capture_output=True)
        (tmp_path / "compose.log").write_bytes(logs.stdout)
        subprocess.run([*compose, "down", "-v", "--remove-orphans"], env=env, timeout=300)
