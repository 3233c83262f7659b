"""Following a run until it ends: a live table on a terminal, a line every few seconds in a
pipe, nothing but the final answer for ``-o json|yaml``."""

import time
from collections.abc import Callable

from rich.console import Console
from rich.live import Live

from arena.client import render
from arena.client.api import ArenaClient, RunDetail
from arena.client.context import fail
from arena.client.output import emit
from arena.client.tabular import results_rows
from arena.common.errors import ArenaError, UnavailableError
from arena.common.schemas.results import RunResults

INVALID_EXIT = 3
"""``submit --watch``, ``watch`` and ``bench`` exit with this when a benchmark is invalid."""


def poll(client: ArenaClient, run_id: str) -> RunDetail:
    """Ride out a controller restart while watching."""
    for delay in (0.5, 1, 2, 4, 8, 8, 8):
        try:
            return client.run(run_id)
        except UnavailableError:
            time.sleep(delay)
    return client.run(run_id)


def invalid_benchmarks(results: RunResults) -> list[str]:
    """``job/benchmark: reason`` for every benchmark the error-rate gate marked invalid."""
    return [
        f"{job.job_id}/{bench.id}: {bench.flags[0] if bench.flags else 'invalid'}"
        for job in results.jobs
        for bench in job.benchmarks
        if not bench.valid
    ]


def fail_if_invalid(results: RunResults) -> None:
    """Exit ``INVALID_EXIT`` after the results were shown, so a script sees bad numbers."""
    if invalid := invalid_benchmarks(results):
        fail(
            ArenaError(f"{len(invalid)} invalid benchmark(s): " + "; ".join(invalid)), INVALID_EXIT
        )


def watch(
    client: ArenaClient,
    console: Console,
    run_id: str,
    output: str,
    alive: Callable[[], None] = lambda: None,
) -> tuple[RunDetail, RunResults]:
    """Follow ``run_id`` to its end, print its results, and return its final state and them.

    ``alive`` raises when whatever runs the jobs is gone (``arenactl bench``'s own agent), so a
    run that can no longer move does not keep the watch waiting."""

    def refresh() -> RunDetail:
        alive()
        return poll(client, run_id)

    detail = refresh()
    if output != "table":
        while not detail.finished:
            time.sleep(1)
            detail = refresh()
    elif console.is_terminal:
        with Live(render.progress_table(detail), console=console, refresh_per_second=4) as live:
            while not detail.finished:
                time.sleep(0.5)
                detail = refresh()
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
            detail = refresh()
    results = client.results(run_id)
    emit_results(console, output, results)
    return detail, results


def emit_results(console: Console, output: str, results: RunResults) -> None:
    """A run's results as ``arenactl show`` prints them, in any output format."""
    emit(
        console,
        output,
        results,
        lambda: render.show_results(console, results),
        lambda: results_rows(results),
    )
