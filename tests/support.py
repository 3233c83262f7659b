"""Test helpers shared by several test modules."""

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from controller.server import Controller
from controller.settings import ControllerSettings

BIN = Path(sys.executable).parent


class ControllerThread:
    """A controller on its own event loop in a thread, for synchronous callers (the CLI)."""

    def __init__(self, settings: ControllerSettings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.controller = Controller(settings)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.controller.port}"

    def __enter__(self) -> "ControllerThread":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.controller.start(), self.loop).result(30)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self.controller.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """Controller and agents as separate OS processes, as on real machines; always stopped."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *command: str) -> subprocess.Popen[bytes]:
        with (self.workdir / f"{name}.log").open("ab") as log:  # the child keeps its own fd
            process = subprocess.Popen(
                [str(BIN / command[0]), *command[1:]],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=os.environ | {"ARENA_LOG_FORMAT": "json"},
            )
        self.running[name] = process
        return process

    def start_controller(self, *extra: str) -> None:
        self.start(
            "controller",
            "arena-controller",
            "--listen",
            self.address,
            "--data-dir",
            str(self.workdir / "data"),
            *extra,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"controller did not start:\n{self.log('controller')}")

    def start_agent(self, name: str, *extra: str) -> None:
        self.start(name, "arena-agent", "--controller", self.address, "--name", name, *extra)

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.terminate()
        for process in self.running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
