"""SuiteSpec → ResolvedSuite: pick the built-in benchmarks, add the suite's own, apply ``quick``.

Every selection problem (unknown suite, ``only`` or ``extras`` id, clashing id) is collected and
reported at once, each on its line; nothing is returned half-resolved.
"""

from pathlib import Path

from arena.common.errors import SuiteError, SuiteProblem
from arena.common.schemas.suite import (
    Benchmark,
    ClosedLoopBenchmark,
    OpenLoopBenchmark,
    ResolvedSuite,
    SessionBenchmark,
    SuiteSpec,
)
from arena.common.suites.builtin import BuiltinSuite, builtin_names, builtin_suite
from arena.common.suites.scaling import quick_note, scale_benchmark
from arena.common.suites.standin import sharegpt_standin_note
from arena.common.suites.validation import ProblemAt
from arena.common.suites.variants import session_variants
from arena.common.traces.params import DEFAULT_SESSIONS, resolve_params, trace_requests_max


def resolve_suite(spec: SuiteSpec, problem_at: ProblemAt, base_dir: Path | None) -> ResolvedSuite:
    """``base_dir`` anchors relative ``dataset_path`` and ``trace.path`` values (the suite
    file's folder)."""
    builtin, problems = _builtin_set(spec, problem_at)
    chosen = _select(spec, builtin, problems, problem_at)
    own = [_anchor_dataset(bench, base_dir) for bench in spec.benchmarks]
    reserved = {b.id for b in builtin.benchmarks + builtin.extras} if builtin else set()
    problems += [
        problem_at(("benchmarks", index, "id"), f"id {bench.id!r} is already used by {spec.suite}")
        for index, bench in enumerate(own)
        if bench.id in reserved
    ]
    problems += [
        problem_at(("benchmarks", index, "trace", "params"), message)
        for index, bench in enumerate(own)
        if (message := _trace_problem(bench)) is not None
    ]
    problems += [
        problem_at(("benchmarks", index, field), message)
        for index, bench in enumerate(own)
        for field, message in _duplicate_variants(bench)
    ]
    problems += [
        problem_at(("benchmarks", index, "trace", "scale"), QUICK_ONLY)
        for index, bench in enumerate(own)
        if isinstance(bench, SessionBenchmark) and bench.trace.scale != 1
    ]
    if problems:
        raise SuiteError.from_problems(problems)
    benchmarks = [_exact(_ordered(bench, spec), spec) for bench in chosen + own]
    if refused := _ignore_eos_refused(spec, benchmarks, problem_at):
        raise SuiteError.from_problems(refused)
    notes = [
        sharegpt_standin_note(bench.id)
        for bench in benchmarks
        if isinstance(bench, OpenLoopBenchmark)
        and bench.dataset == "sharegpt"
        and bench.dataset_path is None
    ]
    if spec.quick is not None:
        benchmarks = [scale_benchmark(bench, spec.quick) for bench in benchmarks]
        notes.append(quick_note(spec.quick))
    return ResolvedSuite(spec=spec, benchmarks=benchmarks, simulated_data=notes)


def _ordered(bench: Benchmark, spec: SuiteSpec) -> Benchmark:
    """The suite's ``run_order`` on a built-in-generator benchmark that sets none itself."""
    if (
        spec.run_order is None
        or isinstance(bench, SessionBenchmark)
        or bench.tool != "builtin"
        or "run_order" in bench.model_fields_set
    ):
        return bench
    return bench.model_copy(update={"run_order": spec.run_order})


def _exact(bench: Benchmark, spec: SuiteSpec) -> Benchmark:
    """The suite's ``exact_tg`` on a closed-loop benchmark that sets none itself."""
    if (
        spec.exact_tg is None
        or not isinstance(bench, ClosedLoopBenchmark)
        or "exact_tg" in bench.model_fields_set
    ):
        return bench
    return bench.model_copy(update={"exact_tg": spec.exact_tg})


def _ignore_eos_refused(
    spec: SuiteSpec, benchmarks: list[Benchmark], problem_at: ProblemAt
) -> list[SuiteProblem]:
    """``exact_tg`` needs ``ignore_eos``: an engine that refuses it would stop answers early
    (or reject every request), so the run could not be what the suite asks; refused here,
    before any engine starts, rather than flagged after an hour of GPU time."""
    exact = [b.id for b in benchmarks if isinstance(b, ClosedLoopBenchmark) and b.exact_tg]
    if not exact:
        return []
    used = dict.fromkeys(model.engine for model in spec.models)
    return [
        problem_at(
            ("engines", name),
            f"accepts_ignore_eos: false, but {', '.join(exact)} set exact_tg (every answer "
            f"exactly tg tokens needs ignore_eos): turn exact_tg off or use an engine that "
            f"takes ignore_eos",
        )
        for name in used
        if not getattr(spec.engines[name], "accepts_ignore_eos", True)
    ]


QUICK_ONLY = (
    "trace.scale is set by the suite's 'quick' (which notes it with the results): use quick"
)


def _builtin_set(
    spec: SuiteSpec, problem_at: ProblemAt
) -> tuple[BuiltinSuite | None, list[SuiteProblem]]:
    if spec.suite is None:
        problems = [
            problem_at((field,), f"needs a built-in 'suite' ({', '.join(builtin_names())})")
            for field in ("only", "extras")
            if getattr(spec, field)
        ]
        return None, problems
    try:
        return builtin_suite(spec.suite), []
    except KeyError:
        known = ", ".join(builtin_names())
        return None, [
            problem_at(("suite",), f"unknown built-in suite {spec.suite!r} (known: {known})")
        ]


def _select(
    spec: SuiteSpec,
    builtin: BuiltinSuite | None,
    problems: list[SuiteProblem],
    problem_at: ProblemAt,
) -> list[Benchmark]:
    """The built-in benchmarks ``only`` keeps, in the set's order, then the ``extras`` asked for."""
    if builtin is None:
        return []
    main = {bench.id: bench for bench in builtin.benchmarks}
    extras = {bench.id: bench for bench in builtin.extras}
    for field, ids, valid in (("only", spec.only, main), ("extras", spec.extras, extras)):
        known = ", ".join(valid) or "none"
        problems += [
            problem_at((field, index), f"unknown benchmark {bench_id!r} in {spec.suite} ({known})")
            for index, bench_id in enumerate(ids)
            if bench_id not in valid
        ]
    kept = [bench for bench in builtin.benchmarks if not spec.only or bench.id in spec.only]
    added = [extras[bench_id] for bench_id in dict.fromkeys(spec.extras) if bench_id in extras]
    return kept + added


def _trace_problem(bench: Benchmark) -> str | None:
    """A generated trace's parameters checked now, with their line, not on the agent: their
    bounds, the trace's worst-case size, and arrival times where the load replays them."""
    if not isinstance(bench, SessionBenchmark) or bench.trace.profile is None:
        return None
    try:
        values = resolve_params(bench.trace.profile, bench.trace.params)
    except ValueError as error:
        return str(error)
    if bench.replay_timestamps and values["arrival_rate"] == 0:
        return (
            "replay_timestamps needs arrival times: give the profile an arrival_rate "
            "(sessions per second)"
        )
    return trace_requests_max(bench.trace.sessions or DEFAULT_SESSIONS, values)


def _duplicate_variants(bench: Benchmark) -> list[tuple[str, str]]:
    """Two load values with one variant key would run twice and store as one."""
    if not isinstance(bench, SessionBenchmark):
        return []
    keys = [variant.key for variant in session_variants(bench)]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    field = "users" if bench.users else "session_rate"
    return [(field, f"values that make the same variant {key!r} twice") for key in twice]


def _anchor_dataset(bench: Benchmark, base_dir: Path | None) -> Benchmark:
    """A relative ``dataset_path`` or ``trace.path``, taken from the suite file's folder."""
    if isinstance(bench, SessionBenchmark) and bench.trace.path is not None:
        anchored = _anchored(bench.trace.path, base_dir)
        trace = bench.trace.model_copy(update={"path": anchored})
        return bench.model_copy(update={"trace": trace})
    if not isinstance(bench, OpenLoopBenchmark) or bench.dataset_path is None:
        return bench
    return bench.model_copy(update={"dataset_path": _anchored(bench.dataset_path, base_dir)})


def _anchored(name: str, base_dir: Path | None) -> str:
    path = Path(name).expanduser()
    if path.is_absolute() or base_dir is None:
        return name
    return str((base_dir / path).resolve())
