"""Capacity in concurrent agents: one row per job, session benchmark and SLO tier, read off the
``AgentCapacity`` the results layer stored (the largest *measured* load step whose sessions met
the tier often enough; nothing interpolated). ``arenactl capacity``, the dashboard's capacity
page and the report's agentic section list these rows through one view
(``views.frontier.AGENT_CAPACITY``)."""

from collections.abc import Iterable

from arena.common.analysis.aggregate import UNVERIFIED
from arena.common.analysis.selection import JobRef, contains, job_ref
from arena.common.metrics.completion import PARTIAL
from arena.common.schemas.results import AgentCapacity, BenchmarkResult, JobResult, RunResults


class AgentCapacityRow(JobRef):
    """One job's capacity under one SLO tier of one session benchmark."""

    benchmark: str
    origin: str
    """``measured``, ``imported`` (a verified import) or ``unverified`` (``JobResult.origin``'s
    label)."""
    prefix_cache: str
    """What the benchmark declared: ``on`` or ``off``."""
    tier: str
    unit: str
    """``users`` (concurrent agents) or ``sessions/s``."""
    target_pct: float
    capacity: float | None
    """The largest passing step's load; ``None`` when no step passed, or the benchmark is
    invalid (``status``)."""
    gpus: int | None
    per_gpu: float | None
    per_kw: float | None
    steps: int
    """Load steps measured."""
    passed: list[float]
    """Loads of the steps that met the tier, in load order."""
    lower_bound: bool = False
    """``AgentCapacity.lower_bound``: the capacity is the highest step measured, so the box may
    serve more (a search that reached its ``max``, or a fixed list of loads)."""
    status: str
    """``ok``, ``none`` (no measured step met the tier), ``invalid``, ``partial`` (its job
    failed after it completed: not counted), or ``unverified`` (an
    import nothing this controller trusts signed: no capacity unless ``include_unverified``,
    as rankings do)."""
    note: str = ""


def agent_capacity_rows(
    results: Iterable[RunResults], hardware: str | None = None, include_unverified: bool = False
) -> list[AgentCapacityRow]:
    """Every session benchmark that stored a capacity, on hardware whose name contains
    ``hardware``; an invalid benchmark (errors, a warm cache where it declared none) or an
    unverified import keeps its rows, with no capacity and the reason in the status and note,
    so a reader sees why it is missing."""
    return [
        row
        for run in results
        for job in run.jobs
        if contains(job.hardware, hardware)
        for bench in job.benchmarks
        if bench.agent_capacity is not None
        for row in _rows(run.run_id, job, bench, bench.agent_capacity, include_unverified)
    ]


def _rows(
    run_id: str,
    job: JobResult,
    bench: BenchmarkResult,
    found: AgentCapacity,
    include_unverified: bool,
) -> list[AgentCapacityRow]:
    notes = [note for note in (found.note,) if note]
    if not bench.valid or bench.partial:
        notes.insert(0, bench.flags[0] if bench.flags else "invalid")
    hidden = job.origin.unverified and not include_unverified
    if hidden:
        notes.insert(0, "unverified import: no trusted signature (--include-unverified shows it)")
    rows = []
    for tier in found.tiers:
        capacity = found.capacity.get(tier)
        status = (
            UNVERIFIED
            if hidden
            else "invalid"
            if not bench.valid
            else PARTIAL
            if bench.partial
            else "ok"
            if capacity is not None
            else "none"
        )
        ok = status == "ok"
        rows.append(
            AgentCapacityRow(
                **job_ref(run_id, job),
                benchmark=bench.id,
                origin=job.origin.label,
                prefix_cache=bench.prefix_cache,
                tier=tier,
                unit=found.unit,
                target_pct=found.target_pct,
                capacity=capacity if ok else None,
                gpus=found.gpus,
                per_gpu=found.per_gpu.get(tier) if ok else None,
                per_kw=found.per_kw.get(tier) if ok else None,
                steps=len(found.steps),
                passed=[step.load for step in found.steps if step.passed.get(tier)],
                lower_bound=ok and found.lower_bound(tier),
                status=status,
                note="; ".join(notes),
            )
        )
    return rows
