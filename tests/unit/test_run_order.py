"""The (variant, run) order (``suites.run_order``): sequential as the reference tools,
shuffled from the suite's seed, the suite's default applied where a benchmark sets none."""

import pytest
from pydantic import ValidationError

from arena.common.schemas.suite import ClosedLoopBenchmark, OpenLoopBenchmark
from arena.common.suites.loader import load_suite_text
from arena.common.suites.run_order import order_record, run_pairs

KEYS = ["c1", "c5", "c10"]


def test_sequential_is_variant_by_variant() -> None:
    assert run_pairs(KEYS, 2, "sequential", 42, "b") == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
        (2, 0),
        (2, 1),
    ]


def test_shuffled_is_every_pair_once_in_a_seeded_order() -> None:
    shuffled = run_pairs(KEYS, 3, "shuffled", 42, "b")
    assert sorted(shuffled) == run_pairs(KEYS, 3, "sequential", 42, "b")
    assert shuffled != sorted(shuffled)
    assert shuffled == run_pairs(KEYS, 3, "shuffled", 42, "b")  # the same suite, the same order
    assert shuffled != run_pairs(KEYS, 3, "shuffled", 43, "b")
    assert shuffled != run_pairs(KEYS, 3, "shuffled", 42, "other")


def test_the_record_names_variant_and_run() -> None:
    record = order_record(["pp64/tg8/d0/c1"], 2, "sequential", 1, "b")
    assert record == {"order": "sequential", "runs": ["pp64/tg8/d0/c1#0", "pp64/tg8/d0/c1#1"]}


def test_a_reference_tool_cannot_shuffle() -> None:
    with pytest.raises(ValidationError, match="shuffled needs the built-in generator"):
        ClosedLoopBenchmark(id="x", pp=[1], tg=[1], tool="llama-benchy", run_order="shuffled")
    with pytest.raises(ValidationError, match="run_order"):
        OpenLoopBenchmark(
            id="x", input_len=1, output_len=1, num_prompts=1, request_rate=[1], run_order="random"
        )


SUITE = """
name: ordered
run_order: shuffled
models: [{name: tiny, engine: sim}]
engines: {sim: {runtime: simulated}}
benchmarks:
  - {kind: closed_loop, id: own-default, pp: [8], tg: [8]}
  - {kind: closed_loop, id: kept, pp: [8], tg: [8], run_order: sequential}
  - {kind: closed_loop, id: tool, pp: [8], tg: [8], tool: llama-benchy}
"""


def test_the_suite_default_fills_benchmarks_that_set_none() -> None:
    resolved = load_suite_text(SUITE)
    orders = {bench.id: getattr(bench, "run_order", None) for bench in resolved.benchmarks}
    assert orders == {"own-default": "shuffled", "kept": "sequential", "tool": "sequential"}
