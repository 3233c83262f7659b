"""What every reference-tool driver gets and gives back, and how a tool process is run.

A driver turns one benchmark into the tool's exact command line(s), runs them with their output
streamed into the job log, feeds per-request samples to the job as the tool allows, and
returns the tool's own result files and metrics to be stored verbatim beside Arena's.
"""

import asyncio
import contextlib
import os
import shlex
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from arena.agent.engines.logs import LineSink
from arena.agent.generator.client import Endpoint
from arena.agent.generator.clock import JobClock
from arena.agent.generator.context import SampleSink
from arena.common.schemas.suite import Benchmark

PositionSink = Callable[[str, str, int], None]
"""(benchmark, variant, run) the tool is working on."""

Metrics = dict[str, dict[str, dict[str, float]]]
"""{variant key: {Arena metric key: {mean, std, n}}}."""

REDACTED = "***"


class ToolError(RuntimeError):
    """The tool could not run the benchmark (unsupported setting, crash, no result file)."""


@dataclass(frozen=True)
class ToolContext:
    endpoint: Endpoint
    model_name: str
    """The model as the suite names it (vLLM's ``--model``); the endpoint has the served name."""
    runs: int
    seed: int
    tokenizer: str | None
    """Local tokenizer (tokenizer.json or its folder): no model hub needed."""
    random_weights: bool
    clock: JobClock
    workdir: Path
    output: LineSink
    """The tool's stdout and stderr, line by line (into the job log)."""
    sample: SampleSink
    position: PositionSink
    container: str | None = None
    """The engine's Docker container and port inside it, when the engine runs in one."""
    container_port: int | None = None


@dataclass
class ToolOutcome:
    tool: str
    commands: list[str] = field(default_factory=list)
    """Every command line run, verbatim (secrets redacted)."""
    outputs: list[str] = field(default_factory=list)
    """Every result file the tool wrote, verbatim."""
    metrics: Metrics = field(default_factory=dict)

    @property
    def command(self) -> str:
        return "\n".join(self.commands)

    @property
    def output(self) -> str:
        return "\n".join(self.outputs)


class ToolDriver(Protocol):
    name: str

    async def run(self, bench: Benchmark, ctx: ToolContext) -> ToolOutcome: ...


def command_line(argv: Sequence[str], secret: str | None = None) -> str:
    """The argv as one shell-quoted line, the endpoint's key replaced by ``***``."""
    return shlex.join(REDACTED if secret and part == secret else part for part in argv)


async def run_tool(
    argv: Sequence[str],
    output: LineSink,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> int:
    """Run a tool in its own process group, streaming its output; kill the group if cancelled."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        start_new_session=True,
    )
    assert process.stdout is not None
    try:
        async for raw in process.stdout:
            output(raw.decode(errors="replace").rstrip("\r\n"))
        return await process.wait()
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


def metric_stats(stats: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Stats objects (``mean``, ``std``, ``n`` attributes) as plain JSON-ready dicts."""
    return {key: {"mean": s.mean, "std": s.std, "n": s.n} for key, s in stats.items()}
