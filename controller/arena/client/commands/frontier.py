"""Reading capacity off results: ``capacity`` (rate under p95-TTFT limits) and ``pareto``
(throughput against per-user speed, frontier marked)."""

import click

from arena.client.context import client_for, console
from arena.client.filters import stored_results
from arena.client.output import emit, output_option
from arena.client.views import view_rows, view_table
from arena.common.analysis.capacity import capacity_rows
from arena.common.analysis.pareto import pareto_points
from arena.common.metrics.validity import MAX_ERROR_RATE
from arena.common.schemas.results import RunResults
from arena.common.views.frontier import CAPACITY, PARETO, shown_order

HARDWARE = click.option(
    "--hardware", metavar="SUBSTR", help="Only jobs whose hardware name contains SUBSTR."
)

CAPACITY_TITLE = "Capacity under p95 TTFT limits (configured steps, no interpolation)"
PARETO_TITLE = "Output tokens/s against tokens/s per user (★ frontier)"


@click.command()
@click.argument("run_ids", nargs=-1, metavar="[RUN_ID]...")
@HARDWARE
@output_option(tabular=True)
@click.pass_context
def capacity(
    ctx: click.Context, run_ids: tuple[str, ...], hardware: str | None, output: str
) -> None:
    """Highest rate whose p95 TTFT stays under 2, 5 and 10 s, per job with a rate sweep
    (default: every run that has one): imported sweeps' published table beside measured ones.

    A measured step with more than the default error-rate gate (10 %) of failed requests is
    left out: the controller's configured gate is not sent with the results."""
    rows = capacity_rows(_results(ctx, run_ids), MAX_ERROR_RATE, hardware)
    emit(
        console,
        output,
        rows,
        lambda: console.print(view_table(CAPACITY, rows, CAPACITY_TITLE)),
        lambda: view_rows(CAPACITY, rows),
    )


@click.command()
@click.argument("run_ids", nargs=-1, metavar="[RUN_ID]...")
@click.option("--benchmark", metavar="ID", help="Only this benchmark, e.g. 06-concurrency-stress.")
@HARDWARE
@output_option(tabular=True)
@click.pass_context
def pareto(
    ctx: click.Context,
    run_ids: tuple[str, ...],
    benchmark: str | None,
    hardware: str | None,
    output: str,
) -> None:
    """Total output tokens/s against tokens/s per user, per job and concurrency or rate
    (default: every run), frontier marked per benchmark."""
    points = pareto_points(_results(ctx, run_ids), benchmark, hardware)
    emit(
        console,
        output,
        points,
        lambda: console.print(view_table(PARETO, shown_order(points), PARETO_TITLE)),
        lambda: view_rows(PARETO, points),
    )


def _results(ctx: click.Context, run_ids: tuple[str, ...]) -> list[RunResults]:
    with client_for(ctx) as client:
        return stored_results(client, run_ids)
