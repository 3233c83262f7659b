"""A run page's charts, from the shared builders (``arena.common.figures``): throughput per
benchmark, TTFT and inter-token-latency CDFs from the raw samples, GPU telemetry per job; and
its agentic section's (session benchmarks: TTFT by turn number, SLO attainment per step)."""

from collections import defaultdict

from arena.common import figures
from arena.common.figures.latency import TITLES, Metric
from arena.common.figures.style import series_name
from arena.common.schemas.results import RunResults
from arena.controller.web.reads import JobRecords

METRICS: tuple[Metric, ...] = ("ttft", "itl")


def run_figures(results: RunResults, records: dict[str, JobRecords]) -> dict[str, str]:
    """Chart name → plotly JSON, for the benchmarks that have results."""
    measured = {b.id for job in results.jobs for b in job.benchmarks if b.variants}
    found = {
        f"throughput-{bench}": figure.to_json()
        for bench, figure in figures.throughput_figures([results]).items()
        if bench in measured
    }
    groups: dict[str, list[figures.SampleGroup]] = defaultdict(list)
    for job in results.jobs:
        samples = records[job.job_id].samples if job.job_id in records else []
        for bench, job_groups in figures.sample_groups(results.run_id, job, samples).items():
            if bench in measured:
                groups[bench] += job_groups
    for bench, bench_groups in sorted(groups.items()):
        for metric in METRICS:
            title = f"{bench}: {TITLES[metric]} CDF"
            found[f"{metric}-{bench}"] = figures.latency_cdf(title, bench_groups, metric).to_json()
    for job in results.jobs:
        series = figures.job_series(job, records.get(job.job_id, JobRecords([], [])).readings)
        if series:
            title = f"GPU telemetry: {series_name(job)}"
            found[f"telemetry-{job.job_id}"] = figures.telemetry_figure(title, series).to_json()
    return found


def agentic_figures(results: RunResults) -> dict[str, str]:
    """Chart name → plotly JSON for each session benchmark: TTFT by turn, then attainment."""
    found = {}
    for bench, jobs in figures.session_benchmarks([results]).items():
        found[f"slo-{bench}"] = figures.attainment_figure(bench, jobs).to_json()
        found[f"turns-{bench}"] = figures.turn_ttft_figure(bench, jobs).to_json()
    return found
