"""Arena session traces: written and read back unchanged, streamed lazily, and every broken
line reported with its file:line and what is wrong."""

import gzip
import json
from pathlib import Path

import pytest

from arena.common.errors import InvalidRequestError
from arena.common.traces import io
from arena.common.traces.errors import TraceError
from arena.common.traces.format import Session, Trace, TraceHeader, Turn
from arena.common.traces.io import iter_sessions, read_header, read_trace, write_trace

HEADER = {"format": "arena-sessions", "version": 1, "block_size": 16}


def _session(name: str, **extra: object) -> dict[str, object]:
    return {"id": name, "turns": [{"input_tokens": 10, "output_tokens": 5}], **extra}


def _file(tmp_path: Path, *lines: object, name: str = "t.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    return path


def _trace() -> Trace:
    child = Session(id="a1", turns=[Turn(input_tokens=3, output_tokens=2)])
    return Trace(
        header=TraceHeader(block_size=32, profile="hand", seed=3, params={"x": 1.5}),
        sessions=[
            Session(
                id="s0",
                arrival_s=0.25,
                system_blocks=[1, 2],
                turns=[
                    Turn(
                        blocks=[7], input_tokens=4, output_tokens=9, think_s=1.5, subagents=[child]
                    ),
                    Turn(input_tokens=0, output_tokens=1),
                ],
            ),
            Session(id="s1", turns=[Turn(input_tokens=8, output_tokens=3)]),
        ],
    )


@pytest.mark.parametrize("name", ["t.jsonl", "t.jsonl.gz"])
def test_a_trace_written_reads_back_equal(tmp_path: Path, name: str) -> None:
    trace = _trace()
    write_trace(tmp_path / name, trace.header, trace.sessions)
    assert read_trace(tmp_path / name) == trace
    assert read_header(tmp_path / name) == trace.header


def test_writing_leaves_defaults_out_and_keeps_the_header_whole(tmp_path: Path) -> None:
    trace = _trace()
    write_trace(tmp_path / "t.jsonl", trace.header, trace.sessions)
    lines = (tmp_path / "t.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["format"] == "arena-sessions"
    assert json.loads(lines[0])["version"] == 1
    assert lines[2] == '{"id":"s1","turns":[{"input_tokens":8,"output_tokens":3}]}'


def test_gzip_output_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    trace = _trace()
    write_trace(tmp_path / "a.jsonl.gz", trace.header, trace.sessions)
    write_trace(tmp_path / "b.jsonl.gz", trace.header, trace.sessions)
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()


def test_sessions_stream_lazily_and_limit_stops_early(tmp_path: Path) -> None:
    path = _file(tmp_path, HEADER, _session("a"), _session("b"), "this line is never parsed")
    sessions = iter_sessions(path)
    assert next(sessions).id == "a"
    assert [s.id for s in iter_sessions(path, limit=2)] == ["a", "b"]
    assert [s.id for s in read_trace(path, limit=1).sessions] == ["a"]


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    path = _file(tmp_path, HEADER, "", _session("a"), "", "{")
    with pytest.raises(TraceError, match=r"t\.jsonl:5: not valid JSON"):
        read_trace(path)


def _error(path: Path) -> TraceError:
    with pytest.raises(TraceError) as caught:
        read_trace(path)
    return caught.value


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        ([HEADER, _session("a"), "{not json"], 3, "not valid JSON"),
        ([_session("a")], 1, 'needs "format": "arena-sessions"'),
        (
            [{"timestamp": 0, "input_length": 5, "output_length": 1, "hash_ids": []}],
            1,
            "Mooncake request line",
        ),
        ([{**HEADER, "version": 2}], 1, "version 2 is not supported (this Arena reads version 1)"),
        ([{**HEADER, "block_size": 0}], 1, "header: block_size"),
        ([HEADER, _session("a"), _session("a")], 3, "session id 'a' is used twice"),
        ([HEADER, ["a"]], 2, "must be a JSON object"),
        ([HEADER, _session("a", colour="red")], 2, "session 'a': colour: Extra inputs"),
        (
            [HEADER, {"id": "a", "turns": [{"input_tokens": -1, "output_tokens": 0}]}],
            2,
            "turns.0.input_tokens",
        ),
        ([HEADER, '{"id": "a", "arrival_s": NaN, "turns": []}'], 2, "NaN is not a number"),
    ],
)
def test_each_problem_names_its_line(
    tmp_path: Path, lines: list[object], line: int, message: str
) -> None:
    error = _error(_file(tmp_path, *lines))
    assert error.line == line
    assert message in str(error)
    assert str(error).startswith(f"{tmp_path / 't.jsonl'}:{line}: ")
    assert isinstance(error, InvalidRequestError)


def test_sub_agents_nested_too_deep_are_refused(tmp_path: Path) -> None:
    leaf: dict[str, object] = _session("x")
    for depth in range(3):
        leaf = {
            "id": f"d{depth}",
            "turns": [{"input_tokens": 1, "output_tokens": 1, "subagents": [leaf]}],
        }
    error = _error(_file(tmp_path, HEADER, _session("ok"), {**leaf, "id": "deep"}))
    assert error.line == 3
    assert error.message == "session 'deep': sub-agents nested 3 deep (at most 2)"


def test_a_session_that_thinks_for_more_than_a_day_is_refused(tmp_path: Path) -> None:
    turn = {"input_tokens": 1, "output_tokens": 1, "think_s": 3600}
    day = {"id": "day", "turns": [turn] * 24}
    longer = {"id": "longer", "turns": [turn] * 25}
    error = _error(_file(tmp_path, HEADER, day, longer))
    assert error.line == 3
    assert (
        error.message == "session 'longer' thinks for 90,000 s between its turns (at most 86,400)"
    )


def test_bytes_that_are_not_utf8_are_named(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(json.dumps(HEADER).encode() + b'\n{"id": "\xff\xfe"}\n')
    assert _error(path).message == "not UTF-8 text"


def test_sibling_sub_agents_need_distinct_ids(tmp_path: Path) -> None:
    twins = [_session("a1"), _session("a1")]
    turn = {"input_tokens": 1, "output_tokens": 1, "subagents": twins}
    error = _error(_file(tmp_path, HEADER, {"id": "p", "turns": [turn]}))
    assert "turn 0 spawns sub-agents with equal ids" in str(error)


def test_a_header_without_sessions_and_an_empty_file_are_refused(tmp_path: Path) -> None:
    assert "holds no sessions" in str(_error(_file(tmp_path, HEADER)))
    (tmp_path / "empty.jsonl").write_text("")
    assert "is empty: it needs a header line" in str(_error(tmp_path / "empty.jsonl"))
    assert "cannot be read" in str(_error(tmp_path / "missing.jsonl"))


def test_limits_are_checked_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _file(tmp_path, HEADER, _session("a"), _session("b" * 60))
    monkeypatch.setattr(io, "MAX_LINE_BYTES", 80)
    error = _error(path)
    assert (error.line, "line longer than 80 bytes") == (3, error.message)
    monkeypatch.setattr(io, "MAX_LINE_BYTES", 10_000)
    monkeypatch.setattr(io, "MAX_SESSIONS", 1)
    assert "more than 1 sessions" in str(_error(path))
    monkeypatch.setattr(io, "MAX_SESSIONS", 10)
    monkeypatch.setattr(io, "MAX_TRACE_REQUESTS", 1)
    assert _error(path).line == 3
    monkeypatch.setattr(io, "MAX_TRACE_BYTES", 50)
    assert "at most 50" in str(_error(path))


def test_a_compressed_trace_is_limited_by_its_unpacked_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = json.dumps(HEADER) + "\n" + (json.dumps(_session("a")) + "\n") + "\n" * 5000
    (tmp_path / "t.jsonl.gz").write_bytes(gzip.compress(text.encode()))
    monkeypatch.setattr(io, "MAX_TRACE_BYTES", 1000)
    error = _error(tmp_path / "t.jsonl.gz")
    assert "larger than 1,000 bytes (decompressed)" in str(error)
    (tmp_path / "bad.jsonl.gz").write_bytes(b"not gzip at all")
    assert "cannot be decompressed" in str(_error(tmp_path / "bad.jsonl.gz"))
