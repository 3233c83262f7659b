"""``arenactl runs`` filters, and the runs the views across results read. The controller lists
recent runs only, so filtering happens here, over a window of the most recent ``SCAN_RUNS``
runs."""

import fnmatch
import re
import time

import click

from arena.client.api import ArenaClient, RunInfo
from arena.common.schemas.results import JobResult, RunResults
from arena.common.schemas.trust import TrustTier

SCAN_RUNS = 1000
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def stored_results(client: ArenaClient, run_ids: tuple[str, ...] = ()) -> list[RunResults]:
    """The results of ``run_ids``, or of the last ``SCAN_RUNS`` runs, measured and imported."""
    chosen = run_ids or tuple(run.run_id for run in client.runs(SCAN_RUNS))
    return [client.results(run_id) for run_id in chosen]


def parse_age(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """``--since``: a duration such as ``90s``, ``30m``, ``2h``, ``1d`` or ``1w``, in seconds."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", value)
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration like 90s, 30m, 2h, 1d or 1w")
    return float(match.group(1)) * _UNITS[match.group(2)]


def select_runs(
    runs: list[RunInfo],
    *,
    states: tuple[str, ...] = (),
    suite: str | None = None,
    since_s: float | None = None,
    limit: int,
    now: float | None = None,
) -> list[RunInfo]:
    """Runs in any of ``states``, whose suite matches the ``suite`` glob, created within
    ``since_s``; newest first, at most ``limit``."""
    oldest = None if since_s is None else (now or time.time()) - since_s
    kept = [
        run
        for run in runs
        if (not states or run.state in states)
        and (suite is None or fnmatch.fnmatchcase(run.suite, suite))
        and (oldest is None or run.created_at_unix >= oldest)
    ]
    return kept[:limit]


tier_option = click.option(
    "--tier",
    type=click.Choice([tier.value for tier in TrustTier]),
    help="Only jobs run by agents of this trust tier (imported results have none).",
)


def in_tier(job: JobResult, tier: str | None) -> bool:
    return tier is None or job.tier == tier


def keep_tier(results: RunResults, tier: str | None) -> RunResults:
    """The run with only the jobs of ``tier`` (all of them when None)."""
    if tier is None:
        return results
    return results.model_copy(update={"jobs": [j for j in results.jobs if j.tier == tier]})
