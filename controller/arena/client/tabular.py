"""The rows behind ``-o csv``: the same columns the tables show, as plain values."""

from arena.client.api import AgentInfo, RunDetail
from arena.client.output import Rows
from arena.client.plan import Plan
from arena.common.schemas.results import BenchmarkResult, RunResults, VariantResult


def jobs_rows(detail: RunDetail) -> Rows:
    columns = (
        "job_id",
        "target",
        "model",
        "engine",
        "state",
        "attempt",
        "agent",
        "samples",
        "requests_expected",
        "simulated",
        "message",
    )
    return Rows(
        ("run_id", *columns),
        [[detail.run.run_id, *(getattr(job, c) for c in columns)] for job in detail.jobs],
    )


def agents_rows(agents: list[AgentInfo]) -> Rows:
    return Rows(
        (
            "name",
            "status",
            "draining",
            "tier",
            "hardware",
            "cpu_arch",
            "labels",
            "current_job",
            "last_seen_unix",
            "policy",
        ),
        [
            [
                agent.name,
                agent.status,
                agent.draining,
                agent.trust,
                agent.hardware.summary,
                agent.hardware.cpu_arch,
                agent.labels,
                agent.current_job,
                agent.last_seen_unix,
                agent.policy.summary() if agent.policy else "",
            ]
            for agent in agents
        ],
    )


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
