"""A suite's ``trace:`` source turned into sessions: generated from a profile with the
benchmark's seed, or read from a file in either format."""

from pathlib import Path

import pytest

from arena.common.schemas.suite import TraceSource
from arena.common.traces.io import write_trace
from arena.common.traces.params import DEFAULT_SESSIONS
from arena.common.traces.profiles import generate
from arena.common.traces.source import load_trace, trace_for
from tests.conftest import REPO

SAMPLE = REPO / "examples" / "traces" / "mooncake-sample.jsonl"


def test_a_profile_source_generates_with_the_given_seed() -> None:
    source = TraceSource(profile="chat", sessions=3, params={"turns_max": 2})
    assert trace_for(source, seed=5) == generate("chat", 3, 5, {"turns_max": 2})
    assert len(trace_for(TraceSource(profile="rag"), seed=1).sessions) == DEFAULT_SESSIONS


def test_a_path_source_reads_its_format_and_first_sessions(tmp_path: Path) -> None:
    made = generate("chat", 4, 2)
    write_trace(tmp_path / "t.jsonl", made.header, made.sessions)
    source = TraceSource(path="t.jsonl", sessions=2)
    assert trace_for(source, 0, tmp_path / "t.jsonl").sessions == made.sessions[:2]
    mooncake = TraceSource(path="m.jsonl", format="mooncake", block_size=256)
    with pytest.raises(ValueError, match="needs its resolved path"):
        trace_for(mooncake, 0)
    assert (
        trace_for(TraceSource(path="m.jsonl", format="mooncake"), 0, SAMPLE).header.block_size
        == 512
    )


def test_a_block_size_for_an_arena_trace_is_refused() -> None:
    with pytest.raises(ValueError, match="block_size applies to Mooncake files"):
        load_trace(REPO / "examples" / "traces" / "coding-small.jsonl", "arena", 64)
