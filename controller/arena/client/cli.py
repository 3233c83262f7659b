"""arenactl commands. Each validates its input, calls ArenaClient once, and renders the answer.

Controller address and token: ``--controller``/``--token`` flags, then ``ARENACTL_CONTROLLER``/
``ARENACTL_TOKEN``, then the TOML file (``--config`` or ``ARENACTL_CONFIG_FILE``, default
``~/.config/arena/arenactl.toml``), then the loopback defaults.
"""

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic_settings import SettingsConfigDict
from rich.console import Console
from rich.live import Live

from arena.client import render
from arena.client.api import ArenaClient, RunDetail
from arena.client.compare import compare, comparison_table
from arena.client.export import export_run
from arena.common.errors import ArenaError, AuthError, SuiteError, UnavailableError
from arena.common.logging import configure_logging
from arena.common.parsers.result_folder import scan
from arena.common.settings import DEV_USER_TOKEN, ArenaSettings
from arena.common.suites.loader import load_suite_file

DEFAULT_CONFIG = Path("~/.config/arena/arenactl.toml").expanduser()
F = TypeVar("F", bound=Callable[..., Any])


class CtlSettings(ArenaSettings):
    model_config = SettingsConfigDict(env_prefix="ARENACTL_", extra="forbid")

    controller: str = "127.0.0.1:50051"
    token: str = DEV_USER_TOKEN


console = Console(width=None if Console().is_terminal else 200)  # pipes and CI get wide tables
errors = Console(stderr=True)


def _client(ctx: click.Context) -> ArenaClient:
    flags = {k: v for k, v in ctx.obj.items() if v is not None}
    if "config_file" not in flags and DEFAULT_CONFIG.exists():
        flags["config_file"] = DEFAULT_CONFIG
    settings = CtlSettings(**flags)
    return ArenaClient(settings.controller, settings.token)


def _fail(error: ArenaError) -> None:
    errors.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
    sys.exit(2 if isinstance(error, SuiteError) else 1)


def _output_option(command: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["table", "json"]),
        default="table",
        help="json prints machine-readable output.",
    )(command)


@click.group()
@click.option("--controller", help="Controller address host:port [ARENACTL_CONTROLLER]")
@click.option("--token", help="User token [ARENACTL_TOKEN]")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML file with controller and token [ARENACTL_CONFIG_FILE]",
)
@click.pass_context
def cli(ctx: click.Context, /, **flags: Any) -> None:
    """Submit benchmark suites to an Arena controller and read the results."""
    configure_logging("warning")
    ctx.obj = flags


@cli.command()
@click.argument("suite_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--watch", is_flag=True, help="Follow progress until the run ends, then show it.")
@_output_option
@click.pass_context
def submit(ctx: click.Context, suite_file: Path, watch: bool, output: str) -> None:
    """Validate SUITE_FILE, submit it, and print the run id."""
    try:
        load_suite_file(suite_file)  # errors with file, line and field before anything is sent
        with _client(ctx) as client:
            run_id, job_ids = client.submit(suite_file.read_text(), str(suite_file.resolve()))
            if output == "json" and not watch:
                console.print_json(data={"run_id": run_id, "job_ids": job_ids})
                return
            if output == "table":
                console.print(run_id)
            if watch:
                _watch(client, run_id, output)
    except ArenaError as error:
        _fail(error)


@cli.command()
@click.argument("run_id")
@_output_option
@click.pass_context
def watch(ctx: click.Context, run_id: str, output: str) -> None:
    """Follow RUN_ID live (requests done, tokens/s, errors) until it ends, then show it."""
    try:
        with _client(ctx) as client:
            _watch(client, run_id, output)
    except ArenaError as error:
        _fail(error)


def _poll(client: ArenaClient, run_id: str) -> RunDetail:
    """Ride out a controller restart while watching."""
    for delay in (0.5, 1, 2, 4, 8, 8, 8):
        try:
            return client.run(run_id)
        except UnavailableError:
            time.sleep(delay)
    return client.run(run_id)


def _watch(client: ArenaClient, run_id: str, output: str) -> None:
    detail = _poll(client, run_id)
    if output == "json":
        while not detail.finished:
            time.sleep(1)
            detail = _poll(client, run_id)
        render.emit_json(console, client.results(run_id))
        return
    if console.is_terminal:
        with Live(render.progress_table(detail), console=console, refresh_per_second=4) as live:
            while not detail.finished:
                time.sleep(0.5)
                detail = _poll(client, run_id)
                live.update(render.progress_table(detail))
    else:
        last, printed_at = "", 0.0
        while True:
            line = render.progress_line(detail)
            if line != last and time.monotonic() - printed_at > 5 or detail.finished:
                console.print(line, highlight=False, soft_wrap=True)
                last, printed_at = line, time.monotonic()
            if detail.finished:
                break
            time.sleep(1)
            detail = _poll(client, run_id)
    render.show_results(console, client.results(run_id))


@cli.command()
@click.option("--limit", default=50, show_default=True)
@_output_option
@click.pass_context
def runs(ctx: click.Context, limit: int, output: str) -> None:
    """List recent runs."""
    try:
        with _client(ctx) as client:
            found = client.runs(limit)
    except ArenaError as error:
        _fail(error)
    if output == "json":
        render.emit_json(console, found)
    else:
        console.print(render.runs_table(found))


@cli.command()
@click.argument("run_id")
@_output_option
@click.pass_context
def show(ctx: click.Context, run_id: str, output: str) -> None:
    """Per benchmark: mean ± std over runs of the headline metrics, with units."""
    try:
        with _client(ctx) as client:
            results = client.results(run_id)
    except ArenaError as error:
        _fail(error)
    if output == "json":
        render.emit_json(console, results)
    else:
        render.show_results(console, results)


@cli.command("compare")
@click.argument("run_ids", nargs=-1, required=True)
@_output_option
@click.pass_context
def compare_runs(ctx: click.Context, run_ids: tuple[str, ...], output: str) -> None:
    """The benchmarks common to RUN_IDS side by side: one model across hardware, or engines."""
    if len(run_ids) < 2:
        raise click.UsageError("compare needs at least two run ids")
    try:
        with _client(ctx) as client:
            comparison = compare([client.results(run_id) for run_id in run_ids])
    except (ArenaError, ValueError) as error:
        _fail(error if isinstance(error, ArenaError) else ArenaError(str(error)))
    if output == "json":
        render.emit_json(console, comparison)
    else:
        console.print(comparison_table(comparison))


@cli.command()
@_output_option
@click.pass_context
def agents(ctx: click.Context, output: str) -> None:
    """List agents with their hardware and status."""
    try:
        with _client(ctx) as client:
            found = client.agents()
    except ArenaError as error:
        _fail(error)
    if output == "json":
        render.emit_json(console, found)
    else:
        console.print(render.agents_table(found))


@cli.command("import")
@click.argument(
    "path", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="PATH"
)
@_output_option
@click.pass_context
def import_(ctx: click.Context, path: Path, output: str) -> None:
    """Import reference result folders under PATH (meta.json, NN-*.md/json, telemetry) as runs.

    Files that cannot be read are reported and skipped; the rest still imports. Importing the
    same folder again replaces the earlier import. Exits non-zero only if nothing imported.
    """
    found = scan(path)
    problems = [render.ImportProblem(file=p.file, message=p.message) for p in found.problems]
    imported: list[render.ImportedSummary] = []
    try:
        with _client(ctx) as client:
            for run in found.runs:
                try:
                    run_id, replaced = client.import_results(run)
                except (UnavailableError, AuthError):
                    raise
                except ArenaError as error:
                    problems.append(render.ImportProblem(file=run.source, message=str(error)))
                    continue
                imported.append(render.ImportedSummary.of(run, run_id, replaced))
    except ArenaError as error:
        _fail(error)
    report = render.ImportReport(runs=imported, problems=problems)
    if output == "json":
        render.emit_json(console, report)
    else:
        render.show_import(console, errors, report)
    if not imported:
        sys.exit(1)


@cli.command()
@click.argument("run_id")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), metavar="DIR")
@_output_option
@click.pass_context
def export(ctx: click.Context, run_id: str, directory: Path, output: str) -> None:
    """Write RUN_ID as result folders under DIR (DIR/<model>/<profile>/) for arenactl import."""
    try:
        with _client(ctx) as client:
            exported = export_run(client, run_id, directory)
    except ArenaError as error:
        _fail(error)
    if output == "json":
        console.print_json(data=[vars(job) for job in exported])
        return
    for job in exported:
        where = directory / job.folder if job.folder else "-"
        console.print(f"{job.job_id}  {where}  ({len(job.files)} files)", highlight=False)
        for note in job.notes:
            console.print(f"  note: {note}", highlight=False, soft_wrap=True)


@cli.command()
@click.argument("run_id")
@_output_option
@click.pass_context
def cancel(ctx: click.Context, run_id: str, output: str) -> None:
    """Cancel RUN_ID: queued jobs stop at once, running ones at their agent's next heartbeat."""
    try:
        with _client(ctx) as client:
            cancelled = client.cancel(run_id)
    except ArenaError as error:
        _fail(error)
    if output == "json":
        console.print_json(data={"run_id": run_id, "jobs_cancelled": cancelled})
    else:
        console.print(f"{run_id}: {cancelled} job(s) cancelled")


@cli.command()
@click.argument("job_id")
@click.option("--tail", default=0, help="Only the last N lines.")
@click.pass_context
def logs(ctx: click.Context, job_id: str, tail: int) -> None:
    """Print the engine log of JOB_ID (its current attempt), as the agent streamed it."""
    try:
        with _client(ctx) as client:
            lines = client.logs(job_id, tail)
    except ArenaError as error:
        _fail(error)
    for line in lines:
        click.echo(line)


@cli.command()
@click.argument("agent_name")
@click.pass_context
def drain(ctx: click.Context, agent_name: str) -> None:
    """Let AGENT_NAME finish its current job and take no new one."""
    try:
        with _client(ctx) as client:
            client.drain(agent_name)
    except ArenaError as error:
        _fail(error)
    console.print(f"{agent_name}: draining")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
