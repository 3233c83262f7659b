"""Suite files in: ``validate``, ``submit`` (``--dry-run``, ``--watch``) and ``watch``."""

from pathlib import Path

import click
from rich.markup import escape

from arena.client.api import ArenaClient
from arena.client.context import client_for, console, errors
from arena.client.output import emit, output_option
from arena.client.plan import Plan, plan
from arena.client.render_jobs import show_plan
from arena.client.tabular import plan_rows
from arena.client.watching import fail_if_invalid
from arena.client.watching import watch as follow_run
from arena.common.errors import ArenaError, SuiteError
from arena.common.schemas.admission import NOBODY_ADMITS
from arena.common.suites.loader import load_suite_file

SUITE_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
CHECK_TIMEOUT_S = 10.0
"""How long ``validate`` waits for the controller before it answers without it."""


def _emit_plan(output: str, expansion: Plan) -> None:
    emit(
        console,
        output,
        expansion,
        lambda: show_plan(console, expansion),
        lambda: plan_rows(expansion),
    )


@click.command()
@click.argument("suite_file", type=SUITE_FILE)
@click.option(
    "--offline", is_flag=True, help="Do not ask the controller which agents would take it."
)
@output_option(tabular=True)
@click.pass_context
def validate(ctx: click.Context, suite_file: Path, offline: bool, output: str) -> None:
    """Check SUITE_FILE, print the jobs it expands to and, when the controller answers, which
    registered agents would take each job and which refuse it and why (their owners'
    policies).

    Exits 1 and prints every problem as file:line: field: message when the file is invalid.
    Without a controller (or with --offline) the file is still checked; a note says that
    nobody was asked.
    """
    try:
        expansion = plan(load_suite_file(suite_file), str(suite_file))
    except SuiteError as error:
        for problem in error.errors:
            errors.print(
                f"[bold red]error:[/] {escape(str(problem))}", highlight=False, soft_wrap=True
            )
        raise SystemExit(1) from None
    if not offline:
        expansion = _with_admission(ctx, suite_file, expansion)
    _emit_plan(output, expansion)


def _with_admission(ctx: click.Context, suite_file: Path, expansion: Plan) -> Plan:
    """The plan with the controller's answer on who would take each job, or a note saying
    it could not be asked."""
    try:
        with client_for(ctx) as client:
            checked = client.check_suite(
                suite_file.read_text(), str(suite_file.resolve()), timeout=CHECK_TIMEOUT_S
            )
    except ArenaError as error:
        note = f"could not ask the controller which agents would take it: {error}"
        return expansion.model_copy(update={"notes": [*expansion.notes, note]})
    return expansion.model_copy(update={"admission": checked.jobs})


@click.command()
@click.argument("suite_file", type=SUITE_FILE)
@click.option("--watch", is_flag=True, help="Follow progress until the run ends, then show it.")
@click.option("--dry-run", is_flag=True, help="Print the jobs it would create; submit nothing.")
@output_option()
@click.pass_context
def submit(ctx: click.Context, suite_file: Path, watch: bool, dry_run: bool, output: str) -> None:
    """Validate SUITE_FILE, submit it, and print the run id."""
    resolved = load_suite_file(suite_file)  # file, line and field before anything is sent
    if dry_run:
        _emit_plan(output, plan(resolved, str(suite_file)))
        return
    with client_for(ctx) as client:
        run_id, job_ids = client.submit(suite_file.read_text(), str(suite_file.resolve()))
        _warn_unadmitted(client, run_id)
        if watch:
            if output == "table":
                console.print(run_id)
            _, results = follow_run(client, console, run_id, output)
            fail_if_invalid(results)
            return
        submitted = {"run_id": run_id, "job_ids": job_ids}
        emit(console, output, submitted, lambda: console.print(run_id))


def _warn_unadmitted(client: ArenaClient, run_id: str) -> None:
    """On stderr: each submitted job that registered agents match but none admits (their
    owners' policies), so a submitter learns at once why it would wait."""
    for job in client.run(run_id).jobs:
        if NOBODY_ADMITS in job.message:
            errors.print(
                f"[yellow]warning:[/] {job.job_id} ({escape(job.model)}): {escape(job.message)}",
                highlight=False,
                soft_wrap=True,
            )


@click.command()
@click.argument("run_id")
@output_option(tabular=True)
@click.pass_context
def watch(ctx: click.Context, run_id: str, output: str) -> None:
    """Follow RUN_ID live (requests done, tokens/s, errors) until it ends, then show it."""
    with client_for(ctx) as client:
        _, results = follow_run(client, console, run_id, output)
    fail_if_invalid(results)
