"""Reading the controller: ``runs``, ``jobs``, ``describe``, ``show``, ``agents`` and ``logs``."""

import click

from arena.client.api import ArenaClient, RunDetail
from arena.client.context import client_for, console, errors
from arena.client.filters import SCAN_RUNS, keep_tier, parse_age, select_runs, tier_option
from arena.client.follow import follow_logs
from arena.client.lazy import LazyCommand, LazyGroup
from arena.client.output import emit, output_option
from arena.client.render_jobs import JobDescription, describe_job, describe_run, jobs_table
from arena.client.tabular import jobs_rows
from arena.client.views import view_rows, view_table
from arena.client.watching import emit_results
from arena.common.errors import NotFoundError
from arena.common.schemas.run import RunState
from arena.common.text import printable
from arena.common.views.agents import AGENTS
from arena.common.views.runs import RUNS


@click.command()
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([state.value for state in RunState]),
    help="Only runs in this state (repeatable).",
)
@click.option("--suite", metavar="GLOB", help="Only runs of this suite name, e.g. 'arena-*'.")
@click.option(
    "--since", callback=parse_age, metavar="AGE", help="Only runs created within AGE: 2h, 1d."
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, SCAN_RUNS))
@output_option(tabular=True)
@click.pass_context
def runs(
    ctx: click.Context,
    states: tuple[str, ...],
    suite: str | None,
    since: float | None,
    limit: int,
    output: str,
) -> None:
    """List recent runs, newest first."""
    filtered = bool(states or suite or since is not None)
    with client_for(ctx) as client:
        found = client.runs(max(limit, SCAN_RUNS) if filtered else limit)
    found = select_runs(found, states=states, suite=suite, since_s=since, limit=limit)
    emit(
        console,
        output,
        found,
        lambda: console.print(view_table(RUNS, found, "Runs")),
        lambda: view_rows(RUNS, found),
    )


@click.command()
@click.argument("run_id")
@output_option(tabular=True)
@click.pass_context
def jobs(ctx: click.Context, run_id: str, output: str) -> None:
    """List the jobs of RUN_ID: target, model, engine, state, attempt, agent, requests."""
    with client_for(ctx) as client:
        detail = client.run(run_id)
    emit(
        console,
        output,
        detail.jobs,
        lambda: console.print(jobs_table(detail)),
        lambda: jobs_rows(detail),
    )


def _describe_job(client: ArenaClient, job_id: str) -> JobDescription:
    detail = client.job(job_id)
    run_id, job = detail.run_id, detail.job
    results = client.results(run_id)
    result = next(found for found in results.jobs if found.job_id == job_id)
    return JobDescription(
        run_id=run_id,
        suite=results.suite,
        job=job,
        hardware=result.hardware,
        benchmarks=[bench.id for bench in result.benchmarks],
        provenance=result.provenance,
        notes=results.notes,
    )


def _run_or_none(client: ArenaClient, run_id: str) -> RunDetail | None:
    """The run; None when there is none and the id may name a job."""
    if run_id.startswith("job-"):
        return None
    try:
        return client.run(run_id)
    except NotFoundError:
        if run_id.startswith("run-"):
            raise
        return None


@click.command()
@click.argument("run_or_job_id", metavar="RUN|JOB")
@output_option()
@click.pass_context
def describe(ctx: click.Context, run_or_job_id: str, output: str) -> None:
    """Everything about one run or one job: state, attempts, agent, progress, notes, spec."""
    with client_for(ctx) as client:
        detail = _run_or_none(client, run_or_job_id)
        described = _describe_job(client, run_or_job_id) if detail is None else None
    if detail is not None:
        emit(console, output, detail, lambda: describe_run(console, detail))
    elif described is not None:
        emit(console, output, described, lambda: describe_job(console, described))


@click.command()
@click.argument("run_id")
@tier_option
@output_option(tabular=True)
@click.pass_context
def show(ctx: click.Context, run_id: str, tier: str | None, output: str) -> None:
    """Per benchmark: mean ± std over runs of the headline metrics, with units."""
    with client_for(ctx) as client:
        results = keep_tier(client.results(run_id), tier)
    emit_results(console, output, results)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    lazy_commands={
        "revoke": LazyCommand(
            "arena.client.commands.access:revoke_agent",
            "Refuse agent NAME from its next call on; its running job is requeued (admin).",
        ),
        "trust": LazyCommand(
            "arena.client.commands.provenance:trust",
            "Mark AGENT_NAME's results official (the operator's own box) or community.",
        ),
        "reset-key": LazyCommand(
            "arena.client.commands.provenance:reset_key",
            (
                "Forget AGENT_NAME's signing key: its next registration binds the key it brings "
                "(after a reinstall)."
            ),
        ),
    },
)
@output_option(tabular=True)
@click.pass_context
def agents(ctx: click.Context, output: str) -> None:
    """List agents with their hardware, status and trust tier; subcommands revoke one, set its
    tier or reset its signing key."""
    if ctx.invoked_subcommand is not None:
        return
    with client_for(ctx) as client:
        found = client.agents()
    emit(
        console,
        output,
        found,
        lambda: console.print(view_table(AGENTS, found, "Agents")),
        lambda: view_rows(AGENTS, found),
    )


@click.command()
@click.argument("job_id")
@click.option("--tail", default=0, type=click.IntRange(min=0), help="Only the last N lines.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until the job ends.")
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help="Seconds between polls (-f).",
)
@click.pass_context
def logs(ctx: click.Context, job_id: str, tail: int, follow: bool, interval: float) -> None:
    """Print the engine log of JOB_ID (its current attempt), as the agent streamed it."""
    try:
        with client_for(ctx) as client:
            if follow:
                follow_logs(client, job_id, _line, _note, tail=tail, interval_s=interval)
                return
            lines = client.logs(job_id, tail)
    except KeyboardInterrupt:
        return
    for line in lines:
        _line(line)


def _line(text: str) -> None:
    """An engine's line, whose control characters (an escape sequence) are shown, not obeyed."""
    click.echo(printable(text, multiline=True))


def _note(text: str) -> None:
    errors.print(text, highlight=False)
