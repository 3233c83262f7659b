"""Tables for jobs: a suite's planned jobs, a run's jobs, and everything about one run or job."""

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arena.client.api import JobInfo, RunDetail
from arena.client.plan import Plan
from arena.client.views import view_table
from arena.common.schemas.admission import JobAdmission
from arena.common.schemas.base import ArenaModel
from arena.common.views.jobs import JOBS
from arena.common.views.view import when


class JobDescription(ArenaModel):
    """``arenactl describe JOB``: the job's state as the controller knows it, and its spec."""

    run_id: str
    suite: str
    job: JobInfo
    hardware: str | None
    benchmarks: list[str]
    provenance: dict[str, object]
    notes: list[str]


def plan_table(plan: Plan) -> Table:
    title = f"{plan.suite} ({escape(plan.file)}): {len(plan.jobs)} job(s), nothing submitted"
    table = Table(title=title, title_justify="left")
    for column in ("target", "model", "engine", "benchmarks", "runs", "requests"):
        table.add_column(column, justify="right" if column in ("runs", "requests") else "left")
    for job in plan.jobs:
        table.add_row(
            job.target,
            escape(job.model),
            f"{job.engine} ({job.runtime})",
            ", ".join(job.benchmarks),
            str(job.runs),
            f"{job.requests_expected:,}",
        )
    return table


def show_plan(console: Console, plan: Plan) -> None:
    console.print(plan_table(plan))
    if plan.admission is not None:
        console.print(admission_table(plan.admission))
    for note in plan.notes:
        console.print(f"  note: {escape(note)}", highlight=False, soft_wrap=True)


def admission_table(jobs: list[JobAdmission]) -> Table:
    """Per job: the agents that would take it, and those that match its target but whose
    owner's policy refuses it, with the reasons."""
    table = Table(title="Agents per job (their owners' policies)", title_justify="left")
    for column in ("target", "model", "runtime", "taken by", "refused by"):
        table.add_column(column)
    for job in jobs:
        refused = "\n".join(
            f"{refusal.agent}: {'; '.join(refusal.reasons)}" for refusal in job.refusing
        )
        if not job.admitting and not job.refusing:
            taken = "[yellow]no registered agent matches its target[/]"
        elif not job.admitting:
            taken = "[red]none: every matching agent refuses it[/]"
        else:
            taken = escape(", ".join(job.admitting))
        if job.unlisted:
            refused += f"\n(+{job.unlisted} more agents)"
        table.add_row(
            escape(job.target),
            escape(job.model),
            job.engine,
            taken,
            escape(refused) or "-",
        )
    return table


def jobs_table(detail: RunDetail) -> Table:
    run = detail.run
    table = view_table(
        JOBS, detail.jobs, f"Jobs of {run.run_id} · {run.suite} · {run.state}", title_left=True
    )
    return table


def _fields(console: Console, fields: list[tuple[str, object]]) -> None:
    width = max(len(name) for name, _ in fields)
    for name, value in fields:
        text = escape(str(value)) if value not in ("", None) else "-"
        console.print(f"[bold]{name + ':':<{width + 1}}[/] {text}", highlight=False, soft_wrap=True)


def describe_run(console: Console, detail: RunDetail) -> None:
    run = detail.run
    _fields(
        console,
        [
            ("Run", run.run_id),
            ("Suite", run.suite),
            ("State", run.state),
            ("Created", when(run.created_at_unix)),
            ("Jobs", f"{run.jobs_done}/{run.jobs_total} done"),
            ("Samples", run.samples),
        ],
    )
    for note in detail.notes:
        console.print(f"  note: {escape(note)}", highlight=False, soft_wrap=True)
    console.print()
    console.print(jobs_table(detail))


def describe_job(console: Console, described: JobDescription) -> None:
    job = described.job
    shown = job.progress.model_dump(exclude={"job_id", "attempt"}) if job.progress else {}
    progress = ", ".join(f"{key}={value}" for key, value in shown.items())
    _fields(
        console,
        [
            ("Job", job.job_id),
            ("Run", described.run_id),
            ("Suite", described.suite),
            ("State", job.state),
            ("Attempt", job.attempt),
            ("Agent", job.agent),
            ("Tier", job.tier),
            ("Hardware", described.hardware),
            ("Target", job.target),
            ("Model", f"{job.model} (simulated)" if job.simulated else job.model),
            ("Engine", job.engine),
            ("Requests", f"{job.samples} of {job.requests_expected} stored"),
            ("Progress", progress),
            ("Message", job.message),
            ("Benchmarks", ", ".join(described.benchmarks)),
        ],
    )
    for flag in job.flags:
        console.print(f"  [red]flag:[/] {escape(flag)}", highlight=False, soft_wrap=True)
    for key, value in described.provenance.items():
        console.print(f"  {key}: {escape(str(value))}", highlight=False, soft_wrap=True)
    for note in described.notes:
        console.print(f"  note: {escape(note)}", highlight=False, soft_wrap=True)
