"""The newcomer's demo: a controller, an agent and the simulated engine on this machine.

Starts each as its own process (as on real boxes), submits examples/demo.yaml (arena-v1 in
quick mode) with ``arenactl submit --watch``, then examples/demo-agentic.yaml (coding-agent
sessions with the simulated engine's prefix cache on, beside arena-agentic's cache-off
control), shows the results tables, imports the published
DGX Spark sample and the arena's own H200 and CPU rows beside it, writes the HTML report and
ends with its path and the dashboard's address. On a terminal the controller and its dashboard
stay up until Enter or Ctrl-C; otherwise (CI) everything it started is stopped at once,
whatever happens.
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
AGENTIC = ROOT / "examples" / "demo-agentic.yaml"
IMPORTS = (ROOT / "examples" / "results" / "dgx-spark-sample", ROOT / "docs" / "results")
MODELS = ROOT / "examples" / "models.yaml"
REPORT = ROOT / ".arena" / "demo-report.html"


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


def show_results(ctl: list[str | Path]) -> int:
    """Import the published rows beside the demo's, write the report (ranking the published
    rows, which carry no signature: unverified, asked for); 0 when all went well."""
    subprocess.call([*ctl, "runs"])
    for folder in IMPORTS:
        if subprocess.call([*ctl, "import", str(folder)], stdout=subprocess.DEVNULL) != 0:
            return 1
    REPORT.parent.mkdir(exist_ok=True)
    report = [*ctl, "report", "--models", str(MODELS), "--include-unverified"]
    return subprocess.call([*report, "-o", str(REPORT)])


def wait_for_the_user(dashboard: str) -> None:
    if os.environ.get("CI") or not sys.stdin.isatty():
        return
    try:
        input(f"the dashboard stays up at {dashboard}; press Enter (or Ctrl-C) to stop ")
    except (EOFError, KeyboardInterrupt):
        print()


def main() -> int:
    started = time.monotonic()
    port, web_port = free_port(), free_port()
    address = f"127.0.0.1:{port}"
    dashboard = f"http://127.0.0.1:{web_port}/"
    with tempfile.TemporaryDirectory(prefix="arena-demo-") as data_dir:
        logs = Path(data_dir)
        # the demo's engine, controller and agent share this box, whose client is saturated
        # by design on a small one: its verdict is shown as a warning, not an invalid result
        # (docs/generator.md, "Client honesty")
        env = os.environ | {
            "ARENA_LOG_FORMAT": "json",
            "ARENA_ACCEPT_SATURATED_CLIENTS": "true",
        }
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
                "--dashboard",
                f"127.0.0.1:{web_port}",
                "--models-file",
                MODELS,
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
            print(f"watch it live in the dashboard: {dashboard}")
            ctl: list[str | Path] = [BIN / "arenactl", "--controller", address]
            code = subprocess.call([*ctl, "submit", str(SUITE), "--watch"])
            if code == 0:
                print(
                    f"now agentic sessions, cache on beside the cache-off control: {AGENTIC.name}"
                )
                code = subprocess.call([*ctl, "submit", str(AGENTIC), "--watch"])
            if code == 0:
                code = show_results(ctl)
            if code == 0:
                wait_for_the_user(dashboard)
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
    if code == 0:
        print(f"report:    {REPORT} (open it in a browser; it needs no network)")
        print(f"dashboard: {dashboard} (it stopped with the demo: arena-controller serves it)")
    return code


if __name__ == "__main__":
    sys.exit(main())
