"""Checks on a batch of samples before it is stored: a sample that breaks one of them cannot
have been measured (times out of order or not numbers, tokens past what was asked), and one
stored would bend every aggregate computed from it.

Times are on the job's clock (seconds from ``JobClock.origin``, the agent's monotonic clock), so
agent and controller wall clocks never meet here: the window is the job's own time since it
started running, widened by ``tolerance_s`` for the delay of the RUNNING report.
One pass per sample, no allocation beyond the problem list; the caller rejects the whole batch.

Ingest holds a batch as columns (``SampleColumns``) and first runs ``columns_pass``: the same
checks on whole columns at once with numpy, never more lenient than the per-sample ones. Only a
batch it does not pass goes through ``batch_problems``, which names the samples at fault (or
finds none: the quick check is stricter at the edges, e.g. it orders every time against the
latest before it, not only against its neighbour).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from arena.common.schemas.packed import FLOAT64, pack_floats, unpack_floats
from arena.common.schemas.sample import RequestSample

EPSILON_S = 0.01
"""Slack between two times that must be ordered: event loops can wake a hair early."""
MAX_PROBLEMS = 5
"""Problems named in one refusal; the count says how many more there were."""


@dataclass(frozen=True)
class SampleBounds:
    benchmarks: frozenset[str]
    """Benchmark ids of the job."""
    runs: int
    latest_s: float | None
    """Latest time a sample may carry (job time elapsed plus tolerance); None: not running yet."""
    max_tokens: int
    max_chunks: int
    earliest_s: float = -EPSILON_S


TIMES = ("scheduled_s", "queued_s", "sent_s", "first_response_s", "first_token_s", "end_s")
"""A sample's times in the order they must come."""
TOKENS = ("prompt_tokens", "completion_tokens", "max_tokens")


@dataclass(frozen=True)
class SampleColumns:
    """A batch of samples field by field: ``values`` holds every ``RequestSample`` field but the
    chunk times, one list each (``None`` where a sample has none); ``chunks`` the chunk times
    packed (``schemas.packed``), as they are stored."""

    values: dict[str, list[Any]]
    chunks: list[bytes]

    def __post_init__(self) -> None:
        for position, chunks in enumerate(self.chunks):
            if len(chunks) % FLOAT64.itemsize:
                raise ValueError(f"sample {position}: {len(chunks)} bytes of chunk times are "
                                 "not whole float64 values")  # fmt: skip

    @classmethod
    def of(cls, samples: Sequence[RequestSample]) -> "SampleColumns":
        names = [name for name in RequestSample.model_fields if name != "chunk_times_s"]
        return cls(
            {name: [getattr(sample, name) for sample in samples] for name in names},
            [pack_floats(sample.chunk_times_s) for sample in samples],
        )

    def __len__(self) -> int:
        return len(self.chunks)

    def records(self) -> list[RequestSample]:
        """The samples as records, unvalidated: for ``batch_problems`` when the quick check
        fails."""
        names = list(self.values)
        return [
            RequestSample.model_construct(
                **dict(zip(names, row, strict=True)), chunk_times_s=unpack_floats(chunks)
            )
            for *row, chunks in zip(*self.values.values(), self.chunks, strict=True)
        ]


def columns_pass(columns: SampleColumns, bounds: SampleBounds) -> bool:
    """Whether every sample passes ``batch_problems`` for sure; False when one may not."""
    values = columns.values
    if not set(values["benchmark"]) <= bounds.benchmarks:
        return False
    runs, indexes = np.array(values["run"]), np.array(values["index"])
    if runs.min() < 0 or runs.max() >= bounds.runs or indexes.min() < 0:
        return False
    times = np.array([values[name] for name in TIMES], dtype=float)  # absent: NaN
    absent = sum(values[name].count(None) for name in TIMES)
    if np.isnan(times).sum() != absent or np.isinf(times).any():
        return False  # a NaN or an infinity that was sent
    latest_before = np.fmax.accumulate(times, axis=0)  # over the times that are there
    if (times[1:] < latest_before[:-1] - EPSILON_S).any():
        return False
    if np.nanmin(times) < bounds.earliest_s:
        return False
    if bounds.latest_s is not None and np.nanmax(times) > bounds.latest_s:
        return False
    return _chunks_pass(columns, times[2], times[5], bounds) and _tokens_pass(values, bounds)


def _chunks_pass(
    columns: SampleColumns, sent: np.ndarray, end: np.ndarray, bounds: SampleBounds
) -> bool:
    counts = np.fromiter(map(len, columns.chunks), dtype=np.int64) // FLOAT64.itemsize
    if counts.max() > bounds.max_chunks:
        return False
    if not counts.any():
        return True
    chunks = np.frombuffer(b"".join(columns.chunks), dtype=FLOAT64)
    if not math.isfinite(chunks.sum()):  # a NaN or an infinity makes the sum one
        return False
    starts = np.cumsum(counts) - counts
    some = counts > 0
    steps = np.diff(chunks)
    steps[starts[some & (starts > 0)] - 1] = 0.0  # from one sample's last chunk to the next's
    if len(steps) and steps.min() < -EPSILON_S:
        return False
    firsts, lasts = chunks[starts[some]], chunks[(starts + counts - 1)[some]]
    ends = np.where(np.isnan(end[some]), np.inf, end[some])
    return bool((firsts >= sent[some] - EPSILON_S).all() and (lasts <= ends + EPSILON_S).all())


def _tokens_pass(values: dict[str, list[Any]], bounds: SampleBounds) -> bool:
    baseline = values["baseline_latency_s"]
    if baseline.count(None) != len(baseline):
        present = np.array([b for b in baseline if b is not None], dtype=float)
        if not (np.isfinite(present).all() and (present >= 0).all()):
            return False
    counts = {name: np.array(values[name], dtype=float) for name in TOKENS}  # absent: NaN
    for count in counts.values():
        if (count < 0).any() or (count > bounds.max_tokens).any():
            return False
    return not (counts["completion_tokens"] > counts["max_tokens"]).any()


def batch_problems(samples: Sequence[RequestSample], bounds: SampleBounds) -> list[str]:
    """What is wrong with the batch, one line per sample at fault; empty when it may be stored."""
    problems = []
    for position, sample in enumerate(samples):
        problem = _sample_problem(sample, bounds)
        if problem is not None:
            problems.append(f"sample {position} ({sample.benchmark} #{sample.index}): {problem}")
    if len(problems) > MAX_PROBLEMS:
        problems = [*problems[:MAX_PROBLEMS], f"and {len(problems) - MAX_PROBLEMS} more"]
    return problems


def _sample_problem(sample: RequestSample, bounds: SampleBounds) -> str | None:
    if sample.benchmark not in bounds.benchmarks:
        return f"benchmark {sample.benchmark!r} is not in the job"
    if not 0 <= sample.run < bounds.runs or sample.index < 0:
        return f"run {sample.run} / index {sample.index} out of range"
    ordered = [
        (name, value)
        for name, value in (
            ("scheduled_s", sample.scheduled_s),
            ("queued_s", sample.queued_s),
            ("sent_s", sample.sent_s),
            ("first_response_s", sample.first_response_s),
            ("first_token_s", sample.first_token_s),
            ("end_s", sample.end_s),
        )
        if value is not None
    ]
    for name, value in ordered:
        if not math.isfinite(value):
            return f"{name} is {value}"
    for (before, early), (after, late) in zip(ordered, ordered[1:], strict=False):
        if late < early - EPSILON_S:
            return f"{after} ({late:.6f}) is before {before} ({early:.6f})"
    first, last = ordered[0][1], ordered[-1][1]
    if first < bounds.earliest_s:
        return f"{ordered[0][0]} ({first:.3f}) is before the job's clock started"
    if bounds.latest_s is not None and last > bounds.latest_s:
        return f"{ordered[-1][0]} ({last:.3f}s) is past the job's running time"
    return _chunk_problem(sample, bounds) or _token_problem(sample, bounds)


def _chunk_problem(sample: RequestSample, bounds: SampleBounds) -> str | None:
    chunks = sample.chunk_times_s
    if not chunks:
        return None
    if len(chunks) > bounds.max_chunks:
        return f"{len(chunks)} chunks; at most {bounds.max_chunks}"
    if not math.isfinite(sum(chunks)):  # one C loop: a NaN or an infinity makes the sum one
        return "a chunk time is not a finite number"
    if (
        chunks != sorted(chunks)
        and any(  # sorted() is linear on sorted input
            later < earlier - EPSILON_S for earlier, later in zip(chunks, chunks[1:], strict=False)
        )
    ):
        return "chunk times are out of order"
    end = sample.end_s if sample.end_s is not None else math.inf
    if chunks[0] < sample.sent_s - EPSILON_S or chunks[-1] > end + EPSILON_S:
        return "chunk times fall outside sent_s..end_s"
    return None


def _token_problem(sample: RequestSample, bounds: SampleBounds) -> str | None:
    if sample.baseline_latency_s is not None and not (
        math.isfinite(sample.baseline_latency_s) and sample.baseline_latency_s >= 0
    ):
        return f"baseline_latency_s is {sample.baseline_latency_s}"
    for name, count in (
        ("prompt_tokens", sample.prompt_tokens),
        ("completion_tokens", sample.completion_tokens),
        ("max_tokens", sample.max_tokens),
    ):
        if count is not None and not 0 <= count <= bounds.max_tokens:
            return f"{name} {count} is outside 0..{bounds.max_tokens}"
    if (
        sample.completion_tokens is not None
        and sample.max_tokens is not None
        and sample.completion_tokens > sample.max_tokens
    ):
        return f"completion_tokens {sample.completion_tokens} > max_tokens {sample.max_tokens}"
    return None
