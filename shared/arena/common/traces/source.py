"""A session benchmark's trace from its ``trace:`` source: generated or read from a file."""

from pathlib import Path
from typing import Literal

from arena.common.schemas.suite import TraceSource
from arena.common.traces.format import Trace
from arena.common.traces.io import PathLike, read_trace
from arena.common.traces.mooncake import MOONCAKE_BLOCK_SIZE, read_mooncake
from arena.common.traces.params import DEFAULT_SESSIONS
from arena.common.traces.profiles import generate, scale

TraceFormat = Literal["arena", "mooncake"]


def load_trace(
    path: PathLike,
    format: TraceFormat = "arena",
    block_size: int | None = None,
    limit: int | None = None,
) -> Trace:
    """A trace file in either format; ``block_size`` is a Mooncake file's (an Arena trace
    names its own in its header, so giving one there is refused)."""
    if format == "mooncake":
        return read_mooncake(path, block_size or MOONCAKE_BLOCK_SIZE, limit)
    if block_size is not None:
        raise ValueError("block_size applies to Mooncake files; an Arena trace names its own")
    return read_trace(path, limit)


def trace_for(source: TraceSource, seed: int, path: Path | None = None) -> Trace:
    """The trace ``source`` names: generated with ``seed``, or read from ``path`` (the
    source's ``path`` as resolved by the caller, e.g. under the agent's ``models_dir``),
    scaled by the source's ``scale`` (``quick``)."""
    if source.profile is not None:
        trace = generate(source.profile, source.sessions or DEFAULT_SESSIONS, seed, source.params)
    elif path is None:
        raise ValueError("a trace read from a file needs its resolved path")
    else:
        trace = load_trace(path, source.format, source.block_size, source.sessions)
    return trace if source.scale == 1 else scale(trace, source.scale)
