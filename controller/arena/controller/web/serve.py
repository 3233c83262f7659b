"""uvicorn in the controller's event loop, beside the gRPC server, on a socket bound first (so a
busy port is an error at start and port 0 gives a real port)."""

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import plotly.graph_objects as go
import structlog
import uvicorn
from fastapi import FastAPI

from arena.common.figures import empty

log = structlog.get_logger(__name__)


def _warm_up() -> None:
    """plotly builds its validators on first use (~1.5 s): pay that at start, in a thread, not
    on the first visitor's page."""
    empty("warm-up").to_json()
    go.Figure(go.Scatter(x=[1], y=[1], error_y={"array": [0]}, text=[""])).to_json()


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """The controller owns SIGINT and SIGTERM and stops the dashboard itself."""
        yield


class DashboardServer:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.port = 0
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._warming: asyncio.Future[None] | None = None

    async def start(self, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            sock = socket.create_server((host, port), family=family)
        except OSError as error:
            raise OSError(
                f"dashboard: cannot listen on {host}:{port} ({error.strerror}); "
                "pass --dashboard HOST:PORT, or --dashboard off"
            ) from error
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, lifespan="off", log_config=None, access_log=False, timeout_graceful_shutdown=2
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
            await asyncio.sleep(0.01)
        self._warming = asyncio.get_running_loop().run_in_executor(None, _warm_up)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        if self._warming is not None:
            await self._warming
