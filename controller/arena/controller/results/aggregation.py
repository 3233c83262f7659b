"""Turn a finished job's raw samples into stored metrics: per run, then mean ± std over runs.

Closed-loop summaries use llama-benchy's own aggregation (per-request values pooled over runs),
so the "±" matches its tables; open-loop summaries are mean ± std of the per-run vLLM metrics.
A benchmark run by llama-benchy itself takes its summary from the tool's report (its samples,
from ``--emit-progress``, still give the per-run rows); one run by ``vllm bench serve`` is
aggregated from the per-request samples of its detailed results, like a built-in one.
Each benchmark also gets power and energy figures from the job's GPU telemetry over its window
(``arena.controller.store.telemetry.store_energy``).
"""

from collections import defaultdict
from dataclasses import asdict
from typing import Any

from sqlmodel import Session, col, delete

from arena.common.metrics.client_load import cpu_util_of
from arena.common.metrics.derive import run_metrics, summary
from arena.common.schemas.job import JobSpec
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import Benchmark
from arena.common.suites.variants import Variant, variants
from arena.controller.store.aggregates import SUMMARY_RUN
from arena.controller.store.jobs import get_job, samples_of
from arena.controller.store.models import AggregateRow
from arena.controller.store.telemetry import store_energy
from arena.controller.store.tools import tool_results_of


def aggregate_job(session: Session, job_id: str) -> int:
    """(Re)compute the job's aggregates from its current attempt; returns rows written."""
    job = get_job(session, job_id)
    spec = JobSpec.model_validate(job.spec)
    grouped: dict[tuple[str, str, int], list[RequestSample]] = defaultdict(list)
    for sample in samples_of(session, job):
        grouped[(sample.benchmark, sample.variant, sample.run)].append(sample)
    session.exec(delete(AggregateRow).where(col(AggregateRow.job_id) == job_id))
    tool_results = tool_results_of(session, job)
    written = 0
    for bench in spec.benchmarks:
        tool_summary = (
            tool_results[bench.id].metrics
            if bench.tool == "llama-benchy" and bench.id in tool_results
            else None
        )
        for variant in variants(bench):
            runs = [
                samples
                for run in range(spec.runs)
                if (samples := grouped.get((bench.id, variant.key, run)))
            ]
            per_run = []
            for samples in runs:
                cpu_util = cpu_util_of(job.provenance, bench.id, variant.key, samples[0].run)
                metrics = run_metrics(bench, variant, samples, cpu_util)
                per_run.append(metrics)
                session.add(_row(job_id, bench, variant, samples[0].run, metrics))
                written += 1
            if tool_summary is not None:
                if variant.key in tool_summary:
                    session.add(
                        _row(job_id, bench, variant, SUMMARY_RUN, tool_summary[variant.key])
                    )
                    written += 1
            elif runs:
                summarized = {
                    key: asdict(stat) for key, stat in summary(variant, runs, per_run).items()
                }
                session.add(_row(job_id, bench, variant, SUMMARY_RUN, summarized))
                written += 1
    return written + store_energy(session, job)


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
