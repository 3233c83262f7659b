"""Suite files in: ``validate``, ``submit`` (``--dry-run``, ``--watch``) and ``watch``."""

from pathlib import Path

import click
from rich.markup import escape

from arena.client.context import client_for, console, errors, fail
from arena.client.output import emit, output_option
from arena.client.plan import Plan, plan
from arena.client.render_jobs import show_plan
from arena.client.tabular import plan_rows
from arena.client.watching import fail_if_invalid
from arena.client.watching import watch as follow_run
from arena.common.errors import ArenaError, SuiteError
from arena.common.suites.loader import load_suite_file

SUITE_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


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
@output_option(tabular=True)
def validate(suite_file: Path, output: str) -> None:
    """Check SUITE_FILE and print the jobs it expands to, without a controller.

    Exits 1 and prints every problem as file:line: field: message when the file is invalid.
    """
    try:
        expansion = plan(load_suite_file(suite_file), str(suite_file))
    except SuiteError as error:
        for problem in error.errors:
            errors.print(
                f"[bold red]error:[/] {escape(str(problem))}", highlight=False, soft_wrap=True
            )
        raise SystemExit(1) from None
    _emit_plan(output, expansion)


@click.command()
@click.argument("suite_file", type=SUITE_FILE)
@click.option("--watch", is_flag=True, help="Follow progress until the run ends, then show it.")
@click.option("--dry-run", is_flag=True, help="Print the jobs it would create; submit nothing.")
@output_option()
@click.pass_context
def submit(ctx: click.Context, suite_file: Path, watch: bool, dry_run: bool, output: str) -> None:
    """Validate SUITE_FILE, submit it, and print the run id."""
    try:
        resolved = load_suite_file(suite_file)  # file, line and field before anything is sent
        if dry_run:
            _emit_plan(output, plan(resolved, str(suite_file)))
            return
        with client_for(ctx) as client:
            run_id, job_ids = client.submit(suite_file.read_text(), str(suite_file.resolve()))
            if watch:
                if output == "table":
                    console.print(run_id)
                _, results = follow_run(client, console, run_id, output)
                fail_if_invalid(results)
                return
            submitted = {"run_id": run_id, "job_ids": job_ids}
            emit(console, output, submitted, lambda: console.print(run_id))
    except ArenaError as error:
        fail(error)


@click.command()
@click.argument("run_id")
@output_option(tabular=True)
@click.pass_context
def watch(ctx: click.Context, run_id: str, output: str) -> None:
    """Follow RUN_ID live (requests done, tokens/s, errors) until it ends, then show it."""
    try:
        with client_for(ctx) as client:
            _, results = follow_run(client, console, run_id, output)
        fail_if_invalid(results)
    except ArenaError as error:
        fail(error)
