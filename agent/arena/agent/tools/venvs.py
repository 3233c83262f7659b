"""Pinned tool installs: each reference tool lives in its own virtual environment, created on
first use, so that its dependencies never meet Arena's and its version never drifts."""

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import structlog

from arena.agent.engines.logs import LineSink

log = structlog.get_logger(__name__)

VENV_ROOT = Path.home() / ".cache" / "arena" / "venvs"
LLAMA_BENCHY_VERSION = "0.4.0"
INSTALL_TIMEOUT_S = 900.0


class ToolMissingError(RuntimeError):
    """The tool is not installed where the agent looks, and cannot be installed by it."""


@dataclass(frozen=True)
class PinnedTool:
    """A console script from one PyPI package at one version, in a venv of its own."""

    package: str
    version: str
    script: str
    env_var: str
    """Environment variable overriding where it lives: a venv folder or the executable."""

    @property
    def default_venv(self) -> Path:
        return VENV_ROOT / f"{self.package}-{self.version}"

    def location(self) -> Path:
        override = os.environ.get(self.env_var)
        return Path(override).expanduser() if override else self.default_venv

    def executable(self) -> Path:
        where = self.location()
        return where if where.is_file() else where / "bin" / self.script


LLAMA_BENCHY = PinnedTool(
    "llama-benchy", LLAMA_BENCHY_VERSION, "llama-benchy", "ARENA_LLAMA_BENCHY"
)
VLLM_ENV_VAR = "ARENA_VLLM_BENCH"


def vllm_executable() -> Path | None:
    """vLLM's CLI from a configured venv, or None: vLLM is a multi-GB install the agent never
    makes itself (use the engine's own image instead, or install it and set the variable)."""
    configured = os.environ.get(VLLM_ENV_VAR)
    path = Path(configured).expanduser() if configured else VENV_ROOT / "vllm" / "bin" / "vllm"
    if path.is_dir():
        path = path / "bin" / "vllm"
    return path if path.exists() else None


async def ensure_installed(tool: PinnedTool, output: LineSink) -> Path:
    """The tool's executable, creating its venv and installing the pinned version when missing.

    An overriding path that points at an executable is used as it is, never installed into.
    """
    executable = tool.executable()
    if executable.exists():
        return executable
    venv = tool.location()
    log.info("installing tool", tool=tool.package, version=tool.version, venv=str(venv))
    output(f"installing {tool.package}=={tool.version} into {venv}")
    await _run([sys.executable, "-m", "venv", str(venv)], output)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    await _run([*pip, f"{tool.package}=={tool.version}"], output)
    if not executable.exists():
        raise ToolMissingError(f"installing {tool.package} gave no {executable}")
    return executable


async def _run(argv: list[str], output: LineSink) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(INSTALL_TIMEOUT_S):
            async for line in process.stdout:
                output(line.decode(errors="replace").rstrip())
            code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if code != 0:
        raise ToolMissingError(f"{' '.join(argv)} exited with code {code}")
