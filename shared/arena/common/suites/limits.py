"""Bounds a suite must stay within before it is accepted: a suite is cheap to write and can
expand into more work, or longer requests, than any fleet should be handed.

The controller applies its configured bounds at submit (``ControllerSettings.limits``); they
are the controller's, so ``arenactl validate`` does not guess them. Samples are checked against
the same token bounds on ingest (``arena.common.metrics.sanity``).
"""

from collections.abc import Iterator

from pydantic import BaseModel, Field

from arena.common.errors import SuiteProblem
from arena.common.schemas.suite import (
    Benchmark,
    ClosedLoopBenchmark,
    ResolvedSuite,
    SessionBenchmark,
)
from arena.common.suites.validation import ProblemAt
from arena.common.suites.variants import (
    expected_requests,
    session_output_ceiling,
    session_variants,
)
from arena.common.traces.params import resolve_params


class SuiteLimits(BaseModel):
    max_jobs: int = Field(256, ge=1)
    """Jobs one suite expands into (targets × models)."""
    max_requests_per_job: int = Field(1_000_000, ge=1)
    """Measured requests of one job over all benchmarks and runs."""
    max_concurrency: int = Field(4096, ge=1)
    """Requests in flight at once (closed-loop ``concurrency``, open-loop ``max_concurrency``)."""
    max_tokens: int = Field(1_048_576, ge=1)
    """Tokens of one request, prompt plus context plus output."""
    max_chunks_per_sample: int = Field(1_048_576, ge=1)
    """Streamed chunks one sample may list (one per generated token at most, in practice)."""
    max_spec_bytes: int = Field(16 * 1024 * 1024, ge=1)
    """Bytes of the job specs a suite expands into, all jobs together (what the store keeps)."""
    max_load_s: float = Field(6 * 3600, gt=0)
    """Load time of one run of a session benchmark: ``step_s`` × its steps (a search's
    ``max_steps``). Sessions started in a step run to their end after it, so this bounds
    when the last session starts, not when the job ends."""
    max_session_rate: float = Field(100.0, gt=0)
    """Sessions started per second (``session_rate``, a rate search's ``max``)."""


def suite_problems(
    resolved: ResolvedSuite, limits: SuiteLimits, problem_at: ProblemAt
) -> list[SuiteProblem]:
    """Every bound the suite breaks, each on the line of the value that breaks it (built-in
    benchmarks have no line in the file: their problems name the benchmark)."""
    spec = resolved.spec
    own = {bench.id: index for index, bench in enumerate(spec.benchmarks)}
    problems = []
    jobs = len(spec.targets) * len(spec.models)
    if jobs > limits.max_jobs:
        problems.append(
            problem_at(
                ("targets",),
                f"{len(spec.targets)} targets × {len(spec.models)} models = {jobs} jobs; "
                f"this controller accepts at most {limits.max_jobs} per suite",
            )
        )
    for bench in resolved.benchmarks:
        for field, message in _benchmark_problems(bench, limits):
            if bench.id in own:
                problems.append(problem_at(("benchmarks", own[bench.id], field), message))
            else:  # a built-in benchmark: the line that chose the set
                problems.append(problem_at(("suite",), f"benchmark {bench.id}: {message}"))
    spec_bytes = _spec_bytes(resolved)
    if spec_bytes > limits.max_spec_bytes:
        problems.append(
            problem_at(
                ("targets",),
                f"the {jobs} jobs' specs would take {spec_bytes} bytes; "
                f"this controller accepts at most {limits.max_spec_bytes}",
            )
        )
    per_job = sum(expected_requests(bench, spec.runs) for bench in resolved.benchmarks)
    if per_job > limits.max_requests_per_job:
        problems.append(
            problem_at(
                ("runs",),
                f"each job would send {per_job} requests; "
                f"this controller accepts at most {limits.max_requests_per_job}",
            )
        )
    return problems


def _spec_bytes(resolved: ResolvedSuite) -> int:
    """The JSON the jobs' specs take (``expand`` makes one per target × model, each holding the
    model, its engine and every benchmark), measured once per model."""
    spec = resolved.spec
    shared = sum(len(bench.model_dump_json()) for bench in resolved.benchmarks)
    per_model = sum(
        len(model.model_dump_json()) + len(spec.engines[model.engine].model_dump_json())
        for model in spec.models
    )
    return len(spec.targets) * (len(spec.models) * shared + per_model)


def _benchmark_problems(bench: Benchmark, limits: SuiteLimits) -> Iterator[tuple[str, str]]:
    if isinstance(bench, SessionBenchmark):
        yield from _session_problems(bench, limits)
        return
    if isinstance(bench, ClosedLoopBenchmark):
        concurrency, field = max(bench.concurrency), "concurrency"
        tokens = max(bench.pp) + max(bench.depth) + max(bench.tg)
        token_field = "pp"
    else:
        concurrency, field = bench.max_concurrency or 0, "max_concurrency"
        tokens = (bench.input_len or 0) + (bench.output_len or 0) + bench.prefix_len
        token_field = "input_len"
    if concurrency > limits.max_concurrency:
        yield field, f"concurrency {concurrency} is past the limit of {limits.max_concurrency}"
    if tokens > limits.max_tokens:
        yield (
            token_field,
            (
                f"requests of up to {tokens} tokens (prompt + context + output) are past the "
                f"limit of {limits.max_tokens}"
            ),
        )


def _session_problems(bench: SessionBenchmark, limits: SuiteLimits) -> Iterator[tuple[str, str]]:
    """Users count as concurrency (each keeps one request in flight, its sub-agents more);
    a profile's longest answer plus its context cap as a request's tokens (a trace file is
    only read on the agent: its turns are bounded by the trace format and the sample checks)."""
    search = bench.search
    users: float = max(bench.users, default=0)
    rate = max(bench.session_rate, default=0.0)
    field = "users" if bench.users else "session_rate"
    if search is not None:
        field = "search"
        users, rate = (search.max, 0.0) if search.over == "users" else (0, search.max)
    if users > limits.max_concurrency:
        yield field, f"{users:g} users are past the limit of {limits.max_concurrency}"
    if rate > limits.max_session_rate:
        yield (
            field,
            f"{rate:g} sessions/s is past the limit of {limits.max_session_rate:g}",
        )
    steps = search.max_steps if search is not None else len(session_variants(bench))
    if bench.step_s * steps > limits.max_load_s:
        yield (
            "step_s",
            f"{steps} steps of {bench.step_s:g} s load the engine for "
            f"{bench.step_s * steps:g} s per run; the limit is {limits.max_load_s:g} s",
        )
    if bench.trace.profile is not None:
        params = resolve_params(bench.trace.profile, bench.trace.params)
        tokens = session_output_ceiling(bench.trace) + round(params.get("context_max", 0))
        if tokens > limits.max_tokens:
            yield (
                "trace",
                f"requests of up to {tokens} tokens (context_max + the longest answer) are "
                f"past the limit of {limits.max_tokens}",
            )
