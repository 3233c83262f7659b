"""``arenactl replicate``: run a suite again on official agents, then check the two agree."""

import sys
import time

import click

from arena.client.api import ArenaClient
from arena.client.context import client_for, console
from arena.client.output import emit, output_option
from arena.client.replicate import TOLERANCE_PCT, Difference, differences, replica_suite
from arena.common.errors import ArenaError


def _submit_replica(client: ArenaClient, run_id: str, selector: str) -> str:
    run = client.run(run_id)
    if not run.suite_yaml:
        raise ArenaError(f"{run_id} has no suite file (an imported run?): nothing to replicate")
    replica_id, _ = client.submit(replica_suite(run.suite_yaml, selector), f"replica-of-{run_id}")
    return replica_id


def _wait(client: ArenaClient, run_ids: tuple[str, ...], interval_s: float) -> None:
    while not all(client.run(run_id).finished for run_id in run_ids):
        time.sleep(interval_s)


@click.command()
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN [RUN_B]")
@click.option(
    "--on",
    "selector",
    metavar="SELECTOR",
    help="Agents to replicate on: gpu=H200,"
    "agent=NAME,cpu_arch=…,min_vram_gb=…, any other key=value is a label.",
)
@click.option("--check", is_flag=True, help="Compare two finished runs metric by metric.")
@click.option("--watch", is_flag=True, help="With --check: wait for both runs to finish first.")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(min=0.1))
@output_option()
@click.pass_context
def replicate(
    ctx: click.Context,
    run_ids: tuple[str, ...],
    selector: str | None,
    check: bool,
    watch: bool,
    interval: float,
    output: str,
) -> None:
    """Resubmit RUN's suite restricted to official agents matching --on; or, with --check
    RUN_A RUN_B, flag every metric whose means differ by more than ±2%.

    --check exits 1 when a metric is flagged.
    """
    if check == bool(selector) or len(run_ids) != (2 if check else 1):
        raise click.UsageError("use: replicate RUN --on SELECTOR, or replicate --check RUN_A RUN_B")
    with client_for(ctx) as client:
        if not check:
            replica = _submit_replica(client, run_ids[0], selector or "")
            console.print(f"{replica}: replica of {run_ids[0]} on official agents")
            console.print(f"when both are done: arenactl replicate --check {run_ids[0]} {replica}")
            return
        if watch:
            _wait(client, run_ids, interval)
        found = differences(client.results(run_ids[0]), client.results(run_ids[1]))
    emit(console, output, [_row(d) for d in found], lambda: _show(found))
    if any(d.flagged for d in found):
        sys.exit(1)


def _row(difference: Difference) -> dict[str, object]:
    return {**vars(difference), "flagged": difference.flagged}


def _show(found: list[Difference]) -> None:
    flagged = [d for d in found if d.flagged]
    for d in flagged:
        console.print(
            f"[red]±{TOLERANCE_PCT:g}% exceeded[/]  {d.model} {d.benchmark} {d.variant} "
            f"{d.metric}: {d.first:.4g} → {d.second:.4g} ({d.diff_pct:+.1f}%)",
            highlight=False,
        )
    console.print(f"{len(found) - len(flagged)} of {len(found)} metrics within ±{TOLERANCE_PCT:g}%")
