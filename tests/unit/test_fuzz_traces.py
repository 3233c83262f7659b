"""Property: whatever a trace file holds, reading it (either format) yields sessions or raises
TraceError naming the file, never anything else."""

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arena.common.traces.errors import TraceError
from arena.common.traces.io import read_trace
from arena.common.traces.mooncake import read_mooncake

FIELDS = [
    "format",
    "version",
    "block_size",
    "id",
    "arrival_s",
    "system_blocks",
    "turns",
    "input_tokens",
    "output_tokens",
    "blocks",
    "think_s",
    "subagents",
    "timestamp",
    "input_length",
    "output_length",
    "hash_ids",
]
HEADER = {"format": "arena-sessions", "version": 1}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), children, max_size=5),
    ),
    max_leaves=16,
)
lines = st.lists(st.one_of(values.map(json.dumps), st.text(max_size=30)), max_size=5)
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _read(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for read in (read_trace, read_mooncake):
        try:
            read(path)
        except TraceError as error:
            assert str(error).startswith(str(path))


@SETTINGS
@given(lines)
def test_random_sessions_after_a_good_header_read_or_fail_cleanly(
    tmp_path: Path, body: list[str]
) -> None:
    _read(tmp_path / "t.jsonl", "\n".join([json.dumps(HEADER), *body]))


@SETTINGS
@given(st.text(max_size=200))
def test_random_text_reads_or_fails_cleanly(tmp_path: Path, text: str) -> None:
    _read(tmp_path / "t.jsonl", text)
