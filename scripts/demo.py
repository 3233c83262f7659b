"""The newcomer's demo: a controller, an agent and the simulated engine on this machine.

Starts each as its own process (as on real boxes), submits examples/demo.yaml (arena-v1 in
quick mode) with ``arenactl submit --watch``, shows the results table, and stops everything
it started, whatever happens.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SUITE = ROOT / "examples" / "demo.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the controller exited with code {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"the controller did not listen on port {port} within {timeout_s:.0f} s")


def start(log: Path, env: dict[str, str], *command: str | Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as stderr:  # the child keeps its own descriptor
        return subprocess.Popen(command, env=env, stderr=stderr)


def main() -> int:
    started = time.monotonic()
    port = free_port()
    address = f"127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="arena-demo-") as data_dir:
        logs = Path(data_dir)
        env = os.environ | {"ARENA_LOG_FORMAT": "json"}
        processes: list[subprocess.Popen[bytes]] = []
        try:
            controller = start(
                logs / "controller.log",
                env,
                BIN / "arena-controller",
                "--listen",
                address,
                "--data-dir",
                data_dir,
            )
            processes.append(controller)
            wait_for_port(port, controller)
            processes.append(
                start(
                    logs / "agent.log",
                    env,
                    BIN / "arena-agent",
                    "--controller",
                    address,
                    "--name",
                    "demo-agent",
                )
            )
            print(f"controller on {address}, agent 'demo-agent' started; submitting {SUITE.name}")
            ctl = [BIN / "arenactl", "--controller", address]
            code = subprocess.call([*ctl, "submit", str(SUITE), "--watch"])
            if code == 0:
                subprocess.call([*ctl, "runs"])
            else:
                for name in ("controller", "agent"):
                    tail = (logs / f"{name}.log").read_text().splitlines()[-20:]
                    print(f"--- last lines of the {name} log ---", *tail, sep="\n")
        finally:
            for process in reversed(processes):
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
    print(f"demo finished in {time.monotonic() - started:.0f} s (everything it started is stopped)")
    return code


if __name__ == "__main__":
    sys.exit(main())
