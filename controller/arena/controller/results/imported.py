"""The results view of an imported run's job: its stored summaries in the order they were
imported, judged like a measured job's, with energy from the reference telemetry."""

from typing import Any

from sqlmodel import Session, select

from arena.common.analysis.agents import judged_capacity
from arena.common.metrics.energy import csv_energy
from arena.common.metrics.validity import MAX_ERROR_RATE, assess, gate_capacity
from arena.common.schemas.imported import ImportOrigin, TelemetrySample
from arena.common.schemas.results import (
    BenchmarkResult,
    EnergyFigures,
    JobResult,
    MetricStat,
    VariantResult,
)
from arena.controller.store.imports import BenchmarkHeader
from arena.controller.store.models import SUMMARY_RUN, AggregateRow, ImportRow, JobRow

IMPORTED_PARTIAL_FLAG = (
    "partial: its job stopped after this benchmark completed (as exported); shown apart, "
    "never ranked"
)


def imported_job_result(
    session: Session,
    job: JobRow,
    stored: ImportRow,
    max_error_rate: float = MAX_ERROR_RATE,
    accept_saturated_clients: bool = False,
) -> JobResult:
    """The results view of an imported job: benchmarks in stored order, values from aggregates."""
    headers = [BenchmarkHeader.model_validate(bench) for bench in stored.benchmarks]
    origin = ImportOrigin.model_validate(stored.origin)
    summaries = {
        (row.benchmark, row.variant): row
        for row in session.exec(
            select(AggregateRow).where(
                AggregateRow.job_id == job.id, AggregateRow.run == SUMMARY_RUN
            )
        )
    }
    benchmarks = [
        _benchmark(bench, summaries, origin, max_error_rate, accept_saturated_clients)
        for bench in headers
    ]
    sweep = origin.rate_sweep
    for result in benchmarks:
        if sweep is not None and sweep.failed and not result.variants:
            result.valid = False  # the sweep's benchmark: it failed before its first step
            result.flags.insert(0, f"failed: {sweep.failed}")
    return JobResult(
        job_id=job.id,
        target=job.target,
        model=job.model,
        engine=job.engine_runtime,
        agent=None,
        hardware=stored.hardware,
        simulated=origin.provenance.simulated,
        state=job.state,
        message=job.message,
        benchmarks=benchmarks,
        imported=_gated(origin, max_error_rate),
    )


def _benchmark(
    bench: BenchmarkHeader,
    summaries: dict[tuple[str, str], AggregateRow],
    origin: ImportOrigin,
    max_error_rate: float,
    accept_saturated_clients: bool,
) -> BenchmarkResult:
    """One imported benchmark, judged; a session benchmark with the capacity its steps show."""
    rows = [row for v in bench.variants if (row := summaries.get((bench.id, v.key)))]
    result = assess(
        BenchmarkResult(
            id=bench.id,
            title=bench.title,
            kind=bench.kind,
            variants=[
                VariantResult(
                    key=row.variant,
                    runs=variant.runs,
                    metrics={key: MetricStat(**stat) for key, stat in row.metrics.items()},
                    spread_pct=variant.spread_pct,  # assess estimates it where not stated
                )
                for variant in bench.variants
                if (row := summaries.get((bench.id, variant.key))) is not None
            ],
            energy=_energy(
                bench, [row.metrics for row in rows], origin.telemetry.get(bench.id, [])
            ),
            engine_metrics=bench.engine_metrics,
            prefix_cache=bench.session.prefix_cache if bench.session else "off",
            exact_tg=bench.exact_tg,
        ),
        max_error_rate,
        accept_saturated_client=accept_saturated_clients
        or bench.accept_saturated_client
        or (bench.session is not None and bench.session.accept_saturated_client),
    )
    result.flags += bench.slot_flags
    if bench.partial:  # as the export said: the job stopped after this benchmark
        result.partial = True
        result.flags.insert(0, IMPORTED_PARTIAL_FLAG)
    if bench.session is not None:
        # the GPUs the session file (or the signing agent) names: the telemetry file is one
        # series whatever the box had, so it cannot say
        result.agent_capacity = judged_capacity(bench.session, result, bench.gpus)
    return result


def _gated(origin: ImportOrigin, max_error_rate: float) -> ImportOrigin:
    """Capacity never rests on a step whose failed share is over the gate."""
    if origin.rate_sweep is None:
        return origin
    sweep = gate_capacity(origin.rate_sweep, max_error_rate)
    return origin.model_copy(update={"rate_sweep": sweep})


LLAMA_BENCHY_NOTE = (
    "no J/token: llama-benchy reports rates per test, not the tokens it generated, and its "
    "telemetry covers every test of the invocation (prefill-only passes and warm-up included)"
)


def _energy(
    bench: BenchmarkHeader, metrics: list[dict[str, Any]], telemetry: list[TelemetrySample]
) -> EnergyFigures | None:
    """Mean/peak power and energy over the reference telemetry file (10 s rows); J/token only
    where the tool counted its output tokens (vLLM's ``total_output_tokens``)."""
    if bench.kind == "sessions":
        return csv_energy(telemetry, None, "energy over the telemetry file's rows, first to last")
    if bench.tool != "vllm-bench":
        return csv_energy(telemetry, None, LLAMA_BENCHY_NOTE)
    totals = [m["total_output_tokens"]["mean"] for m in metrics if "total_output_tokens" in m]
    durations = [m["duration"]["mean"] for m in metrics if "duration" in m]
    tokens = round(sum(totals)) if totals and len(totals) == len(metrics) else None
    note = "energy over the telemetry file's rows, first to last"
    if durations:
        note += f"; vLLM's own duration: {sum(durations):,.0f} s"
    return csv_energy(telemetry, tokens, note)
