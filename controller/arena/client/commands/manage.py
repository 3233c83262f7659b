"""Changing things: ``cancel``, ``drain``, and results in and out (``import``, ``export``)."""

import sys
from pathlib import Path

import click

from arena.client import render
from arena.client.context import client_for, console, errors, fail_without_extra
from arena.client.export import export_run
from arena.client.output import emit, output_option
from arena.common.errors import ArenaError, AuthError, PermissionDeniedError, UnavailableError
from arena.common.parsers.result_folder import scan
from arena.common.provenance.folder import BROKEN, Verdict, folder_of, read_signed, verify


@click.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path), metavar="PATH")
@output_option()
@click.pass_context
def import_(ctx: click.Context, path: Path, output: str) -> None:
    """Import reference result folders and llm-d Benchmark Reports under PATH as runs.

    Folders hold meta.json, NN-*.md/json and telemetry; llm-d reports (schema v0.2, JSON or
    YAML) may sit anywhere under PATH, or PATH may be one report file.

    Files that cannot be read are reported and skipped; the rest still imports. Importing the
    same folder again replaces your earlier import (another user's is refused; an admin may
    replace any). A folder exported with a signed manifest is checked by the controller: signed
    by a key it recorded and every number agreeing with the signed samples, it imports as
    verified; without a manifest, or signed by a key it never recorded, as unverified (left out
    of rankings unless asked for); a broken signature or a number that disagrees is refused.
    Exits non-zero only if nothing imported.
    """
    found = scan(path)
    problems = [render.ImportProblem(file=p.file, message=p.message) for p in found.problems]
    imported: list[render.ImportedSummary] = []
    with client_for(ctx) as client:
        for run in found.runs:
            folder = folder_of(path, run.source)
            try:
                signed = read_signed(folder)
            except ValueError as error:
                signed, broken = None, Verdict(str(folder), BROKEN, problems=[str(error)])
            else:
                broken = verify(str(folder), signed, None, run)
            if broken.state == BROKEN:
                message = "provenance does not verify: " + "; ".join(broken.problems)
                problems.append(render.ImportProblem(file=run.source, message=message))
                continue
            try:
                receipt = client.import_results(run, signed)
            except PermissionDeniedError as error:  # e.g. another user's import: this one
                problems.append(render.ImportProblem(file=run.source, message=str(error)))
                continue
            except (UnavailableError, AuthError):
                raise
            except ArenaError as error:
                problems.append(render.ImportProblem(file=run.source, message=str(error)))
                continue
            imported.append(
                render.ImportedSummary.of(
                    run,
                    receipt.run_id,
                    receipt.replaced,
                    receipt.verified_by,
                    receipt.unverified_reason,
                )
            )
    report = render.ImportReport(runs=imported, problems=problems)
    emit(console, output, report, lambda: render.show_import(console, errors, report))
    if not imported:
        sys.exit(1)


@click.command()
@click.argument("run_id")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), metavar="DIR")
@click.option(
    "--parquet",
    is_flag=True,
    help="Instead: DIR/samples.parquet (one row per request) and DIR/telemetry.parquet (one "
    "row per reading), imported jobs included.",
)
@click.option(
    "--llm-d",
    "llm_d",
    is_flag=True,
    help="Instead: llm-d Benchmark Reports (schema v0.2), one per benchmark, variant and run, "
    "as DIR/<model>/<profile>/NN-<id>.<variant>.run<k>.br.json (arenactl import reads them).",
)
@output_option()
@click.pass_context
def export(
    ctx: click.Context, run_id: str, directory: Path, parquet: bool, llm_d: bool, output: str
) -> None:
    """Write RUN_ID as result folders under DIR (DIR/<model>/<profile>/) for arenactl import,
    with --llm-d as llm-d Benchmark Reports, or with --parquet its raw samples and telemetry as
    Parquet tables."""
    if parquet and llm_d:
        raise click.UsageError("--parquet and --llm-d are two formats: choose one")
    if parquet:
        try:  # pyarrow is the parquet extra
            from arena.client.parquet import export_parquet
        except ImportError as error:
            fail_without_extra(error, "parquet", "arenactl export --parquet writes with pyarrow")
    with client_for(ctx) as client:
        if parquet:
            tables = export_parquet(client, run_id, directory)
        else:
            exported = export_run(client, run_id, directory, llm_d=llm_d)
    if parquet:
        written = (
            f"{directory / 'samples.parquet'}  {tables.samples} samples\n"
            f"{directory / 'telemetry.parquet'}  {tables.telemetry} readings"
        )
        emit(console, output, vars(tables), lambda: console.print(written, highlight=False))
        return

    def show() -> None:
        for job in exported:
            where = directory / job.folder if job.folder else "-"
            console.print(f"{job.job_id}  {where}  ({len(job.files)} files)", highlight=False)
            for note in job.notes:
                console.print(f"  note: {note}", highlight=False, soft_wrap=True)

    emit(console, output, [vars(job) for job in exported], show)


@click.command()
@click.argument("run_id")
@output_option()
@click.pass_context
def cancel(ctx: click.Context, run_id: str, output: str) -> None:
    """Cancel RUN_ID: queued jobs stop at once, running ones at their agent's next heartbeat."""
    with client_for(ctx) as client:
        cancelled = client.cancel(run_id)
    emit(
        console,
        output,
        {"run_id": run_id, "jobs_cancelled": cancelled},
        lambda: console.print(f"{run_id}: {cancelled} job(s) cancelled"),
    )


@click.command()
@click.argument("agent_name")
@click.pass_context
def drain(ctx: click.Context, agent_name: str) -> None:
    """Let AGENT_NAME finish its current job and take no new one."""
    with client_for(ctx) as client:
        client.drain(agent_name)
    console.print(f"{agent_name}: draining")
