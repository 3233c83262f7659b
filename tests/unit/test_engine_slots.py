"""The slot rule (``metrics.engine_slots``): a benchmark that sends more requests at once than
the engine's slots, or longer requests than a slot's context, is warned about; one that fits,
or an engine that said nothing, is not."""

import math

import pytest

from arena.common.metrics.engine_slots import (
    MAX_FLAG_CHARS,
    EngineSlots,
    carried_slot_flags,
    put_slots,
    recorded_slots,
    slot_flags,
    slots_of,
)
from arena.common.schemas.suite import (
    ClosedLoopBenchmark,
    OpenLoopBenchmark,
    SessionBenchmark,
    TraceSource,
)

TWO = EngineSlots(slots=2, slot_context=1024)


def closed(**fields: object) -> ClosedLoopBenchmark:
    return ClosedLoopBenchmark.model_validate({"id": "c", "pp": [16], "tg": [8], **fields})


def open_loop(**fields: object) -> OpenLoopBenchmark:
    base = {"id": "o", "input_len": 100, "output_len": 100, "num_prompts": 4}
    return OpenLoopBenchmark.model_validate({**base, "request_rate": [1.0], **fields})


def test_concurrency_above_the_slots_queues_in_the_engine() -> None:
    [flag] = slot_flags(closed(concurrency=[1, 4, 2]), TWO)
    assert flag == (
        "warning: engine serves 2 requests at once (llama.cpp slots) but concurrency 4: "
        "the rest queue inside the engine"
    )
    assert slot_flags(closed(concurrency=[1, 2]), TWO) == []  # slots = concurrency fits


def test_requests_longer_than_a_slot_fail() -> None:
    # the longest request: the largest pp, depth and tg together
    assert slot_flags(closed(pp=[16, 1000], depth=[0, 16], tg=[8]), TWO) == []  # 1024 fits
    [flag] = slot_flags(closed(pp=[16, 1000], depth=[0, 16], tg=[8, 9]), TWO)
    assert flag == (
        "warning: requests of up to 1025 tokens (prompt, context and answer): requests longer "
        "than the engine's 1024-token slot context fail"
    )
    both = slot_flags(closed(pp=[2000], concurrency=[3]), TWO)
    assert [flag.split(":")[1].split()[0] for flag in both] == ["engine", "requests"]


def test_open_loop_bounds() -> None:
    assert slot_flags(open_loop(), TWO) == []  # no max_concurrency: the arrivals decide
    [queue] = slot_flags(open_loop(max_concurrency=3), TWO)
    assert "concurrency 3" in queue
    # the random range's top: ceil(600 · 1.5) + 10 + ceil(100 · 1.5) = 900 + 10 + 150
    [long] = slot_flags(open_loop(input_len=600, range_ratio=0.5, prefix_len=10), TWO)
    assert "up to 1060 tokens" in long
    assert slot_flags(open_loop(input_len=600, range_ratio=0.2), TWO) == []  # 720 + 120
    [sharegpt] = slot_flags(open_loop(dataset="sharegpt", input_len=None, output_len=None), TWO)
    assert "up to 2048 tokens" in sharegpt  # vLLM's ShareGPT filter keeps at most 2048
    fixed = open_loop(dataset="sharegpt", input_len=None, output_len=8)
    assert slot_flags(fixed, EngineSlots(2, 1032)) == []  # prompts ≤ 1024, answers 8


def test_no_slots_no_flags() -> None:
    assert slot_flags(closed(concurrency=[64], pp=[10**6]), None) == []
    session = SessionBenchmark(id="s", trace=TraceSource(profile="chat"), users=[64])
    assert slot_flags(session, EngineSlots(1, 1)) == []  # load varies by design: not judged


def test_the_record_round_trips_and_rejects_odd_values() -> None:
    provenance: dict[str, object] = {}
    put_slots(provenance, TWO)
    assert provenance == {"engine_slots": {"slots": 2, "slot_context": 1024}}
    assert recorded_slots(provenance) == TWO
    assert recorded_slots({}) is None and recorded_slots({"engine_slots": [2, 1024]}) is None


@pytest.mark.parametrize(
    ("slots", "context"),
    [
        (0, 1024),
        (-1, 1024),
        (2, 0),
        (True, 1024),
        (2, 1024.0),
        ("2", 1024),
        (2, None),
        (2**40, 1024),
        (2, 2**40),
        (2, math.inf),
    ],
)
def test_odd_answers_are_no_slots(slots: object, context: object) -> None:
    assert slots_of(slots, context) is None


def test_an_import_keeps_only_the_slot_warnings_of_an_export() -> None:
    made = slot_flags(closed(pp=[2000], concurrency=[3]), TWO)
    exported = ["invalid: 3 of 4 requests failed", *made, made[0], "x" * 400, 7]
    assert carried_slot_flags(exported) == made
    assert carried_slot_flags("not a list") == []
    too_long = made[0] + " " * MAX_FLAG_CHARS
    assert carried_slot_flags([too_long]) == []
