"""The ``arena-sim`` command: serve the simulated engine until SIGINT or SIGTERM.

Once listening it prints exactly one line to stdout, ``ARENA_SIM_LISTENING port=<port>``: the
contract with the agent that launches it (``--port 0`` picks a free port). Logs go to stderr.
"""

import asyncio
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import click
import structlog
from aiohttp import web
from pydantic import ValidationError

from arena.agent.simulated.app import DEFAULT_MODEL_NAME, create_app
from arena.common.logging import LogFormat, configure_logging
from arena.common.schemas.engine import SimulatedEngine

log = structlog.get_logger(__name__)

LISTENING_PREFIX = "ARENA_SIM_LISTENING port="
_SHUTDOWN_GRACE_S = 1.0


@dataclass(frozen=True)
class RunningServer:
    """Where an in-process simulated engine listens."""

    host: str
    port: int
    app: web.Application
    """The served app; ``app[SCHEDULER_KEY]`` shows the batch."""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@asynccontextmanager
async def running_server(
    engine: SimulatedEngine,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    model_name: str = DEFAULT_MODEL_NAME,
) -> AsyncIterator[RunningServer]:
    """Serve the simulated engine in this event loop until the block exits."""
    app = create_app(engine, model_name)
    runner = web.AppRunner(
        app,
        handler_cancellation=True,  # a client that leaves frees its place in the batch
        access_log=None,
        shutdown_timeout=_SHUTDOWN_GRACE_S,
    )
    await runner.setup()
    try:
        sock = socket.create_server((host, port))
        await web.SockSite(runner, sock).start()
        bound_port: int = sock.getsockname()[1]
        log.info("simulated engine listening", host=host, port=bound_port, model=model_name)
        yield RunningServer(host, bound_port, app)
    finally:
        await runner.cleanup()


async def _serve_until_signalled(engine: SimulatedEngine, host: str, port: int, model: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_server(engine, host=host, port=port, model_name=model) as server:
        sys.stdout.write(f"{LISTENING_PREFIX}{server.port}\n")
        sys.stdout.flush()
        await stop.wait()
    log.info("simulated engine stopped")


_DEFAULTS = SimulatedEngine.model_fields


@click.command(context_settings={"show_default": True})
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=0, type=int, help="0 picks a free port.")
@click.option("--model-name", default=DEFAULT_MODEL_NAME, help="The name /v1/models reports.")
@click.option("--prefill-tokens-per-s", default=_DEFAULTS["prefill_tokens_per_s"].default)
@click.option("--decode-step-ms", default=_DEFAULTS["decode_step_ms"].default)
@click.option("--decode-step-ms-per-seq", default=_DEFAULTS["decode_step_ms_per_seq"].default)
@click.option("--max-batch", default=_DEFAULTS["max_batch"].default, type=int)
@click.option("--startup-s", default=_DEFAULTS["startup_s"].default)
@click.option("--prefix-cache/--no-prefix-cache", default=_DEFAULTS["prefix_cache"].default)
@click.option("--prefix-cache-blocks", default=_DEFAULTS["prefix_cache_blocks"].default, type=int)
@click.option(
    "--prefix-cache-block-size", default=_DEFAULTS["prefix_cache_block_size"].default, type=int
)
@click.option(
    "--decode-drift-pct-per-s",
    default=_DEFAULTS["decode_drift_pct_per_s"].default,
    help="Decode steps lengthen by this % of --decode-step-ms per second of running.",
)
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning"]))
@click.option("--log-format", default="console", type=click.Choice(["console", "json"]))
def main(
    host: str,
    port: int,
    model_name: str,
    prefill_tokens_per_s: float,
    decode_step_ms: float,
    decode_step_ms_per_seq: float,
    max_batch: int,
    startup_s: float,
    prefix_cache: bool,
    prefix_cache_blocks: int,
    prefix_cache_block_size: int,
    decode_drift_pct_per_s: float,
    log_level: str,
    log_format: LogFormat,
) -> None:
    """Arena's simulated OpenAI-compatible engine (every response is labelled simulated)."""
    configure_logging(log_level, log_format)
    try:
        engine = SimulatedEngine(
            runtime="simulated",
            prefill_tokens_per_s=prefill_tokens_per_s,
            decode_step_ms=decode_step_ms,
            decode_step_ms_per_seq=decode_step_ms_per_seq,
            max_batch=max_batch,
            startup_s=startup_s,
            prefix_cache=prefix_cache,
            prefix_cache_blocks=prefix_cache_blocks,
            prefix_cache_block_size=prefix_cache_block_size,
            decode_drift_pct_per_s=decode_drift_pct_per_s,
        )
    except ValidationError as error:
        raise click.UsageError(str(error)) from None
    asyncio.run(_serve_until_signalled(engine, host, port, model_name))


if __name__ == "__main__":
    main()
