"""Checks on a batch of samples before it is stored: a sample that breaks one of them cannot
have been measured (times out of order or not numbers, tokens past what was asked), and one
stored would bend every aggregate computed from it.

Times are on the job's clock (seconds from ``JobClock.origin``, the agent's monotonic clock), so
agent and controller wall clocks never meet here: the window is the job's own time since it
started running, widened by ``tolerance_s`` for the delay of the RUNNING report.
One pass per sample, no allocation beyond the problem list; the caller rejects the whole batch.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

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
