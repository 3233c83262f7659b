"""Sample checks on ingest: what cannot have been measured is named; jitter is not."""

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena.common.metrics.sanity import (
    MAX_PROBLEMS,
    TIMES,
    SampleBounds,
    SampleColumns,
    batch_problems,
    columns_pass,
)
from arena.common.schemas.sample import RequestSample

VARIANTS = {"chat": {"v": 500}}
"""One benchmark with one variant whose requests ask for at most 500 output tokens."""
BOUNDS = SampleBounds(VARIANTS, runs=3, latest_s=100.0, max_tokens=1000, max_chunks=8)


def sample(**change: object) -> RequestSample:
    base = RequestSample(
        benchmark="chat",
        variant="v",
        run=0,
        index=0,
        scheduled_s=0.5,
        queued_s=0.5,
        sent_s=0.6,
        first_response_s=0.7,
        first_token_s=0.8,
        end_s=1.2,
        chunk_times_s=[0.8, 1.0, 1.2],
        completion_tokens=3,
        max_tokens=3,
    )
    return base.model_copy(update=change)


def test_the_clients_stamps_and_reasoning_within_bounds_pass() -> None:
    fine = [
        sample(index=1, written_s=0.6, read_stall_s=0.0),
        sample(index=2, written_s=1.2, read_stall_s=0.004, reasoning_tokens=3),
        sample(index=3, reasoning_tokens=5, counted_output_tokens=5),  # the client counted more
        sample(index=4, reasoning_tokens=500, completion_tokens=None),  # no count to bound it
    ]
    assert batch_problems([sample(), *fine], BOUNDS) == []
    assert columns_pass(SampleColumns.of([sample(), *fine]), BOUNDS)


def test_a_usage_past_max_tokens_is_kept_for_the_results_to_flag() -> None:
    over = [sample(index=1, completion_tokens=4), sample(index=2, completion_tokens=900)]
    assert batch_problems([sample(), *over], BOUNDS) == []
    assert columns_pass(SampleColumns.of([sample(), *over]), BOUNDS)


def test_a_sane_sample_and_clock_jitter_pass() -> None:
    jitter = sample(
        index=1, sent_s=0.495, chunk_times_s=[0.8, 0.799, 1.2]
    )  # an early wake-up, 5 ms
    assert batch_problems([sample(), jitter], BOUNDS) == []
    turn = sample(index=2, session="s3.1", turn=4, prompt_tokens=900, cached_tokens=900)
    assert batch_problems([sample(), turn], BOUNDS) == []
    assert columns_pass(SampleColumns.of([sample(), turn]), BOUNDS)


IMPOSSIBLE = [
    ({"chunk_times_s": [0.8, math.nan, 1.2]}, "chunk time is not a finite"),
    ({"chunk_times_s": [0.8, 1.1, 0.9]}, "chunk times are out of order"),
    ({"chunk_times_s": [0.8] * 9}, "9 chunks; at most 8"),
    ({"chunk_times_s": [0.1, 1.0]}, "outside sent_s..end_s"),
    ({"completion_tokens": 1001}, "completion_tokens 1001 is outside 0..1000"),
    ({"counted_output_tokens": -1}, "counted_output_tokens -1 is outside 0..1000"),
    ({"reasoning_tokens": 5000}, "reasoning_tokens 5000 is outside 0..1000"),
    ({"first_content_s": 0.75}, "first_content_s (0.750000) is before first_token_s"),
    ({"first_content_s": 1.5}, "end_s (1.200000) is before first_content_s"),
    ({"prompt_tokens": 5000}, "prompt_tokens 5000 is outside 0..1000"),
    ({"queued_s": 0.4}, "queued_s (0.400000) is before scheduled_s"),
    ({"scheduled_s": -5.0, "queued_s": -5.0}, "before the job's clock started"),
    ({"run": 3}, "run 3 / index 1 out of range"),
    ({"baseline_latency_s": -1.0}, "baseline_latency_s is -1.0"),
    ({"variant": "w"}, "variant 'w' is not in the job's benchmark 'chat'"),
    ({"completion_tokens": 600, "max_tokens": 600}, "max_tokens 600 is more than the 500"),
    ({"completion_tokens": 6, "max_tokens": 501}, "max_tokens 501 is more than the 500"),
    ({"index": 0}, "run 0 index 0 of v is sent twice"),
    ({"session": "s" * 201}, "session label of 201 characters"),
    ({"session": ""}, "session label of 0 characters"),
    ({"turn": -1}, "turn -1 is outside 0..100000"),
    ({"prompt_tokens": 10, "cached_tokens": -5}, "cached_tokens -5 is outside 0..10 (the prompt)"),
    ({"prompt_tokens": 10, "cached_tokens": 11}, "cached_tokens 11 is outside 0..10"),
    ({"cached_tokens": 1001}, "cached_tokens 1001 is outside 0..1000"),  # no prompt count
    ({"written_s": math.nan}, "written_s is nan"),
    ({"written_s": -math.inf}, "written_s is -inf"),
    ({"written_s": 0.5}, "written_s (0.500000) is outside sent_s..end_s"),
    ({"written_s": 1.3}, "written_s (1.300000) is outside sent_s..end_s"),
    ({"written_s": 101.0, "end_s": None, "chunk_times_s": []}, "outside sent_s..end_s"),
    ({"read_stall_s": math.nan}, "read_stall_s nan is outside 0..the job's running time"),
    ({"read_stall_s": math.inf}, "read_stall_s inf is outside"),
    ({"read_stall_s": -0.001}, "read_stall_s -0.001 is outside"),
    ({"read_stall_s": 100.5}, "read_stall_s 100.5 is outside"),
    ({"reasoning_tokens": 4}, "reasoning_tokens 4 is more than the output (3)"),
    (
        {"reasoning_tokens": 7, "counted_output_tokens": 6},
        "reasoning_tokens 7 is more than the output (6)",
    ),
]


@pytest.mark.parametrize(("change", "problem"), IMPOSSIBLE)
def test_impossible_samples_are_named(change: dict[str, object], problem: str) -> None:
    found = batch_problems([sample(), sample(**({"index": 1} | change))], BOUNDS)
    assert len(found) == 1 and found[0].startswith("sample 1 (chat #")
    assert problem in found[0]


def test_a_batch_of_bad_samples_names_the_first_few() -> None:
    found = batch_problems([sample(index=i, sent_s=math.nan) for i in range(9)], BOUNDS)
    assert len(found) == MAX_PROBLEMS + 1 and found[-1] == "and 4 more"


def test_the_column_check_passes_a_sane_batch_as_stored() -> None:
    batch = [sample(), sample(index=1, chunk_times_s=[]), sample(run=1)]
    columns = SampleColumns.of(batch)
    assert columns_pass(columns, BOUNDS)
    assert columns.records() == batch


@pytest.mark.parametrize("change", [change for change, _ in IMPOSSIBLE])
def test_the_column_check_never_passes_what_a_sample_check_refuses(
    change: dict[str, object],
) -> None:
    batch = [sample(), sample(**({"index": 1} | change))]
    assert not columns_pass(SampleColumns.of(batch), BOUNDS)


times = st.one_of(st.none(), st.floats(-0.1, 120.0), st.sampled_from([math.nan, math.inf]))
counts = st.one_of(st.none(), st.integers(-2, 1200))
wild = st.builds(
    RequestSample,
    benchmark=st.sampled_from(["chat", "rag"]),
    variant=st.sampled_from("vw"),
    run=st.integers(-1, 3),
    index=st.integers(-1, 5),
    scheduled_s=times,
    queued_s=times,
    sent_s=st.floats(-0.1, 120.0) | st.just(math.nan),
    first_response_s=times,
    first_token_s=times,
    first_content_s=times,
    end_s=times,
    prompt_tokens=counts,
    completion_tokens=counts,
    max_tokens=counts,
    baseline_latency_s=times,
    chunk_times_s=st.lists(st.floats(-0.1, 120.0) | st.just(math.nan), max_size=10),
    session=st.none() | st.text(max_size=3) | st.just("s" * 201),
    turn=st.none() | st.integers(-1, 3),
    cached_tokens=counts,
    counted_output_tokens=counts,
    reasoning_tokens=counts,
    written_s=times,
    read_stall_s=st.none() | st.floats(-0.1, 200.0) | st.sampled_from([math.nan, math.inf]),
)


@st.composite
def plausible(draw: st.DrawFn) -> RequestSample:
    """A sample that is nearly right: ordered times, some absent, now and then one nudged."""
    size = len(TIMES)
    ordered = sorted(draw(st.lists(st.floats(0.0, 100.0), min_size=size, max_size=size)))
    if draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, size - 1))
        ordered[at] += draw(st.sampled_from([-0.02, -0.005, 0.005, 0.02]))
    kept = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    values: list[Any] = [
        t if keep or name == "sent_s" else None
        for name, t, keep in zip(TIMES, ordered, kept, strict=True)
    ]
    sent, end = ordered[TIMES.index("sent_s")], ordered[TIMES.index("end_s")]
    chunks = sorted(draw(st.lists(st.floats(sent - 0.02, end + 0.02), max_size=9)))
    tokens = draw(st.integers(0, 1001))
    return RequestSample(
        benchmark="chat",
        variant="v",
        run=draw(st.integers(0, 2)),
        index=draw(st.integers(0, 9)),
        **dict(zip(TIMES, values, strict=True)),
        chunk_times_s=chunks,
        completion_tokens=tokens,
        max_tokens=draw(st.sampled_from([None, tokens, 500, 1000])),
        counted_output_tokens=draw(st.sampled_from([None, tokens, -1, 1001])),
    )


batches = st.lists(plausible() | wild, min_size=1, max_size=6)


@settings(max_examples=400, deadline=None)
@given(batches, st.floats(0.0, 150.0) | st.none())
def test_the_column_check_is_never_more_lenient(
    batch: list[RequestSample], latest: float | None
) -> None:
    """Whatever the columns pass, every sample passes: the quick check only ever sends a batch
    on to the sample-by-sample one, never lets through what that one would refuse."""
    bounds = SampleBounds(VARIANTS, runs=3, latest_s=latest, max_tokens=1000, max_chunks=8)
    if columns_pass(SampleColumns.of(batch), bounds):
        assert batch_problems(batch, bounds) == []
