"""An engine run as a child process: the same life cycle as a container, without Docker.

The child runs as the policy's unprivileged user, in a fresh folder of its own, with an
environment written from scratch (``sandbox``). It gets its own process group so that stopping
it also stops anything it started, and what left the group is found by its user (``reaper``);
its pid and folder are written under the agent's state folder so that an agent restarted after a
crash can stop an engine it left behind and remove its folder (``reap_orphans``).
"""

import asyncio
import contextlib
import os
import signal
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog

from arena.agent.engines.base import LaunchedEngineBase
from arena.agent.engines.command import LaunchSpec, launch_spec
from arena.agent.engines.logs import EngineLog
from arena.agent.engines.reaper import kill_leftovers
from arena.agent.engines.sandbox import (
    WORKDIR_PREFIX,
    EngineUser,
    engine_environment,
    engine_user,
    make_workdir,
    remove_workdir,
)
from arena.common.errors import EngineError
from arena.common.schemas.engine import ProcessEngine
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.suite import ModelSpec

log = structlog.get_logger(__name__)

STOP_GRACE_S = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ProcessEngineDriver(LaunchedEngineBase):
    profile: ProcessEngine

    def __init__(
        self,
        profile: ProcessEngine,
        model: ModelSpec,
        engine_log: EngineLog,
        state_dir: Path,
        policy: AgentPolicy,
    ) -> None:
        self.profile = profile
        self.model = model
        self.log = engine_log
        self.state_dir = state_dir
        self.port = profile.port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api_key: str | None = None
        self.launch: LaunchSpec = launch_spec(profile, model, self.port, policy)
        self.user = self.runs_as(policy)
        self._workdir: Path | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._started_at = 0.0
        self._ready_s: float | None = None

    def runs_as(self, policy: AgentPolicy) -> EngineUser:
        return engine_user(policy.process.user)

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"engine-{self.port}.pid"

    async def start(self) -> None:
        self._workdir = make_workdir(self.user)
        env = engine_environment(self._workdir, {**_gpu_env(self.profile.gpus), **self.launch.env})
        switch = self.user.switches
        self._started_at = time.monotonic()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.launch.argv,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=self._workdir,
                user=self.user.uid if switch else None,
                group=self.user.gid if switch else None,
                extra_groups=[] if switch else None,
                umask=0o077,
                start_new_session=True,
            )
        except OSError as error:
            raise EngineError(f"cannot start {self.launch.argv[0]!r}: {error}") from error
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text(f"{self._process.pid}\n{self._workdir}\n")
        self._reader = asyncio.create_task(self._read_output())
        log.info(
            "engine process started",
            pid=self._process.pid,
            user=self.user.name,
            command=self.launch.command_line,
        )

    async def _read_output(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        async for line in self._process.stdout:
            self.log.append(line.decode(errors="replace"))

    async def check(self) -> None:
        """Raise when the process has exited (a crash, an OOM kill by the kernel)."""
        process = self._process
        if process is not None and process.returncode is not None:
            if self._reader is not None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._reader), 1.0)
            raise EngineError(self.log.explain(_exit_reason(process.returncode)))

    async def stop(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            if not await _exited(process, STOP_GRACE_S):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await _exited(process, STOP_GRACE_S)
        if process is not None and self.user.switches:
            engine = frozenset({process.pid})
            killed = await asyncio.to_thread(kill_leftovers, self.user.uid, engine)
            if killed:
                log.warning(
                    "stopped processes the engine left behind", count=len(killed), pids=killed[:20]
                )
        if process is not None:
            # wait() also waits for the output pipe, which a leftover may hold open
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 2.0)
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(self._reader, 2.0)
        self.pid_file.unlink(missing_ok=True)
        if self._workdir is not None:
            await asyncio.to_thread(remove_workdir, self._workdir)
            self._workdir = None

    def provenance(self) -> dict[str, Any]:
        return {
            "runtime": "process",
            "recipe": self.profile.recipe,
            "user": self.user.name,
            "command": self.launch.command_line,
            "env": self.launch.recorded_env,
            "model": self.model.name,
            "model_revision": self.model.revision,
            "served_model_name": self.launch.served_model_name,
            "start_to_healthy_s": self._ready_s,
        }


async def _exited(process: asyncio.subprocess.Process, timeout_s: float) -> bool:
    """Whether the process itself has exited within ``timeout_s``; unlike ``wait()``, this does
    not wait for the output pipe that processes it left behind may still hold."""
    deadline = time.monotonic() + timeout_s
    while process.returncode is None and time.monotonic() < deadline:  # noqa: ASYNC110 (no event but wait())
        await asyncio.sleep(0.05)
    return process.returncode is not None


def _exit_reason(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (out of memory?)" if -code == signal.SIGKILL else ""
        return f"engine process killed by {name}{hint}"
    return f"engine process exited with code {code}"


def _gpu_env(gpus: object) -> dict[str, str]:
    if gpus is None or gpus == "all":
        return {}
    if isinstance(gpus, int):
        return {"CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in range(gpus))}
    if isinstance(gpus, list):
        return {"CUDA_VISIBLE_DEVICES": ",".join(gpus)}
    return {}


def reap_orphans(state_dir: Path) -> int:
    """Stop engines a previous run of this agent left behind and remove their folders;
    returns how many engines were still running."""
    reaped = 0
    for pid_file in state_dir.glob("engine-*.pid"):
        pid, _, workdir = pid_file.read_text().partition("\n")
        try:
            os.killpg(int(pid), signal.SIGKILL)
            reaped += 1
            log.warning("stopped an orphaned engine process", pid=pid)
        except (ValueError, ProcessLookupError, PermissionError):
            pass
        folder = Path(workdir.strip())
        if folder.parent == Path(tempfile.gettempdir()) and folder.name.startswith(WORKDIR_PREFIX):
            remove_workdir(folder)
        pid_file.unlink(missing_ok=True)
    return reaped
