"""The rows behind ``-o csv``: the same columns the tables show, as plain values."""

from arena.client.api import RunDetail
from arena.client.output import Rows
from arena.client.plan import Plan
from arena.client.views import view_rows
from arena.common.schemas.results import BenchmarkResult, RunResults, VariantResult
from arena.common.views.jobs import JOBS


def jobs_rows(detail: RunDetail) -> Rows:
    """The jobs view's columns, each row led by the run's id."""
    rows = view_rows(JOBS, detail.jobs)
    return Rows(("run_id", *rows.columns), [[detail.run.run_id, *row] for row in rows.rows])


def plan_rows(plan: Plan) -> Rows:
    return Rows(
        (
            "target",
            "model",
            "engine",
            "runtime",
            "benchmarks",
            "runs",
            "requests_expected",
            "simulated",
        ),
        [
            [
                job.target,
                job.model,
                job.engine,
                job.runtime,
                " ".join(job.benchmarks),
                job.runs,
                job.requests_expected,
                job.simulated,
            ]
            for job in plan.jobs
        ],
    )


def results_rows(results: RunResults) -> Rows:
    """One row per (job, benchmark, variant, metric): every number ``show`` has."""
    rows = [
        [
            results.run_id,
            job.job_id,
            job.model,
            job.hardware,
            bench.id,
            variant.key,
            variant.runs,
            metric,
            stat.mean,
            stat.std,
            stat.n,
            _note(bench, variant, metric),
        ]
        for job in results.jobs
        for bench in job.benchmarks
        for variant in bench.variants
        for metric, stat in variant.metrics.items()
    ]
    return Rows(
        (
            "run_id",
            "job_id",
            "model",
            "hardware",
            "benchmark",
            "variant",
            "runs",
            "metric",
            "mean",
            "std",
            "n",
            "note",
        ),
        rows,
    )


def _note(bench: BenchmarkResult, variant: VariantResult, metric: str) -> str:
    """Why a number is not a plain measurement: ``invalid`` and/or ``not meaningful``."""
    notes = [] if bench.valid else ["invalid"]
    if metric in variant.not_meaningful:
        notes.append("not meaningful")
    return "; ".join(notes)
