"""Test helpers shared by several test modules."""

import asyncio
import contextlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings

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

    def __init__(self, workdir: Path, database_url: str | None = None) -> None:
        self.workdir = workdir
        self.database_url = database_url
        """None: the controller's SQLite file in ``data_dir``."""
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self, name: str, *command: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with (self.workdir / f"{name}.log").open("ab") as log:  # the child keeps its own fd
            process = subprocess.Popen(
                [str(BIN / command[0]), *command[1:]],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=os.environ | {"ARENA_LOG_FORMAT": "json"} | (env or {}),
            )
        self.running[name] = process
        return process

    def start_controller(
        self,
        *extra: str,
        env: dict[str, str] | None = None,
        name: str = "controller",
        port: int | None = None,
    ) -> None:
        """A controller on ``port`` (default: the arena's own); replicas of one PostgreSQL
        database take a name and a port each."""
        port = port or self.port
        self.start(
            name,
            "arena-controller",
            "--listen",
            f"127.0.0.1:{port}",
            *(
                ("--database-url", self.database_url)
                if self.database_url
                else ("--data-dir", str(self.data_dir))
            ),
            *extra,
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"controller did not start:\n{self.log(name)}")

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def database(self) -> str:
        """The controller's database URL, for tests that read what it stored."""
        return self.database_url or f"sqlite:///{self.data_dir / 'arena.db'}"

    def start_agent(
        self,
        name: str,
        *extra: str,
        controller: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        state = {"ARENA_STATE_DIR": str(self.workdir / f"{name}-state")}
        self.start(
            name,
            "arena-agent",
            "--controller",
            controller or self.address,
            "--name",
            name,
            *extra,
            env=state | (env or {}),
        )

    def kill9(self, name: str) -> None:
        process = self.running[name]
        process.kill()
        process.wait()

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


class CuttableProxy:
    """A TCP proxy between agents and the controller whose traffic a test can cut and restore.

    Cutting closes every open connection and refuses new ones (the listener stays bound, so
    the address stays the same), as a dropped network link looks to gRPC.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.cut = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.base_events.Server | None = None

    def __enter__(self) -> "CuttableProxy":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        self._drop_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def set_cut(self, cut: bool) -> None:
        if cut:
            self.cut.set()
            self._loop.call_soon_threadsafe(self._drop_all)
        else:
            self.cut.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut.is_set():
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while not self.cut.is_set() and (data := await reader.read(65536)):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)


@contextlib.contextmanager
def http_serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[int]:
    """A threaded HTTP server on a free loopback port while the block runs; yields the port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def running_with(mark: str) -> list[int]:
    """Pids of live (not zombie) processes whose command line holds ``mark``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if mark.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found
