"""Reading across runs: ``aggregate`` (every stored run of the same thing pooled), ``rank``
(the reference presets) and ``compare`` (jobs side by side). The computation is
``arena.common.analysis``; this is fetch and show."""

from collections.abc import Callable
from pathlib import Path

import click

from arena.client.api import ArenaClient
from arena.client.compare import comparison_rows, show_comparison
from arena.client.context import client_for, console
from arena.client.filters import in_tier, keep_tier, stored_results, tier_option
from arena.client.output import Rows, emit, output_option
from arena.client.views import view_rows, view_table
from arena.common.analysis.aggregate import AggregateRow, aggregate
from arena.common.analysis.compare import compare
from arena.common.analysis.cost import (
    DEFAULT_PER_USER_TPS,
    check_per_user_tps,
    check_price,
    entry_costs,
)
from arena.common.analysis.rank import (
    PRESETS,
    ModelInfo,
    Ranking,
    parse_weights,
    rank,
    read_models,
)
from arena.common.analysis.selection import contains
from arena.common.errors import InvalidRequestError
from arena.common.schemas.results import JobResult
from arena.common.views.aggregate import AGGREGATE
from arena.common.views.rank import NOT_RANKED, RANKING, RankRow

SCOPE = (
    click.option("--model", help="Only models whose name contains this (case-insensitive)."),
    click.option("--hardware", help="Only hardware whose name contains this."),
)


def stored_jobs(client: ArenaClient) -> list[JobResult]:
    """Every job of the last ``SCAN_RUNS`` runs, measured and imported alike."""
    return [job for results in stored_results(client) for job in results.jobs]


INCLUDE_UNVERIFIED = click.option(
    "--include-unverified",
    is_flag=True,
    help="Pool and rank unverified imports too (no signature vouches for their numbers).",
)


def _jobs(
    ctx: click.Context, model: str | None, hardware: str | None, tier: str | None
) -> list[JobResult]:
    with client_for(ctx) as client:
        jobs = stored_jobs(client)
    return [
        j
        for j in jobs
        if contains(j.model, model) and contains(j.hardware, hardware) and in_tier(j, tier)
    ]


def _rows(
    ctx: click.Context,
    model: str | None,
    hardware: str | None,
    tier: str | None = None,
    include_unverified: bool = False,
) -> list[AggregateRow]:
    return aggregate(_jobs(ctx, model, hardware, tier), include_unverified)


def _aggregate_table(rows: list[AggregateRow]) -> None:
    console.print(view_table(AGGREGATE, rows, "Across runs: tokens/s, mean ± std"))


@click.command("aggregate")
@SCOPE[0]
@SCOPE[1]
@click.option("--benchmark", help="Only benchmark ids containing this, e.g. 'chat'.")
@tier_option
@INCLUDE_UNVERIFIED
@output_option(tabular=True)
@click.pass_context
def aggregate_cmd(
    ctx: click.Context,
    model: str | None,
    hardware: str | None,
    benchmark: str | None,
    tier: str | None,
    include_unverified: bool,
    output: str,
) -> None:
    """Pool every stored run of each model × profile × engine × hardware × variant
    (unverified imports on rows of their own unless --include-unverified)."""
    rows = _rows(ctx, model, hardware, tier, include_unverified)
    rows = [r for r in rows if contains(r.benchmark, benchmark)]
    emit(console, output, rows, lambda: _aggregate_table(rows), lambda: view_rows(AGGREGATE, rows))


def _weights(
    _: click.Context, __: click.Parameter, text: str | None
) -> tuple[float, float, float] | None:
    if text is None:
        return None
    try:
        return parse_weights(text)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _checked(check: Callable[[float], float]) -> Callable[..., float | None]:
    """A click callback refusing a number ``check`` refuses, with its rule as the message."""

    def callback(_: click.Context, __: click.Parameter, value: float | None) -> float | None:
        if value is None:
            return None
        try:
            return check(value)
        except ValueError as error:
            raise click.BadParameter(str(error)) from None

    return callback


def load_models(path: Path | None) -> dict[str, ModelInfo]:
    """The ``--models`` file: ``models: {name or name@profile: {memory_gb, quality}}``."""
    if path is None:
        return {}
    try:
        return read_models(path)
    except ValueError as error:
        raise InvalidRequestError(str(error)) from None


def ranking_rows(ranking: Ranking) -> Rows:
    rows: list[RankRow] = [*ranking.ranked, *ranking.excluded]
    return view_rows(RANKING, rows)


def _ranking_table(ranking: Ranking) -> None:
    wq, wg, we = ranking.weights
    shared = ranking.ranked[0].benchmarks if ranking.ranked else []
    on = f"on {len(shared)} shared: {', '.join(shared)}" if ranking.benchmark is None else ""
    title = (
        f"{ranking.preset} ({ranking.benchmark or on or 'every benchmark'}): "
        f"Q/G/E {wq:g}/{wg:g}/{we:g}; # = tied where rank 95 % intervals overlap"
    )
    console.print(view_table(RANKING, ranking.ranked, title))
    if ranking.excluded:
        console.print(view_table(NOT_RANKED, ranking.excluded, "Not ranked"))


@click.command("rank")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="aggregate", show_default=True)
@click.option("--weights", callback=_weights, metavar="Q,G,E", help="Own weights, e.g. 50,40,10.")
@SCOPE[0]
@SCOPE[1]
@click.option(
    "--models",
    "models_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML of quality scores and memory footprints (examples/models.yaml).",
)
@click.option(
    "--gpu-hour-price",
    type=float,
    callback=_checked(check_price),
    metavar="USD",
    help="Your price per GPU-hour: shows cost per million output tokens at --per-user-tps.",
)
@click.option(
    "--per-user-tps",
    type=float,
    default=DEFAULT_PER_USER_TPS,
    show_default=True,
    callback=_checked(check_per_user_tps),
    help="Tokens/s each user must see: cost and tok/kWh are read at the highest-throughput "
    "point that still gives this.",
)
@tier_option
@INCLUDE_UNVERIFIED
@output_option(tabular=True)
@click.pass_context
def rank_cmd(
    ctx: click.Context,
    preset: str,
    weights: tuple[float, float, float] | None,
    model: str | None,
    hardware: str | None,
    models_file: Path | None,
    gpu_hour_price: float | None,
    per_user_tps: float,
    tier: str | None,
    include_unverified: bool,
    output: str,
) -> None:
    """Rank model × profile × engine × hardware with a reference preset (no latency gate).

    Scores are read on the benchmarks every ranked entry shares (the others listed as
    missing); each rank carries its 95 % interval from 1000 seeded resamplings, and
    neighbours whose intervals overlap are tied ("=2"). Unverified imports (no valid signature
    by a key the controller recorded) are listed as not ranked unless --include-unverified."""
    models = load_models(models_file)
    jobs = _jobs(ctx, model, hardware, tier)
    rows = aggregate(jobs, include_unverified)
    costs = entry_costs(jobs, preset, per_user_tps, gpu_hour_price, include_unverified)
    ranking = rank(rows, preset, models, weights, costs)
    emit(console, output, ranking, lambda: _ranking_table(ranking), lambda: ranking_rows(ranking))


@click.command("compare")
@click.argument("run_ids", nargs=-1, metavar="[RUN_ID]...")
@SCOPE[0]
@click.option("--benchmark", help="Only benchmark ids containing this, e.g. 'chat'.")
@SCOPE[1]
@click.option(
    "--baseline",
    metavar="N|RUN|LABEL",
    help="Column the ratios are against: its number, run or job id, or part of its label "
    "(default: the first of the columns that measured the most rows).",
)
@tier_option
@output_option(tabular=True)
@click.pass_context
def compare_cmd(
    ctx: click.Context,
    run_ids: tuple[str, ...],
    model: str | None,
    benchmark: str | None,
    hardware: str | None,
    baseline: str | None,
    tier: str | None,
    output: str,
) -> None:
    """Every job of RUN_IDs (default: every stored run, narrowed by the options) side by side:
    one model across hardware, precisions or engines, with ratios to a baseline column,
    energy per token, and a note wherever columns are not comparable."""
    if not run_ids and model is None and benchmark is None and hardware is None and tier is None:
        raise click.UsageError(
            "give run ids, or narrow the stored results with --model, "
            "--benchmark, --hardware or --tier"
        )
    try:
        with client_for(ctx) as client:
            runs = [keep_tier(run, tier) for run in stored_results(client, run_ids)]
        comparison = compare(
            runs, model=model, benchmark=benchmark, hardware=hardware, baseline=baseline
        )
    except ValueError as error:
        raise InvalidRequestError(str(error)) from None
    emit(
        console,
        output,
        comparison,
        lambda: show_comparison(console, comparison),
        lambda: comparison_rows(comparison),
    )
