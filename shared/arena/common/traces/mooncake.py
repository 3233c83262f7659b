"""Mooncake-style request traces (one JSON object per line: ``timestamp`` in ms,
``input_length``, ``output_length``, ``hash_ids``) read as one-turn Arena sessions.

Each hash id names ``block_size`` prompt tokens (512 in Mooncake's published traces); a
request's ids cover its prompt from the start, the last one possibly a partial block. A line
becomes session ``r{line}`` with one turn whose ``blocks`` are the ids of the *whole* blocks
and whose ``input_tokens`` are the rest (a partial last block is text of its own: an id
stands for exactly ``block_size`` tokens here). Arrivals are relative to the first line's
timestamp, so the first request starts at 0 whether the file counts from 0 or from an epoch.
Timestamps going backwards are refused rather than sorted: a replay of a shuffled or
concatenated file would silently be another workload (docs/traces.md).
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from pydantic import ConfigDict, Field, ValidationError

from arena.common.schemas.base import ArenaModel
from arena.common.traces.errors import TraceError
from arena.common.traces.format import (
    MAX_ARRIVAL_S,
    MAX_BLOCKS,
    MAX_OUTPUT_TOKENS,
    MAX_SESSIONS,
    MAX_TURN_TOKENS,
    BlockId,
    Session,
    Trace,
    TraceHeader,
    Turn,
)
from arena.common.traces.io import PathLike, json_line, lines_of, problems

MOONCAKE_BLOCK_SIZE = 512
"""Tokens per hash id in Mooncake's published traces."""


class MooncakeRequest(ArenaModel):
    """One line of the file; any other field is refused (a ``session_id`` silently dropped
    would replay a multi-turn file as unrelated requests), and so is a value of another JSON
    type (``"1024"``, ``true``): strict, as the file is data from elsewhere."""

    model_config = ConfigDict(**ArenaModel.model_config, strict=True)

    timestamp: Annotated[float, Field(ge=0, le=2**53)]
    """Milliseconds."""
    input_length: Annotated[int, Field(ge=0, le=MAX_TURN_TOKENS)]
    output_length: Annotated[int, Field(ge=1, le=MAX_OUTPUT_TOKENS)]
    hash_ids: list[BlockId] = Field(default=[], max_length=MAX_BLOCKS)


def read_mooncake(
    path: PathLike, block_size: int = MOONCAKE_BLOCK_SIZE, limit: int | None = None
) -> Trace:
    """The file as an Arena trace: its first ``limit`` requests (all: None)."""
    sessions = list(iter_mooncake(path, block_size, limit))
    header = TraceHeader(
        block_size=block_size, description=f"Mooncake requests from {Path(path).name}"
    )
    return Trace(header=header, sessions=sessions)


def iter_mooncake(
    path: PathLike, block_size: int = MOONCAKE_BLOCK_SIZE, limit: int | None = None
) -> Iterator[Session]:
    """One session per request line, in file order."""
    if not 0 < block_size <= 4096:
        raise ValueError(f"block_size must be in 1..4096, got {block_size}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    file = str(path)
    count = 0
    first_ms: float | None = None
    last: tuple[int, float] | None = None
    with lines_of(path) as lines:
        for number, raw in lines:
            if not raw.strip():
                continue
            if count >= MAX_SESSIONS:
                raise TraceError(file, number, f"more than {MAX_SESSIONS:,} requests")
            request = _request(file, number, json_line(file, number, raw))
            if last is not None and request.timestamp < last[1]:
                raise TraceError(
                    file,
                    number,
                    f"timestamp {request.timestamp:g} ms is before line {last[0]}'s "
                    f"{last[1]:g} ms: sort the file by timestamp",
                )
            last = (number, request.timestamp)
            first_ms = request.timestamp if first_ms is None else first_ms
            if (request.timestamp - first_ms) / 1000 > MAX_ARRIVAL_S:
                raise TraceError(
                    file,
                    number,
                    f"arrives {(request.timestamp - first_ms) / 1000:,.0f} s after the first "
                    f"request; a trace spans at most {MAX_ARRIVAL_S:,.0f} s",
                )
            yield Session(
                id=f"r{number}",
                arrival_s=(request.timestamp - first_ms) / 1000,
                turns=[_turn(file, number, request, block_size)],
            )
            count += 1
            if limit is not None and count >= limit:
                return
    if count == 0:
        raise TraceError(file, None, "holds no requests")


def _turn(file: str, number: int, request: MooncakeRequest, block_size: int) -> Turn:
    whole = request.input_length // block_size
    covering = -(-request.input_length // block_size)
    given = len(request.hash_ids)
    if not whole <= given <= covering:
        expected = str(whole) if whole == covering else f"{whole} or {covering}"
        raise TraceError(
            file,
            number,
            f"{given} hash_ids, but input_length {request.input_length} at block size "
            f"{block_size} needs {expected} (is the block size right?)",
        )
    return Turn(
        blocks=request.hash_ids[:whole],
        input_tokens=request.input_length - whole * block_size,
        output_tokens=request.output_length,
    )


def _request(file: str, number: int, document: object) -> MooncakeRequest:
    if not isinstance(document, dict):
        raise TraceError(file, number, "a Mooncake line must be a JSON object")
    try:
        return MooncakeRequest.model_validate(document)
    except ValidationError as error:
        raise TraceError(file, number, problems(error)) from error
