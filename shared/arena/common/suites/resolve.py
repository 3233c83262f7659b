"""SuiteSpec → ResolvedSuite: pick the built-in benchmarks, add the suite's own, apply ``quick``.

Every selection problem (unknown suite, ``only`` or ``extras`` id, clashing id) is collected and
reported at once, each on its line; nothing is returned half-resolved.
"""

from pathlib import Path

from arena.common.errors import SuiteError, SuiteProblem
from arena.common.schemas.suite import (
    Benchmark,
    OpenLoopBenchmark,
    ResolvedSuite,
    SessionBenchmark,
    SuiteSpec,
)
from arena.common.suites.builtin import BuiltinSuite, builtin_names, builtin_suite
from arena.common.suites.scaling import quick_note, scale_benchmark
from arena.common.suites.standin import sharegpt_standin_note
from arena.common.suites.validation import ProblemAt
from arena.common.traces.params import resolve_params


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
    if problems:
        raise SuiteError.from_problems(problems)
    benchmarks = chosen + own
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
    """A generated trace's parameters checked now, with their line, not on the agent."""
    if not isinstance(bench, SessionBenchmark) or bench.trace.profile is None:
        return None
    try:
        resolve_params(bench.trace.profile, bench.trace.params)
    except ValueError as error:
        return str(error)
    return None


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
