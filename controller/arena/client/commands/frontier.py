"""Reading capacity off results: ``capacity`` (rate under p95-TTFT limits, and concurrent
agents within SLO tiers) and ``pareto`` (throughput against per-user speed, frontier marked)."""

import click
from rich.markup import escape
from rich.table import Table

from arena.client.context import client_for, console
from arena.client.filters import stored_results
from arena.client.output import emit, output_option
from arena.client.views import view_rows, view_table
from arena.common.analysis.agent_capacity import AgentCapacityRow, agent_capacity_rows
from arena.common.analysis.capacity import capacity_rows
from arena.common.analysis.pareto import pareto_points
from arena.common.metrics.validity import MAX_ERROR_RATE
from arena.common.schemas.results import RunResults
from arena.common.views.frontier import (
    AGENT_CAPACITY,
    CAPACITY,
    PARETO,
    agent_notes,
    shown_order,
)

HARDWARE = click.option(
    "--hardware", metavar="SUBSTR", help="Only jobs whose hardware name contains SUBSTR."
)

CAPACITY_TITLE = "Capacity under p95 TTFT limits (configured steps, no interpolation)"
AGENT_TITLE = (
    "Capacity in concurrent agents within each SLO tier (measured steps, no interpolation)"
)
PARETO_TITLE = "Output tokens/s against tokens/s per user (★ frontier)"


@click.command()
@click.argument("run_ids", nargs=-1, metavar="[RUN_ID]...")
@HARDWARE
@click.option(
    "--agents",
    is_flag=True,
    help="Only the session benchmarks' capacity in concurrent agents (what -o json, csv and md "
    "print then).",
)
@click.option(
    "--include-unverified",
    is_flag=True,
    help="Give unverified imports' session benchmarks a capacity too (no signature vouches "
    "for their numbers).",
)
@output_option(tabular=True)
@click.pass_context
def capacity(
    ctx: click.Context,
    run_ids: tuple[str, ...],
    hardware: str | None,
    agents: bool,
    include_unverified: bool,
    output: str,
) -> None:
    """Highest rate whose p95 TTFT stays under 2, 5 and 10 s, per job with a rate sweep
    (default: every run that has one): imported sweeps' published table beside measured ones.
    Then, per session benchmark and SLO tier, the most concurrent agents (or sessions/s) a
    measured step served within the tier, per box, per GPU and per kW. ``-o json|csv|md``
    print the rate sweeps' rows, or with ``--agents`` the agents' rows. An unverified import's
    agents are listed with status ``unverified`` and no capacity unless ``--include-unverified``.

    A measured step with more than the default error-rate gate (10 %) of failed requests is
    left out: the controller's configured gate is not sent with the results."""
    results = _results(ctx, run_ids)
    agent_rows = agent_capacity_rows(results, hardware, include_unverified)
    if agents:
        emit(
            console,
            output,
            agent_rows,
            lambda: console.print(_agent_table(agent_rows)),
            lambda: view_rows(AGENT_CAPACITY, agent_rows),
        )
        return
    rows = capacity_rows(results, MAX_ERROR_RATE, hardware)

    def show() -> None:
        console.print(view_table(CAPACITY, rows, CAPACITY_TITLE))
        if agent_rows:
            console.print(_agent_table(agent_rows))

    emit(console, output, rows, show, lambda: view_rows(CAPACITY, rows))


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


def _agent_table(rows: list[AgentCapacityRow]) -> Table:
    """The agents' listing, its notes once under it (every tier of a benchmark shares them)."""
    table = view_table(AGENT_CAPACITY, rows, AGENT_TITLE)
    table.caption = escape("\n".join(agent_notes(rows))) or None
    table.caption_justify = "left"
    return table


def _results(ctx: click.Context, run_ids: tuple[str, ...]) -> list[RunResults]:
    with client_for(ctx) as client:
        return stored_results(client, run_ids)
