"""A controller and an agent inside arenactl, for ``arenactl bench``.

Both run on one event loop in a background thread, over a temporary SQLite file, on loopback
with fresh random tokens (no other local program can use them); the calling thread talks to
them through ``ArenaClient`` as any arenactl command does. The agent's policy admits the one
endpoint the user named and nothing else. Leaving the block stops the agent (cancelling a
running job), then the controller.
"""

import asyncio
import contextlib
import secrets
import threading
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from arena.agent.generator.client import Endpoint
from arena.agent.generator.tokens import (
    APPROXIMATE_RULE,
    LocalTokenizer,
    ServerTokenizer,
    TokenizerError,
)
from arena.agent.settings import AgentSettings
from arena.agent.worker import Agent
from arena.common.errors import ArenaError
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings

AGENT_NAME = "arenactl-bench"
_STOP_TIMEOUT_S = 30.0


__all__ = [
    "APPROXIMATE_RULE",
    "EmbeddedArena",
    "endpoint_policy",
    "endpoint_tokenizer_problem",
    "tokenizer_problem",
]
TOKENIZE_CHECK_S = 10.0


def tokenizer_problem(file: Path) -> str | None:
    """Why the agent could not read ``file`` as a tokenizer, or None when it can."""
    try:
        LocalTokenizer(file)
    except TokenizerError as error:
        return str(error)
    return None


def endpoint_tokenizer_problem(
    url: str, model: str, api_key: str | None
) -> tuple[str, bool] | None:
    """Why the endpoint's ``/tokenize`` cannot count tokens, asked as the agent asks it, and
    whether the agent then falls back to approximate lengths (the route is missing: the
    agent's own ``TokenizerError.missing``) rather than failing the job; None when it can."""

    async def check() -> None:
        tokenizer = ServerTokenizer(Endpoint(url.rstrip("/").removesuffix("/v1"), model, api_key))
        try:
            await asyncio.wait_for(tokenizer.encode("Arena"), TOKENIZE_CHECK_S)
        finally:
            await tokenizer.close()

    try:
        asyncio.run(check())
    except TokenizerError as error:
        return str(error), error.missing
    except TimeoutError:
        return f"/tokenize did not answer within {TOKENIZE_CHECK_S:g} s", False
    return None


def endpoint_policy(url: str, models_dir: Path | None = None) -> dict[str, object]:
    """A policy that admits benchmarking ``url`` (its host and port) only, with a local
    tokenizer read from ``models_dir`` when the user gave one."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    entry = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    policy: dict[str, object] = {"runtimes": ["external"], "external": {"hosts": [entry]}}
    if models_dir is not None:
        policy["models_dir"] = str(models_dir)
    return policy


class EmbeddedArena:
    def __init__(self, workdir: Path, endpoint: str, models_dir: Path | None = None) -> None:
        self.user_token = secrets.token_hex(16)
        self._agent_token = secrets.token_hex(16)
        self.controller = Controller(
            ControllerSettings(
                listen="127.0.0.1:0",
                data_dir=workdir / "controller",
                agent_tokens=[self._agent_token],
                user_tokens=[self.user_token],
                heartbeat_interval_s=0.5,
                max_attempts=1,  # a failure is the answer; retrying an endpoint proves nothing
                dashboard="off",  # a one-off bench has nobody to look at it
            )
        )
        self.workdir = workdir
        self.endpoint = endpoint
        self.models_dir = models_dir
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.agent: Agent | None = None
        self.agent_task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.controller.port}"

    def __enter__(self) -> "EmbeddedArena":
        self.thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(_STOP_TIMEOUT_S)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(_STOP_TIMEOUT_S * 2)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    def alive(self) -> None:
        """Raise when the agent stopped on its own: no job of this run can move any more."""
        task = self.agent_task
        if task is not None and task.done():
            error = None if task.cancelled() else task.exception()
            raise ArenaError(f"the embedded agent stopped: {error or 'it exited'}")

    async def _start(self) -> None:
        await self.controller.start()
        policy_file = self.workdir / "agent-policy.yaml"
        policy_file.write_text(yaml.safe_dump(endpoint_policy(self.endpoint, self.models_dir)))
        settings = AgentSettings(
            controller=self.address,
            token=self._agent_token,
            name=AGENT_NAME,
            state_dir=self.workdir / "agent",
            policy_file=policy_file,
            lease_wait_s=1.0,  # stopping waits at most one lease poll
        )
        self.agent = Agent(settings)
        self.agent_task = asyncio.create_task(self.agent.run())

    async def _stop(self) -> None:
        if self.agent is not None and self.agent_task is not None:
            self.agent.shutdown()
            try:
                async with asyncio.timeout(_STOP_TIMEOUT_S):
                    await self.agent_task
            except TimeoutError:
                self.agent_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.agent_task
        await self.controller.stop(grace=0.5)
