"""Everything arenactl shows: rich tables for people, JSON for programs."""

import datetime
import json
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from controller.client import AgentInfo, JobInfo, RunDetail, RunInfo
from shared.metrics.summary import HEADLINE
from shared.schemas.results import JobResult, MetricStat, RunResults


def emit_json(console: Console, value: BaseModel | list[Any]) -> None:
    data: Any
    if isinstance(value, list):
        data = [
            item.model_dump(mode="json") if isinstance(item, BaseModel) else item for item in value
        ]
    else:
        data = value.model_dump(mode="json")
    console.print_json(json.dumps(data))


def _when(unix: float) -> str:
    return datetime.datetime.fromtimestamp(unix).strftime("%Y-%m-%d %H:%M:%S")


def runs_table(runs: list[RunInfo]) -> Table:
    table = Table(title="Runs")
    for column in ("run", "suite", "state", "created", "jobs", "samples"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            run.run_id,
            run.suite,
            run.state,
            _when(run.created_at_unix),
            f"{run.jobs_done}/{run.jobs_total}",
            str(run.samples),
        )
    return table


def agents_table(agents: list[AgentInfo]) -> Table:
    table = Table(title="Agents")
    for column in ("name", "status", "hardware", "arch", "labels", "job", "last seen"):
        table.add_column(column)
    for agent in agents:
        status = f"{agent.status} (draining)" if agent.draining else agent.status
        labels = ", ".join(f"{k}={v}" for k, v in sorted(agent.labels.items()))
        table.add_row(
            agent.name,
            status,
            agent.hardware.summary,
            agent.hardware.cpu_arch,
            labels,
            agent.current_job or "-",
            _when(agent.last_seen_unix),
        )
    return table


def _job_progress(job: JobInfo) -> tuple[str, str, str, str]:
    progress = job.progress
    position = ""
    if progress.get("benchmark"):
        run = progress.get("run", 0) + 1
        position = f"{progress['benchmark']} {progress.get('variant', '')} run {run}"
    done = int(progress.get("requests_done", job.samples))
    total = int(progress.get("requests_total", job.requests_expected)) or job.requests_expected
    rate = float(progress.get("output_tokens_per_s", 0.0))
    return position, f"{done}/{total}", f"{rate:.0f}", str(progress.get("errors", 0))


def progress_table(detail: RunDetail) -> Table:
    run = detail.run
    table = Table(title=f"{run.run_id} · {run.suite} · {run.state} · {run.samples} samples stored")
    for column in ("job", "model", "agent", "state", "now", "requests", "tok/s", "errors"):
        table.add_column(column)
    for job in detail.jobs:
        position, requests, rate, errors = _job_progress(job)
        if job.state not in ("leased", "running"):
            position, rate = job.message, "-"
        model = f"{job.model} (simulated)" if job.simulated else job.model
        table.add_row(
            job.job_id, model, job.agent or "-", job.state, position, requests, rate, errors
        )
    return table


def progress_line(detail: RunDetail) -> str:
    parts = []
    for job in detail.jobs:
        position, requests, rate, errors = _job_progress(job)
        parts.append(
            f"{job.job_id} {job.state} {position} {requests} req {rate} tok/s {errors} err"
        )
    return f"{detail.run.run_id} {detail.run.state}: " + " | ".join(parts)


def _cell(stat: MetricStat | None) -> str:
    if stat is None or stat.mean is None:
        return ""
    if stat.n > 1 and stat.std is not None:
        return f"{stat.mean:,.2f} ± {stat.std:,.2f}"
    return f"{stat.mean:,.2f}"


def job_header(job: JobResult) -> str:
    label = " [bold red]SIMULATED[/]" if job.simulated else ""
    where = f"{job.agent} · {job.hardware}" if job.agent else "not run"
    return f"[bold]{job.model}[/] on {job.engine}{label} · {where} · {job.state}"


def benchmark_tables(job: JobResult) -> list[Table]:
    tables = []
    for bench in job.benchmarks:
        headline = HEADLINE["closed_loop" if bench.kind == "closed_loop" else "open_loop"]
        title = f"{bench.id} {bench.title}".strip()
        table = Table(title=title, title_justify="left")
        table.add_column("variant")
        table.add_column("runs")
        for metric in headline:
            table.add_column(f"{metric.label}\n{metric.unit}", justify="right")
        for variant in bench.variants:
            table.add_row(
                variant.key,
                str(variant.runs),
                *[_cell(variant.metrics.get(metric.key)) for metric in headline],
            )
        if not bench.variants:
            table.add_row("no results", "", *["" for _ in headline])
        tables.append(table)
    return tables


def show_results(console: Console, results: RunResults) -> None:
    console.print(f"[bold]{results.run_id}[/] · suite {results.suite} · {results.state}")
    for note in results.notes:
        console.print(f"  note: {note}")
    for job in results.jobs:
        console.print()
        console.print(job_header(job))
        if job.message:
            console.print(f"  {job.message}")
        for table in benchmark_tables(job):
            console.print(table)
    console.print("Values are mean ± population std over runs.")
