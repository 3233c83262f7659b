"""Sample checks on ingest: what cannot have been measured is named; jitter is not."""

import math

import pytest

from arena.common.metrics.sanity import MAX_PROBLEMS, SampleBounds, batch_problems
from arena.common.schemas.sample import RequestSample

BOUNDS = SampleBounds(frozenset({"chat"}), runs=3, latest_s=100.0, max_tokens=1000, max_chunks=8)


def sample(**change: object) -> RequestSample:
    base = RequestSample(benchmark="chat", variant="v", run=0, index=0, scheduled_s=0.5,
                         queued_s=0.5, sent_s=0.6, first_response_s=0.7, first_token_s=0.8,
                         end_s=1.2, chunk_times_s=[0.8, 1.0, 1.2], completion_tokens=3,
                         max_tokens=3)  # fmt: skip
    return base.model_copy(update=change)


def test_a_sane_sample_and_clock_jitter_pass() -> None:
    jitter = sample(sent_s=0.495, chunk_times_s=[0.8, 0.799, 1.2])  # an early wake-up, 5 ms
    assert batch_problems([sample(), jitter], BOUNDS) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"chunk_times_s": [0.8, math.nan, 1.2]}, "chunk time is not a finite"),
        ({"chunk_times_s": [0.8, 1.1, 0.9]}, "chunk times are out of order"),
        ({"chunk_times_s": [0.8] * 9}, "9 chunks; at most 8"),
        ({"chunk_times_s": [0.1, 1.0]}, "outside sent_s..end_s"),
        ({"completion_tokens": 4}, "completion_tokens 4 > max_tokens 3"),
        ({"prompt_tokens": 5000}, "prompt_tokens 5000 is outside 0..1000"),
        ({"queued_s": 0.4}, "queued_s (0.400000) is before scheduled_s"),
        ({"scheduled_s": -5.0, "queued_s": -5.0}, "before the job's clock started"),
        ({"run": 3}, "run 3 / index 0 out of range"),
        ({"baseline_latency_s": -1.0}, "baseline_latency_s is -1.0"),
    ],
)
def test_impossible_samples_are_named(change: dict[str, object], problem: str) -> None:
    found = batch_problems([sample(), sample(**change)], BOUNDS)
    assert len(found) == 1 and found[0].startswith("sample 1 (chat #0): ")
    assert problem in found[0]


def test_a_batch_of_bad_samples_names_the_first_few() -> None:
    found = batch_problems([sample(sent_s=math.nan)] * 9, BOUNDS)
    assert len(found) == MAX_PROBLEMS + 1 and found[-1] == "and 4 more"
