"""Checks on a batch of samples before it is stored: a sample that breaks one of them cannot
have been measured (times out of order or not numbers, tokens past what was asked), and one
stored would bend every aggregate computed from it.

Times are on the job's clock (seconds from ``JobClock.origin``, the agent's monotonic clock), so
agent and controller wall clocks never meet here: the window is the job's own time since it
started running (since it was leased, before the RUNNING report), widened by a tolerance.
A sample is checked against the job's spec, never against itself: its benchmark and variant
must be the job's, its ``max_tokens`` within what that variant asks for, and its (benchmark,
variant, run, index) must be new in the batch (the database's unique index covers earlier
batches). An engine's ``usage`` above the ``max_tokens`` asked for is what the engine said, not
an impossible measurement: such a sample is stored and the results flag it
(``metrics.tokens.usage_over_max``); every token count must still be within the controller's
bound, and reasoning tokens within the output they are part of. The client's own stamps are
checked too: ``written_s`` within sent..end, ``read_stall_s`` finite, ≥ 0 and no longer than
the job has run.
One pass per sample, no allocation beyond the problem list; the caller rejects the whole batch.

Ingest holds a batch as columns (``SampleColumns``) and first runs ``columns_pass``: the same
checks on whole columns at once with numpy, never more lenient than the per-sample ones. Only a
batch it does not pass goes through ``batch_problems``, which names the samples at fault (or
finds none: the quick check is stricter at the edges, e.g. it orders every time against the
latest before it, not only against its neighbour).
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from arena.common.schemas.packed import FLOAT64, FLOAT64_BYTES, pack_floats, unpack_floats
from arena.common.schemas.sample import RequestSample

EPSILON_S = 0.01
"""Slack between two times that must be ordered: event loops can wake a hair early."""
MAX_PROBLEMS = 5
"""Problems named in one refusal; the count says how many more there were."""


@dataclass(frozen=True)
class SampleBounds:
    variants: Mapping[str, Mapping[str, int]]
    """The job's benchmark ids, each with its variant keys and the most output tokens a request
    of the variant asks for (``suites.variants.output_ceilings``)."""
    runs: int
    latest_s: float | None
    """Latest time a sample may carry (job time elapsed plus tolerance); None: never leased."""
    max_tokens: int
    max_chunks: int
    earliest_s: float = -EPSILON_S


TIMES = (
    "scheduled_s",
    "queued_s",
    "sent_s",
    "first_response_s",
    "first_token_s",
    "first_content_s",
    "end_s",
)
"""A sample's times in the order they must come."""
SENT, END = TIMES.index("sent_s"), TIMES.index("end_s")
TOKENS = (
    "prompt_tokens",
    "completion_tokens",
    "max_tokens",
    "counted_output_tokens",
    "reasoning_tokens",
)
"""Token counts, each within 0..the controller's bound."""
MAX_SESSION_CHARS = 200
"""A session label: a trace's session id (64 characters at most) and a few sub-agent levels."""
MAX_TURN = 100_000
"""More turns than any trace may hold (``traces.format.MAX_TURNS``), sub-agents' included."""
REQUEST = ("benchmark", "variant", "run", "index")
"""What names one request of a job attempt: stored once."""


@dataclass(frozen=True)
class SampleColumns:
    """A batch of samples field by field: ``values`` holds every ``RequestSample`` field but the
    chunk times, one list each (``None`` where a sample has none); ``chunks`` the chunk times
    packed (``schemas.packed``), as they are stored."""

    values: dict[str, list[Any]]
    chunks: list[bytes]

    def __post_init__(self) -> None:
        for position, chunks in enumerate(self.chunks):
            if len(chunks) % FLOAT64_BYTES:
                raise ValueError(
                    f"sample {position}: {len(chunks)} bytes of chunk times are "
                    "not whole float64 values"
                )

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
    ceilings: dict[tuple[str, str], int] = {}
    for benchmark, variant in set(zip(values["benchmark"], values["variant"], strict=True)):
        ceiling = bounds.variants.get(benchmark, {}).get(variant)
        if ceiling is None:
            return False  # a variant the job does not run
        ceilings[benchmark, variant] = ceiling
    runs, indexes = np.array(values["run"]), np.array(values["index"])
    if runs.min() < 0 or runs.max() >= bounds.runs or indexes.min() < 0:
        return False
    if len(set(zip(*(values[name] for name in REQUEST), strict=True))) != len(columns):
        return False  # one request sent twice
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
    return (
        _chunks_pass(columns, times[SENT], times[END], bounds)
        and _stamps_pass(values, times[SENT], times[END], bounds)
        and _tokens_pass(values, bounds, _per_sample(values, ceilings))
    )


def _per_sample(values: dict[str, list[Any]], ceilings: dict[tuple[str, str], int]) -> np.ndarray:
    """Each sample's output-token ceiling: its variant's."""
    if len(ceilings) == 1:
        return np.full(len(values["run"]), next(iter(ceilings.values())), dtype=float)
    benchmarks, variants = np.array(values["benchmark"]), np.array(values["variant"])
    per_sample = np.empty(len(benchmarks), dtype=float)
    for (benchmark, variant), ceiling in ceilings.items():
        per_sample[(benchmarks == benchmark) & (variants == variant)] = ceiling
    return per_sample


def _chunks_pass(
    columns: SampleColumns, sent: np.ndarray, end: np.ndarray, bounds: SampleBounds
) -> bool:
    counts = np.fromiter(map(len, columns.chunks), dtype=np.int64) // FLOAT64_BYTES
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


def _stamps_pass(
    values: dict[str, list[Any]], sent: np.ndarray, end: np.ndarray, bounds: SampleBounds
) -> bool:
    """``_stamp_problem`` on whole columns (absent fields pass)."""
    written = np.array(values["written_s"], dtype=float)  # absent: NaN
    if np.isinf(written).any() or np.isnan(written).sum() != values["written_s"].count(None):
        return False
    ends = np.where(np.isnan(end), bounds.latest_s if bounds.latest_s is not None else np.inf, end)
    if ((written < sent - EPSILON_S) | (written > ends + EPSILON_S)).any():
        return False  # NaN (absent) compares False: passes
    stall = np.array(values["read_stall_s"], dtype=float)
    if np.isinf(stall).any() or np.isnan(stall).sum() != values["read_stall_s"].count(None):
        return False
    return not ((stall < 0) | (stall > _longest_stall_s(bounds))).any()


def _longest_stall_s(bounds: SampleBounds) -> float:
    """The longest stall a sample may report: the job's running time (unknown: no bound)."""
    return bounds.latest_s - bounds.earliest_s if bounds.latest_s is not None else math.inf


def _sessions_pass(values: dict[str, list[Any]], bounds: SampleBounds) -> bool:
    """``_session_problem`` on whole columns (absent fields pass)."""
    if any(s is not None and not 0 < len(s) <= MAX_SESSION_CHARS for s in values["session"]):
        return False
    if any(t is not None and not 0 <= t <= MAX_TURN for t in values["turn"]):
        return False
    return all(
        cached is None or 0 <= cached <= (prompt if prompt is not None else bounds.max_tokens)
        for cached, prompt in zip(values["cached_tokens"], values["prompt_tokens"], strict=True)
    )


def _tokens_pass(values: dict[str, list[Any]], bounds: SampleBounds, ceiling: np.ndarray) -> bool:
    if not _sessions_pass(values, bounds):
        return False
    baseline = values["baseline_latency_s"]
    if baseline.count(None) != len(baseline):
        present = np.array([b for b in baseline if b is not None], dtype=float)
        if not (np.isfinite(present).all() and (present >= 0).all()):
            return False
    counts = {name: np.array(values[name], dtype=float) for name in TOKENS}  # absent: NaN
    for count in counts.values():
        if (count < 0).any() or (count > bounds.max_tokens).any():
            return False
    output = np.fmax(counts["completion_tokens"], counts["counted_output_tokens"])
    if (counts["reasoning_tokens"] > output).any():  # NaN (either absent) compares False
        return False
    return not (counts["max_tokens"] > ceiling).any()


def batch_problems(samples: Sequence[RequestSample], bounds: SampleBounds) -> list[str]:
    """What is wrong with the batch, one line per sample at fault; empty when it may be stored."""
    problems = []
    seen: set[tuple[str, str, int, int]] = set()
    for position, sample in enumerate(samples):
        request = (sample.benchmark, sample.variant, sample.run, sample.index)
        problem = _sample_problem(sample, bounds)
        if problem is None and request in seen:
            problem = f"run {sample.run} index {sample.index} of {sample.variant} is sent twice"
        seen.add(request)
        if problem is not None:
            problems.append(f"sample {position} ({sample.benchmark} #{sample.index}): {problem}")
    return capped(problems)


def capped(problems: list[str]) -> list[str]:
    """The first ``MAX_PROBLEMS`` problems, and how many more there were."""
    if len(problems) > MAX_PROBLEMS:
        return [*problems[:MAX_PROBLEMS], f"and {len(problems) - MAX_PROBLEMS} more"]
    return problems


def _sample_problem(sample: RequestSample, bounds: SampleBounds) -> str | None:
    if sample.benchmark not in bounds.variants:
        return f"benchmark {sample.benchmark!r} is not in the job"
    ceiling = bounds.variants[sample.benchmark].get(sample.variant)
    if ceiling is None:
        return f"variant {sample.variant!r} is not in the job's benchmark {sample.benchmark!r}"
    if not 0 <= sample.run < bounds.runs or sample.index < 0:
        return f"run {sample.run} / index {sample.index} out of range"
    ordered = [(name, value) for name in TIMES if (value := getattr(sample, name)) is not None]
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
    return (
        _chunk_problem(sample, bounds)
        or _stamp_problem(sample, bounds)
        or _token_problem(sample, bounds, ceiling)
    )


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


def _stamp_problem(sample: RequestSample, bounds: SampleBounds) -> str | None:
    """The client's own stamps: ``written_s`` (the write's return) inside the request's
    sent..end window, ``read_stall_s`` a stall no longer than the job has run; either, out of
    bounds, would move send lag or the client verdict."""
    written = sample.written_s
    if written is not None:
        end = sample.end_s if sample.end_s is not None else bounds.latest_s
        if not math.isfinite(written):
            return f"written_s is {written}"
        if written < sample.sent_s - EPSILON_S or (end is not None and written > end + EPSILON_S):
            return f"written_s ({written:.6f}) is outside sent_s..end_s"
    stall = sample.read_stall_s
    if stall is not None and not (math.isfinite(stall) and 0 <= stall <= _longest_stall_s(bounds)):
        return f"read_stall_s {stall} is outside 0..the job's running time"
    return None


def _session_problem(sample: RequestSample, bounds: SampleBounds) -> str | None:
    """A session label of bounded length and a turn in range; cached tokens (any benchmark)
    within the prompt (or the token bound, when the prompt was not counted), so a hit rate is a
    share and a warm cache cannot be hidden by a negative count."""
    if sample.session is not None and not 0 < len(sample.session) <= MAX_SESSION_CHARS:
        return f"session label of {len(sample.session)} characters (1..{MAX_SESSION_CHARS})"
    if sample.turn is not None and not 0 <= sample.turn <= MAX_TURN:
        return f"turn {sample.turn} is outside 0..{MAX_TURN}"
    prompt = sample.prompt_tokens if sample.prompt_tokens is not None else bounds.max_tokens
    if sample.cached_tokens is not None and not 0 <= sample.cached_tokens <= prompt:
        return f"cached_tokens {sample.cached_tokens} is outside 0..{prompt} (the prompt)"
    return None


def _token_problem(sample: RequestSample, bounds: SampleBounds, ceiling: int) -> str | None:
    if (problem := _session_problem(sample, bounds)) is not None:
        return problem
    if sample.baseline_latency_s is not None and not (
        math.isfinite(sample.baseline_latency_s) and sample.baseline_latency_s >= 0
    ):
        return f"baseline_latency_s is {sample.baseline_latency_s}"
    for name in TOKENS:
        count = getattr(sample, name)
        if count is not None and not 0 <= count <= bounds.max_tokens:
            return f"{name} {count} is outside 0..{bounds.max_tokens}"
    if sample.max_tokens is not None and sample.max_tokens > ceiling:
        return f"max_tokens {sample.max_tokens} is more than the {ceiling} its variant asks for"
    return _reasoning_problem(sample)


def _reasoning_problem(sample: RequestSample) -> str | None:
    """Reasoning tokens are part of the output: never more than the engine's or the client's
    count of it, whichever is known (and larger)."""
    known = [n for n in (sample.completion_tokens, sample.counted_output_tokens) if n is not None]
    if sample.reasoning_tokens is not None and known and sample.reasoning_tokens > max(known):
        return f"reasoning_tokens {sample.reasoning_tokens} is more than the output ({max(known)})"
    return None
