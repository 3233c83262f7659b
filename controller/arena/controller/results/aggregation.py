"""Turn a finished job's raw samples into stored metrics: per run, then mean ± std over runs.

Closed-loop summaries use llama-benchy's own aggregation (per-request values pooled over runs),
so the "±" matches its tables; open-loop and session summaries are mean ± std of the per-run
metrics. A session benchmark's variants (its load steps) are those its samples name: a capacity
search makes them at run time.
A benchmark run by llama-benchy itself takes its summary from the tool's report (its samples,
from ``--emit-progress``, still give the per-run rows); one run by ``vllm bench serve`` is
aggregated from the per-request samples of its detailed results, like a built-in one.
Each benchmark also gets power and energy figures from the job's GPU telemetry over its window,
and each run its box figures over its own window (``metrics.box``) and the engine's own time
per output token where the agent read it (``metrics.engine_runs``).
Stored metrics carry ``METRICS_VERSION``.
"""

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlmodel import Session

from arena.common.metrics.box import add_clock_drops, box_summary, run_box
from arena.common.metrics.client_load import run_figures_of
from arena.common.metrics.completion import completed_of
from arena.common.metrics.derive import measured_variants, run_metrics, summary
from arena.common.metrics.energy import benchmark_energy
from arena.common.metrics.engine_runs import ENGINE_RUN_KEYS, engine_run_of
from arena.common.metrics.summary import summarize
from arena.common.schemas.job import JobSpec, JobState
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import Benchmark, SessionBenchmark
from arena.common.schemas.telemetry import GpuReading
from arena.common.suites.variants import Variant
from arena.controller.store.aggregates import computed_jobs, replace_aggregates
from arena.controller.store.jobs import get_job, samples_of
from arena.controller.store.models import SUMMARY_RUN, AggregateRow, EnergyRow, JobRow
from arena.controller.store.runs import run_row
from arena.controller.store.telemetry import benchmark_windows, telemetry_of
from arena.controller.store.tools import tool_results_of

METRICS_VERSION = 3
"""The version of the metric definitions (``arena.common.metrics``) that stored metrics are
computed with. Bump it when a definition changes: ``arena-controller reaggregate`` then
recomputes every job whose stored metrics are older.

2: session benchmarks' metrics, and ``cache_hit_pct`` for every kind whose samples carry
cached tokens.
3 (issue 24): each run's box figures from the GPU telemetry (``metrics.box``) and the engine's
own time per output token (``engine_tpot_ms``); one output-token rule (counted by the tokenizer,
else usage, else chunks) and the token checks (``token_mismatch_pct``, ``usage_over_max``);
TTFC and reasoning tokens; closed loop's wall-clock ``output_throughput``; SM clock drops
judged within a variant and ``throttled_runs`` as a share of its runs; energy tokens of
succeeded requests only; the client verdict (loop lag, read stalls, headroom used) and
``oversaturated`` on rate steps; failed and cancelled jobs now get metrics (and energy) for the
benchmarks they completed. Failed and cancelled jobs stored before it (never computed: pending)
are computed at the controller's next start; older succeeded ones by ``reaggregate``."""


@dataclass(frozen=True)
class Aggregates:
    """A job's computed metrics, not stored yet: per run and summary rows, energy figures."""

    job_id: str
    rows: list[AggregateRow]
    energy: list[EnergyRow]


def compute_aggregates(session: Session, job_id: str) -> Aggregates:
    """The job's metrics from its current attempt's samples, tool results and telemetry; reads
    only, so it may run in a session of its own, off the database thread. A failed or
    cancelled job gets metrics for the benchmarks its agent reported complete only: a run cut
    short would read as a whole one."""
    job = get_job(session, job_id)
    spec = JobSpec.model_validate(job.spec)
    benchmarks = spec.benchmarks
    if job.state in (JobState.FAILED.value, JobState.CANCELLED.value):
        stored = job.acked_seq
        completed = completed_of(job.provenance, stored) | completed_of(job.progress, stored)
        benchmarks = [bench for bench in spec.benchmarks if bench.id in completed]
    grouped: dict[tuple[str, str, int], list[RequestSample]] = defaultdict(list)
    for sample in samples_of(session, job):
        grouped[(sample.benchmark, sample.variant, sample.run)].append(sample)
    tool_results = tool_results_of(session, job)
    readings = telemetry_of(session, job)
    rows = []
    for bench in benchmarks:
        tool_summary = (
            tool_results[bench.id].metrics
            if bench.tool == "llama-benchy" and bench.id in tool_results
            else None
        )
        present = {variant for (benchmark, variant, _) in grouped if benchmark == bench.id}
        measured = measured_variants(bench, present)
        box = _box_figures(bench, measured, grouped, readings)
        for variant in measured:
            runs = [
                samples
                for run in range(spec.runs)
                if (samples := grouped.get((bench.id, variant.key, run)))
            ]
            per_run = []
            for samples in runs:
                client = run_figures_of(job.provenance, bench.id, variant.key, samples[0].run)
                metrics = run_metrics(bench, variant, samples, client)
                metrics |= box.get((variant.key, samples[0].run), {})
                metrics |= engine_run_of(job.provenance, bench.id, variant.key, samples[0].run)
                per_run.append(metrics)
                rows.append(_row(job_id, bench, variant, samples[0].run, metrics))
            if tool_summary is not None:
                if variant.key in tool_summary:
                    rows.append(
                        _row(job_id, bench, variant, SUMMARY_RUN, tool_summary[variant.key])
                    )
            elif runs:
                stats = (
                    summary(variant, runs, per_run)
                    | box_summary(per_run)
                    | summarize([{key: run.get(key) for key in ENGINE_RUN_KEYS} for run in per_run])
                )
                summarized = {key: asdict(stat) for key, stat in stats.items()}
                rows.append(_row(job_id, bench, variant, SUMMARY_RUN, summarized))
    energy = _energy(session, job, readings, {bench.id for bench in benchmarks})
    return Aggregates(job_id, rows, energy)


def _box_figures(
    bench: Benchmark,
    measured: list[Variant],
    grouped: dict[tuple[str, str, int], list[RequestSample]],
    readings: list[GpuReading],
) -> dict[tuple[str, int], dict[str, float]]:
    """Each (variant, run)'s box figures over its window (``metrics.box``), clock drops
    measured against the fastest run of the same variant. Session benchmarks have none: their load
    steps are judged by SLO attainment, not by a spread between runs."""
    if not readings or isinstance(bench, SessionBenchmark):
        return {}
    keys = {variant.key for variant in measured}
    figures = {}
    for (benchmark, variant, run), samples in grouped.items():
        ends = [s.end_s for s in samples if s.end_s is not None]
        if benchmark == bench.id and variant in keys and ends:
            start = min(s.sent_s for s in samples)
            figures[(variant, run)] = run_box(readings, start, max(ends))
    add_clock_drops(figures)
    return figures


def _energy(
    session: Session, job: JobRow, readings: list[GpuReading], benchmarks: set[str]
) -> list[EnergyRow]:
    """Each of ``benchmarks``' energy figures over its window of the attempt's GPU telemetry
    (a failed job's cut-short benchmark gets none, like its metrics); a job without telemetry
    gets none (its "no GPU telemetry" marker says why)."""
    if not readings:
        return []
    return [
        EnergyRow(
            job_id=job.id,
            benchmark=bench,
            figures=benchmark_energy(readings, start, end, tokens).model_dump(),
        )
        for bench, (start, end, tokens) in benchmark_windows(session, job).items()
        if bench in benchmarks
    ]


def store_computed(session: Session, computed: Aggregates) -> int:
    """Store computed metrics in place of the job's earlier ones; returns rows written."""
    return replace_aggregates(
        session, computed.job_id, computed.rows, computed.energy, METRICS_VERSION
    )


def jobs_to_reaggregate(
    session: Session, run_ids: list[str], every_run: bool = False
) -> list[tuple[str, str]]:
    """(run id, job id) of the jobs ``arena-controller reaggregate`` recomputes: every one of
    ``run_ids`` (NotFoundError for an unknown run), else of every run with ``every_run``,
    else those whose metrics are pending or older than ``METRICS_VERSION``."""
    for run_id in run_ids:
        run_row(session, run_id)
    if run_ids:
        return computed_jobs(session, run_ids)
    return computed_jobs(session, older_than=None if every_run else METRICS_VERSION)


def _row(
    job_id: str, bench: Benchmark, variant: Variant, run: int, metrics: dict[str, Any]
) -> AggregateRow:
    return AggregateRow(
        job_id=job_id,
        benchmark=bench.id,
        variant=variant.key,
        run=run,
        kind=bench.kind,
        metrics=metrics,
    )
