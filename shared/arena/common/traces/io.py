"""Reading and writing Arena session traces (docs/traces.md): a header line, then one session
per line.

A trace may hold up to ``MAX_SESSIONS`` sessions (around 100 MB), so reading is a stream:
each line is length-checked before it is parsed, sessions are validated one at a time, and
``iter_sessions`` never holds more than one. Every problem is reported once, as a TraceError
naming file:line and what is wrong, because a trace is a file a person wrote or edited.
A name ending in ``.gz`` is read and written through gzip, its limits counted on the
decompressed bytes (a small archive cannot unpack into an unbounded trace).
"""

import gzip
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from io import BufferedReader, BufferedWriter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from arena.common.traces.errors import TraceError
from arena.common.traces.format import (
    MAX_SESSION_REQUESTS,
    MAX_SESSION_THINK_S,
    MAX_SESSIONS,
    MAX_SUBAGENT_DEPTH,
    MAX_TRACE_REQUESTS,
    TRACE_FORMAT,
    TRACE_VERSION,
    Session,
    Trace,
    TraceHeader,
)

SUPPORTED_VERSIONS = (TRACE_VERSION,)
MAX_TRACE_BYTES = 512 * 2**20
"""The most (decompressed) bytes read from one trace file."""
MAX_LINE_BYTES = 16 * 2**20
"""The longest line: one session with its sub-agents."""
MAX_PROBLEMS_SHOWN = 3
"""Validation problems of one line listed in its error; the rest are counted."""

PathLike = str | os.PathLike[str]


def read_trace(path: PathLike, limit: int | None = None) -> Trace:
    """The whole trace in memory: its header and its first ``limit`` sessions (all: None)."""
    return Trace(header=read_header(path), sessions=list(iter_sessions(path, limit)))


def read_header(path: PathLike) -> TraceHeader:
    """The header line alone (reads nothing further)."""
    with lines_of(path) as lines:
        return _header(str(path), lines)


def iter_sessions(path: PathLike, limit: int | None = None) -> Iterator[Session]:
    """Sessions in file order, validated one line at a time; the first ``limit`` of them."""
    file = str(path)
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    seen: set[str] = set()
    total_requests = 0
    with lines_of(path) as lines:
        _header(file, lines)
        for number, raw in lines:
            if not raw.strip():
                continue
            if len(seen) >= MAX_SESSIONS:
                raise TraceError(file, number, f"more than {MAX_SESSIONS:,} sessions")
            session = _session(file, number, json_line(file, number, raw))
            if session.id in seen:
                raise TraceError(file, number, f"session id {session.id!r} is used twice")
            seen.add(session.id)
            requests = check_session(session, file, number)
            total_requests += requests
            if total_requests > MAX_TRACE_REQUESTS:
                raise TraceError(
                    file, number, f"more than {MAX_TRACE_REQUESTS:,} turns in the whole trace"
                )
            yield session
            if limit is not None and len(seen) >= limit:
                return
    if not seen:
        raise TraceError(file, None, "holds no sessions (only a header line)")


def check_session(session: Session, file: str, line: int | None) -> int:
    """What the models cannot check alone: sub-agent depth, distinct sibling ids, the number
    of requests the session makes (returned, sub-agents included), its own think time."""
    think = sum(turn.think_s for turn in session.turns)
    if think > MAX_SESSION_THINK_S:
        raise TraceError(
            file,
            line,
            f"session {session.id!r} thinks for {think:,.0f} s between its turns "
            f"(at most {MAX_SESSION_THINK_S:,.0f})",
        )
    requests = 0
    stack: list[tuple[Session, int]] = [(session, 0)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_SUBAGENT_DEPTH:
            raise TraceError(
                file,
                line,
                f"session {session.id!r}: sub-agents nested {depth} deep "
                f"(at most {MAX_SUBAGENT_DEPTH})",
            )
        requests += len(current.turns)
        for index, turn in enumerate(current.turns):
            ids = [child.id for child in turn.subagents]
            if len(set(ids)) != len(ids):
                raise TraceError(
                    file,
                    line,
                    f"session {session.id!r}: turn {index} spawns sub-agents with equal ids",
                )
            stack.extend((child, depth + 1) for child in turn.subagents)
    if requests > MAX_SESSION_REQUESTS:
        raise TraceError(
            file,
            line,
            f"session {session.id!r} makes {requests:,} requests with its sub-agents "
            f"(at most {MAX_SESSION_REQUESTS:,})",
        )
    return requests


def write_trace(path: PathLike, header: TraceHeader, sessions: Iterable[Session]) -> None:
    """Write a trace, one session at a time; ``.gz`` compresses (without a name or timestamp,
    so equal traces are equal files)."""
    file = Path(path)
    with file.open("wb") as raw:
        out: gzip.GzipFile | BufferedWriter = (
            gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) if _gz(file) else raw
        )
        try:
            out.write(header_line(header).encode())
            for session in sessions:
                out.write(session_line(session).encode())
        finally:
            if out is not raw:
                out.close()


def header_line(header: TraceHeader) -> str:
    """Every field, defaults included: a reader must see ``format`` and ``version``."""
    return _compact(header.model_dump(mode="json")) + "\n"


def session_line(session: Session) -> str:
    """Fields at their defaults left out (no empty ``blocks``, ``subagents``, zero think)."""
    return _compact(session.model_dump(mode="json", exclude_defaults=True)) + "\n"


def _compact(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _gz(path: Path) -> bool:
    return path.suffix == ".gz"


@contextmanager
def lines_of(path: PathLike) -> Iterator[Iterator[tuple[int, bytes]]]:
    """The file's lines as (1-based number, bytes), each and all of them within the limits."""
    file = str(path)
    try:
        size = os.stat(path).st_size
        if size > MAX_TRACE_BYTES:
            raise TraceError(
                file, None, f"is {size:,} bytes; a trace may have at most {MAX_TRACE_BYTES:,}"
            )
        handle = _open(Path(path))
    except OSError as error:
        raise TraceError(file, None, f"cannot be read: {error.strerror or error}") from error
    with handle:
        yield _numbered(file, handle)


def _open(path: Path) -> gzip.GzipFile | BufferedReader:
    """Closed by ``lines_of``'s ``with``."""
    return gzip.GzipFile(path, "rb") if _gz(path) else path.open("rb")  # noqa: SIM115


def _numbered(file: str, handle: gzip.GzipFile | BufferedReader) -> Iterator[tuple[int, bytes]]:
    total = 0
    number = 0
    while True:
        number += 1
        try:
            raw = handle.readline(MAX_LINE_BYTES + 1)
        except (OSError, EOFError, zlib.error) as error:
            raise TraceError(file, number, f"cannot be decompressed: {error}") from error
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES:
            raise TraceError(file, number, f"line longer than {MAX_LINE_BYTES:,} bytes")
        total += len(raw)
        if total > MAX_TRACE_BYTES:
            raise TraceError(
                file, number, f"trace larger than {MAX_TRACE_BYTES:,} bytes (decompressed)"
            )
        yield number, raw


def _header(file: str, lines: Iterator[tuple[int, bytes]]) -> TraceHeader:
    for number, raw in lines:
        if not raw.strip():
            continue
        document = json_line(file, number, raw)
        if not isinstance(document, dict):
            raise TraceError(file, number, "the first line must be the trace's header object")
        if document.get("format") != TRACE_FORMAT:
            hint = (
                " (it looks like a Mooncake request line: read it as format mooncake)"
                if "hash_ids" in document or "input_length" in document
                else ""
            )
            raise TraceError(
                file,
                number,
                f'not an Arena trace header: the first line needs "format": "{TRACE_FORMAT}"{hint}',
            )
        version = document.get("version")
        if version not in SUPPORTED_VERSIONS:
            supported = ", ".join(str(known) for known in SUPPORTED_VERSIONS)
            raise TraceError(
                file,
                number,
                f"trace version {version!r} is not supported (this Arena reads version "
                f"{supported})",
            )
        try:
            return TraceHeader.model_validate(document)
        except ValidationError as error:
            raise TraceError(file, number, f"header: {problems(error)}") from error
    raise TraceError(file, None, "is empty: it needs a header line")


def _session(file: str, number: int, document: object) -> Session:
    if not isinstance(document, dict):
        raise TraceError(file, number, "a session line must be a JSON object")
    try:
        return Session.model_validate(document)
    except ValidationError as error:
        name = document.get("id")
        where = f"session {name!r}: " if isinstance(name, str) and len(name) <= 64 else ""
        raise TraceError(file, number, where + problems(error)) from error


def json_line(file: str, number: int, raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except UnicodeDecodeError as error:
        raise TraceError(file, number, "not UTF-8 text") from error
    except json.JSONDecodeError as error:
        raise TraceError(
            file, number, f"not valid JSON: {error.msg} (column {error.colno})"
        ) from error
    except ValueError as error:
        raise TraceError(file, number, str(error)) from error
    except RecursionError as error:
        raise TraceError(file, number, "JSON nested too deeply") from error


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a trace may hold")


def problems(error: ValidationError) -> str:
    """A pydantic error as ``field.path: message`` items, the first few of them."""
    found = error.errors(include_url=False, include_input=False)
    shown = [
        ".".join(str(part) for part in problem["loc"]) + ": " + problem["msg"]
        for problem in found[:MAX_PROBLEMS_SHOWN]
    ]
    more = len(found) - len(shown)
    return "; ".join(shown) + (f" (and {more} more)" if more > 0 else "")
