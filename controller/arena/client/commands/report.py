"""``arenactl report``: stored results as one self-contained HTML file
(``arena.client.report``)."""

import sys
from pathlib import Path

import click

from arena.client.commands.analysis import load_models
from arena.client.context import client_for, errors, fail_without_extra
from arena.common.errors import NotFoundError


@click.command()
@click.argument("run_ids", nargs=-1, metavar="[RUN_ID]...")
@click.option("--model", help="Only models whose name contains this (case-insensitive).")
@click.option("--hardware", help="Only hardware whose name contains this.")
@click.option("--benchmark", help="Only benchmark ids containing this, e.g. 'chat'.")
@click.option(
    "--models",
    "models_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML of quality scores and memory footprints for the ranking (examples/models.yaml).",
)
@click.option(
    "--include-unverified",
    is_flag=True,
    help="Rank unverified imports too (no signature vouches for their numbers).",
)
@click.option(
    "-o",
    "--output",
    "path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="Where to write the HTML file.",
)
@click.pass_context
def report(
    ctx: click.Context,
    run_ids: tuple[str, ...],
    model: str | None,
    hardware: str | None,
    benchmark: str | None,
    models_file: Path | None,
    include_unverified: bool,
    path: Path,
) -> None:
    """Write one self-contained HTML report (opens offline) of the given runs, or of every
    recent run: throughput, latency CDFs, Pareto front, capacity, telemetry, hardware compare,
    rankings and the provenance of every number (docs/report.md)."""
    # imported here: plotly and the report's modules take a second to import, which no other
    # arenactl command should pay, and they are the report extra
    try:
        from arena.client.report.build import build
        from arena.client.report.fetch import Selection, fetch
        from arena.client.report.write import write
    except ImportError as error:
        fail_without_extra(error, "report", "arenactl report draws plotly figures into a page")

    models = load_models(models_file)
    selection = Selection(
        run_ids=list(run_ids), model=model, hardware=hardware, benchmark=benchmark
    )
    with client_for(ctx) as client:
        data = fetch(client, selection, lambda line: errors.print(line, highlight=False))
    if not data.results:
        raise NotFoundError(f"no results match: {selection.describe()}")
    size = write(build(data, models, include_unverified), path, ["arenactl", *sys.argv[1:]])
    jobs = sum(len(run.jobs) for run in data.results)
    click.echo(f"wrote {path} ({size / 1e6:.1f} MB): {len(data.results)} run(s), {jobs} job(s)")
