"""Arena's simulated engine, run as a child process like a real engine would be."""

import asyncio
import collections
import contextlib
import sys
import time
from typing import Any

import structlog

from agent.engines.base import wait_healthy
from agent.simulated.server import LISTENING_PREFIX
from shared.errors import EngineError
from shared.schemas.suite import SimulatedEngine

log = structlog.get_logger(__name__)

LOG_TAIL_LINES = 50


class SimulatedEngineDriver:
    def __init__(self, profile: SimulatedEngine, model: str) -> None:
        self.profile = profile
        self.model = model
        self.base_url = ""
        self.api_key: str | None = None
        self.command = [
            sys.executable, "-m", "agent.simulated.server", "--port", "0",
            "--model-name", model,
            "--prefill-tokens-per-s", str(profile.prefill_tokens_per_s),
            "--decode-step-ms", str(profile.decode_step_ms),
            "--decode-step-ms-per-seq", str(profile.decode_step_ms_per_seq),
            "--max-batch", str(profile.max_batch),
            "--startup-s", str(profile.startup_s),
        ]  # fmt: skip
        self._process: asyncio.subprocess.Process | None = None
        self._log_tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL_LINES)
        self._drain: asyncio.Task[None] | None = None
        self._started_at = 0.0
        self._ready_s: float | None = None

    async def start(self) -> None:
        self._started_at = time.monotonic()
        self._process = await asyncio.create_subprocess_exec(
            *self.command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._drain = asyncio.create_task(self._keep_log_tail())
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), timeout=30)
        except TimeoutError as error:
            raise EngineError(self._failure("simulated engine did not report its port")) from error
        text = line.decode().strip()
        if not text.startswith(LISTENING_PREFIX):
            raise EngineError(self._failure(f"simulated engine failed to start: {text!r}"))
        self.base_url = f"http://127.0.0.1:{int(text.removeprefix(LISTENING_PREFIX))}"
        log.info("simulated engine started", url=self.base_url, pid=self._process.pid)

    async def _keep_log_tail(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        async for line in self._process.stderr:
            self._log_tail.append(line.decode(errors="replace").rstrip())

    def _failure(self, reason: str) -> str:
        tail = "\n".join(list(self._log_tail)[-10:])
        return f"{reason}\n--- last engine log lines ---\n{tail}" if tail else reason

    def _check_alive(self) -> None:
        if self._process is not None and self._process.returncode is not None:
            raise EngineError(
                self._failure(f"simulated engine exited with code {self._process.returncode}")
            )

    async def wait_ready(self, timeout_s: float) -> None:
        await wait_healthy(self.base_url, ("/health",), timeout_s, self._check_alive)
        self._ready_s = time.monotonic() - self._started_at

    async def stop(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=5)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain

    def provenance(self) -> dict[str, Any]:
        return {
            "runtime": "simulated",
            "simulated": True,
            "command": self.command,
            "engine_version": "arena-simulated",
            "model": self.model,
            "parameters": self.profile.model_dump(),
            "start_to_healthy_s": self._ready_s,
        }
