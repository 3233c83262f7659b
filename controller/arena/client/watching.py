"""Following a run until it ends: a live table on a terminal, a line every few seconds in a
pipe, nothing but the final answer for ``-o json|yaml``."""

import time

from rich.console import Console
from rich.live import Live

from arena.client import render
from arena.client.api import ArenaClient, RunDetail
from arena.client.output import emit
from arena.client.tabular import results_rows
from arena.common.errors import UnavailableError


def poll(client: ArenaClient, run_id: str) -> RunDetail:
    """Ride out a controller restart while watching."""
    for delay in (0.5, 1, 2, 4, 8, 8, 8):
        try:
            return client.run(run_id)
        except UnavailableError:
            time.sleep(delay)
    return client.run(run_id)


def watch(client: ArenaClient, console: Console, run_id: str, output: str) -> RunDetail:
    """Follow ``run_id`` to its end, print its results, and return its final state."""
    detail = poll(client, run_id)
    if output != "table":
        while not detail.finished:
            time.sleep(1)
            detail = poll(client, run_id)
    elif console.is_terminal:
        with Live(render.progress_table(detail), console=console, refresh_per_second=4) as live:
            while not detail.finished:
                time.sleep(0.5)
                detail = poll(client, run_id)
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
            detail = poll(client, run_id)
    results = client.results(run_id)
    emit(
        console,
        output,
        results,
        lambda: render.show_results(console, results),
        lambda: results_rows(results),
    )
    return detail
