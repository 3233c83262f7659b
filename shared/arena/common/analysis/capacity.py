"""Capacity under p95-TTFT limits, read off a rate sweep's steps.

The rule is the published tool's (``11-rate-sweep.json``), so a measured sweep and an imported
one say the same thing: for each limit, the highest *configured* rate whose p95 TTFT stayed
strictly under it, or ``None`` when no step did. Only configured steps count: nothing is
interpolated between them. A measured step's numbers are the means over its runs.

A measured step that any of its runs found over-saturated (``oversaturated``: requests in
flight and TTFT still growing at the end, ``metrics.oversaturation``) is never capacity: its
p95 TTFT only says how long the run lasted, so it is left out and named in the row's note.
"""

import math
from collections.abc import Iterable, Sequence

from arena.common.analysis.selection import JobRef, contains, job_ref
from arena.common.metrics.completion import PARTIAL
from arena.common.schemas.imported import CapacityPoint, RateSweepSummary, SweepStep
from arena.common.schemas.results import BenchmarkResult, JobResult, RunResults, VariantResult

LIMITS_MS = ("2000", "5000", "10000")
"""The p95-TTFT limits of arena-v2's 11-rate-sweep, keyed as in the published summary."""
RATE_PREFIX = "rate"
OVERSATURATED = "oversaturated"


def capacity_by_slo(
    steps: Sequence[SweepStep], limits_ms: Iterable[str] = LIMITS_MS
) -> dict[str, CapacityPoint | None]:
    """Per limit (ms, as text), the highest configured rate whose p95 TTFT is under it."""
    capacity: dict[str, CapacityPoint | None] = {}
    for limit in limits_ms:
        under = [s for s in steps if s.ttft_p95_ms is not None and s.ttft_p95_ms < float(limit)]
        best = max(under, key=lambda s: s.configured_rps, default=None)
        capacity[limit] = (
            CapacityPoint.model_validate(best.model_dump(include=set(CapacityPoint.model_fields)))
            if best
            else None
        )
    return capacity


def over_gate(step: SweepStep, max_error_rate: float) -> bool:
    """Too many of the step's requests failed for its latency to mean anything."""
    if step.completed is None or not step.total_requests:
        return False
    return (step.total_requests - step.completed) / step.total_requests > max_error_rate


def is_sweep(bench: BenchmarkResult) -> bool:
    """An open-loop benchmark named a rate sweep (arena-v2's ``11-rate-sweep``, even when it
    stopped after one step) or with more than one rate variant."""
    rates = [v for v in bench.variants if configured_rate(v.key) is not None]
    named = bench.id.endswith("rate-sweep") and bool(rates)
    return bench.kind == "open_loop" and (named or len(rates) > 1)


def configured_rate(variant_key: str) -> float | None:
    """``rate0.3`` → 0.3; an unlimited (``rateinf``) or other variant is no sweep step."""
    if not variant_key.startswith(RATE_PREFIX):
        return None
    try:
        rate = float(variant_key.removeprefix(RATE_PREFIX))
    except ValueError:
        return None
    return rate if math.isfinite(rate) else None


def steps_of(bench: BenchmarkResult) -> list[SweepStep]:
    """A measured sweep's steps from its rate variants (vLLM keys, means over runs)."""
    steps = []
    for variant in bench.variants:
        rate = configured_rate(variant.key)
        if rate is None:
            continue
        completed = _mean(variant, "completed")
        failed = _mean(variant, "failed")
        total = completed + failed if completed is not None and failed is not None else None
        steps.append(
            SweepStep(
                configured_rps=rate,
                achieved_rps=_mean(variant, "request_throughput"),
                completed=round(completed) if completed is not None else None,
                total_requests=round(total) if total is not None else None,
                ttft_p50_ms=_mean(variant, "median_ttft_ms"),
                ttft_p95_ms=_mean(variant, "p95_ttft_ms"),
                ttft_p99_ms=_mean(variant, "p99_ttft_ms"),
                output_tps=_mean(variant, "output_throughput"),
                peak_concurrent=_mean(variant, "max_concurrent_requests"),
            )
        )
    return sorted(steps, key=lambda s: s.configured_rps)


def oversaturated_rates(bench: BenchmarkResult) -> list[float]:
    """The configured rates of the steps where at least one run had no steady state."""
    rates = []
    for variant in bench.variants:
        rate = configured_rate(variant.key)
        share = _mean(variant, OVERSATURATED)
        if rate is not None and share:
            rates.append(rate)
    return sorted(rates)


def _mean(variant: VariantResult, key: str) -> float | None:
    stat = variant.metrics.get(key)
    return stat.mean if stat is not None else None


class CapacityRow(JobRef):
    """One job's capacity under one p95-TTFT limit, with where the figure comes from."""

    benchmark: str
    source: str
    """``published`` (an imported summary, as gated on import) or ``measured`` (computed here)."""
    limit_ms: float
    point: CapacityPoint | None
    """``None``: no step met the limit, or the sweep is invalid or failed (``status``)."""
    status: str
    """``ok``, ``none`` (no step under the limit), ``invalid``, ``failed`` or ``partial`` (the
    sweep completed in a job that then failed: not counted, its flag says so)."""
    note: str = ""


def capacity_rows(
    results: Iterable[RunResults], max_error_rate: float, hardware: str | None = None
) -> list[CapacityRow]:
    """Every job that has a sweep (on hardware whose name contains ``hardware``): the published
    table when imported, else computed from the measured steps, leaving out a step whose failed
    share is over ``max_error_rate`` as the import leaves out a published one."""
    rows: list[CapacityRow] = []
    for run in results:
        for job in run.jobs:
            if contains(job.hardware, hardware):
                rows += _job_rows(run.run_id, job, max_error_rate)
    return rows


def _job_rows(run_id: str, job: JobResult, max_error_rate: float) -> list[CapacityRow]:
    sweeps = [b for b in job.benchmarks if is_sweep(b)]
    if (summary := job.origin.rate_sweep) is not None:
        named = [b for b in job.benchmarks if b.id.endswith("rate-sweep")]
        bench = named[0] if named else sweeps[0] if sweeps else None
        notes = _published_notes(summary)
        return _rows(
            run_id, job, bench, "published", summary.capacity_by_slo_ms, notes, summary.failed
        )
    rows: list[CapacityRow] = []
    for bench in sweeps:
        steps = steps_of(bench)
        saturated = oversaturated_rates(bench)
        failing = [s for s in steps if over_gate(s, max_error_rate)]
        kept = [s for s in steps if s not in failing and s.configured_rps not in saturated]
        notes = []
        if failing:
            rates = ", ".join(f"{s.configured_rps:g}" for s in failing)
            notes.append(f"left out: {rates} req/s (too many failed requests)")
        if saturated:
            rates = ", ".join(f"{rate:g}" for rate in saturated)
            notes.append(f"left out: {rates} req/s (over-saturated: no steady state)")
        capacity = capacity_by_slo(kept)
        rows += _rows(run_id, job, bench, "measured", capacity, notes, "")
    return rows


def _published_notes(summary: RateSweepSummary) -> list[str]:
    notes = []
    if summary.aborted_at_rps is not None:
        notes.append(f"sweep stopped at {summary.aborted_at_rps:g} req/s: a lower bound")
    if summary.excluded_rps:
        rates = ", ".join(f"{rate:g}" for rate in summary.excluded_rps)
        notes.append(f"left out: {rates} req/s (too many failed requests)")
    return notes


def _rows(
    run_id: str,
    job: JobResult,
    bench: BenchmarkResult | None,
    source: str,
    capacity: dict[str, CapacityPoint | None],
    notes: list[str],
    failed: str,
) -> list[CapacityRow]:
    invalid = bench is not None and not bench.valid
    partial = bench is not None and bench.partial
    if (invalid or partial) and bench is not None:
        notes = [*bench.flags[:1], *notes] if bench.flags else ["invalid", *notes]
    rows = []
    for limit, point in capacity.items():
        status = (
            "failed"
            if failed
            else "invalid"
            if invalid
            else PARTIAL
            if partial
            else "ok"
            if point
            else "none"
        )
        rows.append(
            CapacityRow(
                **job_ref(run_id, job),
                benchmark=bench.id if bench is not None else "rate-sweep",
                source=source,
                limit_ms=float(limit),
                point=point if status == "ok" else None,
                status=status,
                note="; ".join([failed, *notes] if failed else notes),
            )
        )
    return rows
