"""``arenactl compare``: the same benchmarks side by side across runs (hardware, engines).

Rows are (benchmark, variant, headline metric) found in every run; each run is a column of
mean ± std, and the last column is the ratio of the last run to the first.
"""

from rich.table import Table

from arena.common.metrics.summary import HEADLINE
from arena.common.schemas.base import ArenaModel
from arena.common.schemas.results import JobResult, MetricStat, RunResults


class ComparedRow(ArenaModel):
    benchmark: str
    variant: str
    metric: str
    unit: str
    values: list[MetricStat | None]
    ratio: float | None


class Comparison(ArenaModel):
    columns: list[str]
    rows: list[ComparedRow]


def _label(run: RunResults, job: JobResult) -> str:
    where = job.hardware or job.agent or "?"
    label = "simulated" if job.simulated else ("imported" if job.imported else job.engine)
    return f"{run.run_id}\n{job.model} · {label}\n{where}"


def compare(runs: list[RunResults]) -> Comparison:
    """Align the first job of each run on benchmark id, variant key and headline metric."""
    jobs = [run.jobs[0] for run in runs if run.jobs]
    if len(jobs) != len(runs):
        raise ValueError("every run to compare needs at least one job")
    tables = [
        {(b.id, v.key): (b.kind, v.metrics) for b in job.benchmarks for v in b.variants}
        for job in jobs
    ]
    rows = []
    for (bench, variant), (kind, _) in tables[0].items():
        if not all((bench, variant) in table for table in tables[1:]):
            continue
        for metric in HEADLINE["closed_loop" if kind == "closed_loop" else "open_loop"]:
            values = [table[(bench, variant)][1].get(metric.key) for table in tables]
            if all(value is None for value in values):
                continue
            first, last = values[0], values[-1]
            ratio = None
            if first and last and first.mean and last.mean is not None:
                ratio = last.mean / first.mean
            rows.append(ComparedRow(benchmark=bench, variant=variant, metric=metric.label,
                                    unit=metric.unit, values=values, ratio=ratio))  # fmt: skip
    return Comparison(columns=[_label(run, job) for run, job in zip(runs, jobs, strict=True)],
                      rows=rows)  # fmt: skip


def comparison_table(comparison: Comparison) -> Table:
    table = Table(title="Comparison (mean ± std over runs; ratio = last / first)")
    for column in ("benchmark", "variant", "metric"):
        table.add_column(column)
    for column in comparison.columns:
        table.add_column(column, justify="right")
    table.add_column("ratio", justify="right")
    for row in comparison.rows:
        cells = [
            "" if v is None or v.mean is None
            else f"{v.mean:,.2f} ± {v.std or 0:,.2f}" if v.n > 1 else f"{v.mean:,.2f}"
            for v in row.values
        ]  # fmt: skip
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}×"
        table.add_row(row.benchmark, row.variant, f"{row.metric} ({row.unit})", *cells, ratio)
    return table
