"""Bounds a suite must stay within before it is accepted: a suite is cheap to write and can
expand into more work, or longer requests, than any fleet should be handed.

The controller applies its configured bounds at submit (``ControllerSettings.limits``); they
are the controller's, so ``arenactl validate`` does not guess them. Samples are checked against
the same token bounds on ingest (``arena.common.metrics.sanity``).
"""

import math
from collections.abc import Iterator, Mapping

from pydantic import BaseModel, Field

from arena.common.errors import SuiteProblem
from arena.common.schemas.suite import (
    Benchmark,
    ClosedLoopBenchmark,
    ResolvedSuite,
    SessionBenchmark,
)
from arena.common.suites.validation import ProblemAt
from arena.common.suites.variants import expected_requests, session_variants
from arena.common.traces.format import MAX_SESSION_THINK_S
from arena.common.traces.params import (
    DEFAULT_SESSIONS,
    in_flight_per_user,
    resolve_params,
    session_think_max_s,
)


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
    ``max_steps``), and a replayed profile's arrival span (sessions / ``arrival_rate``).
    Sessions started in a step run to their end after it, so this bounds when the last
    session starts; ``max_job_s`` bounds when the job ends."""
    max_session_rate: float = Field(100.0, gt=0)
    """Sessions started per second (``session_rate``, a rate search's ``max``, a generated
    trace's ``arrival_rate`` when it is replayed)."""
    max_job_s: float = Field(48 * 3600, gt=0)
    """Time one job may hold a box, all benchmarks and runs: a session step counts as up to
    ``STEP_TAIL_FACTOR`` × ``step_s`` (the generator stops a step's sessions then), a replay
    also its arrival span."""
    max_think_s: float = Field(3600, gt=0)
    """One think time, scaled: a profile's ``think_max_s`` × ``think_scale``."""


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
    per_job = sum(expected_requests(bench, spec.runs, worst=True) for bench in resolved.benchmarks)
    if per_job > limits.max_requests_per_job:
        problems.append(
            problem_at(
                ("runs",),
                f"each job would send {per_job} requests; "
                f"this controller accepts at most {limits.max_requests_per_job}",
            )
        )
    job_s = sum(benchmark_time_s(bench, spec.runs) for bench in resolved.benchmarks)
    if job_s > limits.max_job_s:
        problems.append(
            problem_at(
                ("runs",),
                f"each job may run for {job_s / 3600:,.1f} h ({spec.runs} runs, session steps "
                f"counted at up to {STEP_TAIL_FACTOR} × step_s); this controller accepts at "
                f"most {limits.max_job_s / 3600:g} h",
            )
        )
    return problems


STEP_TAIL_FACTOR = 2
"""A session step lasts at most this many ``step_s``: its sessions' tails are cut then."""


def benchmark_time_s(bench: Benchmark, runs: int) -> float:
    """The longest a session benchmark can hold the box over all runs: every step at
    ``STEP_TAIL_FACTOR`` × ``step_s``, a replay also its arrival span. Closed and open loop
    are bounded by their request counts (``max_requests_per_job``): 0 here."""
    if not isinstance(bench, SessionBenchmark):
        return 0.0
    steps = bench.search.max_steps if bench.search is not None else len(session_variants(bench))
    span = _replay_span_s(bench) if bench.replay_timestamps else 0.0
    return runs * steps * (STEP_TAIL_FACTOR * bench.step_s + span)


def _replay_span_s(bench: SessionBenchmark) -> float:
    """When a generated trace's last session is expected to arrive: sessions / arrival_rate
    (a trace file's own times are checked by the agent when it reads the file)."""
    trace = bench.trace
    if trace.profile is None:
        return 0.0
    rate = resolve_params(trace.profile, trace.params)["arrival_rate"]
    sessions = trace.sessions or DEFAULT_SESSIONS
    return math.inf if rate == 0 else (sessions - 1) / rate * trace.scale


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
        yield from _profile_problems(bench, params, limits)


def _profile_problems(
    bench: SessionBenchmark, params: Mapping[str, float], limits: SuiteLimits
) -> Iterator[tuple[str, str]]:
    """A generated trace's worst case: its requests' size, its users' sub-agents, its replay
    rate and span, its think times."""
    tokens = round(params["context_max"])
    if tokens > limits.max_tokens:
        yield (
            "trace",
            f"requests of up to {tokens} tokens (context_max: prompt and answer) are past the "
            f"limit of {limits.max_tokens}",
        )
    users: float = max(bench.users, default=0)
    if bench.search is not None:
        users = bench.search.max if bench.search.over == "users" else 0.0
    in_flight = users * in_flight_per_user(params)
    if in_flight > limits.max_concurrency and users <= limits.max_concurrency:
        yield (
            "trace",
            f"{users:g} users with up to {in_flight_per_user(params) - 1} sub-agents each may "
            f"have {in_flight:g} requests in flight; the limit is {limits.max_concurrency}",
        )
    if bench.replay_timestamps:
        yield from _replay_problems(bench, params["arrival_rate"], limits)
    think = params["think_max_s"] * bench.think_scale
    if think > limits.max_think_s:
        yield (
            "think_scale",
            f"think times of up to {think:g} s (think_max_s × think_scale) are past the limit "
            f"of {limits.max_think_s:g} s",
        )
    session_think = session_think_max_s(params) * bench.think_scale * bench.trace.scale
    if session_think > MAX_SESSION_THINK_S:
        yield (
            "think_scale",
            f"one session may think for {session_think:,.0f} s between its turns "
            f"((turns_max − 1) × think_max_s × think_scale); a trace session may think for "
            f"at most {MAX_SESSION_THINK_S:,.0f} s",
        )


def _replay_problems(
    bench: SessionBenchmark, rate: float, limits: SuiteLimits
) -> Iterator[tuple[str, str]]:
    if rate > limits.max_session_rate:
        yield (
            "trace",
            f"arrival_rate {rate:g} sessions/s is past the limit of {limits.max_session_rate:g}",
        )
    span = _replay_span_s(bench)
    if span > limits.max_load_s:
        yield (
            "trace",
            f"the replayed sessions arrive over about {span:,.0f} s (sessions / arrival_rate); "
            f"the limit is {limits.max_load_s:g} s",
        )
