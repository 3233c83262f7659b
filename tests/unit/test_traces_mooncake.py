"""Mooncake request files as one-turn Arena sessions: whole blocks shared, the rest unique,
arrivals from the first timestamp, and every inconsistency refused with its line."""

import json
from pathlib import Path

import pytest

from arena.common.traces.errors import TraceError
from arena.common.traces.format import Turn
from arena.common.traces.mooncake import read_mooncake
from tests.conftest import REPO

SAMPLE = REPO / "examples" / "traces" / "mooncake-sample.jsonl"


def _file(tmp_path: Path, *requests: dict[str, object]) -> Path:
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(request) + "\n" for request in requests))
    return path


def _request(timestamp: float, length: int, ids: list[int], output: int = 7) -> dict[str, object]:
    return {
        "timestamp": timestamp,
        "input_length": length,
        "output_length": output,
        "hash_ids": ids,
    }


def test_each_line_becomes_a_one_turn_session(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        _request(5000, 1100, [1, 2, 3]),
        _request(5250, 1024, [1, 2]),
        _request(7000, 100, [9], output=1),
    )
    trace = read_mooncake(path)
    assert trace.header.block_size == 512
    assert [(s.id, s.arrival_s) for s in trace.sessions] == [("r1", 0.0), ("r2", 0.25), ("r3", 2.0)]
    assert [s.turns for s in trace.sessions] == [
        [Turn(blocks=[1, 2], input_tokens=76, output_tokens=7)],
        [Turn(blocks=[1, 2], input_tokens=0, output_tokens=7)],
        [Turn(blocks=[], input_tokens=100, output_tokens=1)],
    ]
    assert all(not s.system_blocks for s in trace.sessions)


def test_the_block_size_is_a_parameter_and_limit_takes_the_first(tmp_path: Path) -> None:
    path = _file(tmp_path, _request(0, 40, [1, 2, 3]), _request(1, 32, [1, 2]))
    trace = read_mooncake(path, block_size=16, limit=1)
    assert trace.header.block_size == 16
    assert [s.turns[0] for s in trace.sessions] == [
        Turn(blocks=[1, 2], input_tokens=8, output_tokens=7)
    ]


def test_blank_lines_keep_their_numbers_in_the_ids(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(
        json.dumps(_request(0, 1, [1])) + "\n\n" + json.dumps(_request(1, 1, [1])) + "\n"
    )
    assert [s.id for s in read_mooncake(path).sessions] == ["r1", "r3"]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            _request(10, 1100, [1]),
            "1 hash_ids, but input_length 1100 at block size 512 needs 2 or 3",
        ),
        (_request(10, 1024, [1, 2, 3]), "needs 2 (is the block size right?)"),
        (_request(5, 10, [1]), "timestamp 5 ms is before line 1's 8 ms: sort the file"),
        ({**_request(10, 10, [1]), "input_length": -1}, "input_length: Input should be greater"),
        ({**_request(10, 10, [1]), "output_length": 0}, "output_length"),
        ({**_request(10, 10, [1]), "session_id": 4}, "session_id: Extra inputs are not permitted"),
        ({"timestamp": 10, "input_length": 10}, "output_length: Field required"),
        ({**_request(10, 10, [1]), "hash_ids": [-3]}, "hash_ids.0"),
        ({**_request(10, 10, [1]), "timestamp": True}, "timestamp: Input should be a valid"),
        ({**_request(10, 10, [1]), "input_length": "10"}, "input_length: Input should be a"),
        ({**_request(10, 10, [1]), "hash_ids": ["1"]}, "hash_ids.0: Input should be a valid"),
    ],
)
def test_inconsistent_lines_are_refused_with_their_line(
    tmp_path: Path, second: dict[str, object], message: str
) -> None:
    path = _file(tmp_path, _request(8, 10, [1]), second)
    with pytest.raises(TraceError) as caught:
        read_mooncake(path)
    assert caught.value.line == 2
    assert message in caught.value.message


def test_an_empty_file_and_a_bad_block_size_are_refused(tmp_path: Path) -> None:
    (tmp_path / "m.jsonl").write_text("\n")
    with pytest.raises(TraceError, match="holds no requests"):
        read_mooncake(tmp_path / "m.jsonl")
    with pytest.raises(ValueError, match="block_size must be in 1..4096"):
        read_mooncake(SAMPLE, block_size=0)


def test_the_shipped_sample_reads() -> None:
    trace = read_mooncake(SAMPLE)
    assert len(trace.sessions) == 10
    assert trace.sessions[-1].arrival_s == 2.4
    assert (
        sum(len(s.turns[0].blocks) for s in trace.sessions) == 4 + 5 + 3 + 2 + 5 + 5 + 0 + 3 + 5 + 2
    )


def test_a_request_arriving_after_a_day_is_refused_with_its_line(tmp_path: Path) -> None:
    """A replay holds a box until its last arrival: the reader bounds the trace's span."""
    path = tmp_path / "late.jsonl"
    lines = [
        {"timestamp": 0, "input_length": 10, "output_length": 5, "hash_ids": []},
        {"timestamp": 86_400_001, "input_length": 10, "output_length": 5, "hash_ids": []},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(TraceError, match=r"late.jsonl:2: arrives 86,400 s after"):
        read_mooncake(path)
