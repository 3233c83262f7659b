"""Views across runs, each the computation ``arenactl`` uses (``arena.common.analysis``) over the
same window of recent runs: leaderboard (``rank``), capacity, Pareto, and compare."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from arena.common.analysis.agent_capacity import AgentCapacityRow, agent_capacity_rows
from arena.common.analysis.aggregate import AggregateRow, Entry, aggregate
from arena.common.analysis.capacity import CapacityRow, capacity_rows
from arena.common.analysis.compare import Comparison, compare
from arena.common.analysis.cost import DEFAULT_PER_USER_TPS, entry_costs
from arena.common.analysis.pareto import ParetoPoint, pareto_points
from arena.common.analysis.rank import PRESETS, Cost, Ranking, parse_weights, rank
from arena.common.analysis.selection import contains
from arena.common.errors import InvalidRequestError
from arena.common.figures import agent_capacity_figure, capacity_figure, pareto_figure
from arena.common.schemas.results import RunResults
from arena.common.views.frontier import by_sweep, shown_order
from arena.controller.web.reads import Reader
from arena.controller.web.templating import reader, templates

router = APIRouter()
Store = Annotated[Reader, Depends(reader)]
AGENT_TITLE = "Most concurrent agents (or sessions/s) a measured step served within each tier"
Text = Annotated[str | None, Query(max_length=200)]


def _ranking(
    store: Reader,
    preset: str,
    model: str | None,
    hardware: str | None,
    weights: str | None,
    unverified: bool,
) -> Ranking:
    if preset not in PRESETS:
        raise InvalidRequestError(f"unknown preset {preset!r}; one of {', '.join(PRESETS)}")
    chosen = _weights(weights)
    rows = store.view(
        ("aggregate", model, hardware, unverified),
        lambda results: _aggregate(results, model, hardware, unverified),
    )
    return store.view(
        ("rank", preset, model, hardware, chosen, unverified),
        lambda results: rank(
            rows,
            preset,
            store.models,
            chosen,
            _energy(results, preset, model, hardware, unverified),
        ),
    )


def _energy(
    results: list[RunResults],
    preset: str,
    model: str | None,
    hardware: str | None,
    unverified: bool,
) -> dict[Entry, Cost]:
    """Tokens per kWh at the default per-user speed; no cost (the page takes no price)."""
    jobs = [job for run in results for job in run.jobs]
    chosen = [j for j in jobs if contains(j.model, model) and contains(j.hardware, hardware)]
    return entry_costs(chosen, preset, DEFAULT_PER_USER_TPS, None, unverified)


def _weights(text: str | None) -> tuple[float, float, float] | None:
    if not text:
        return None
    try:
        return parse_weights(text)
    except ValueError as error:
        raise InvalidRequestError(f"weights: {error}") from None


def _aggregate(
    results: list[RunResults], model: str | None, hardware: str | None, unverified: bool = False
) -> list[AggregateRow]:
    jobs = [job for run in results for job in run.jobs]
    chosen = (j for j in jobs if contains(j.model, model) and contains(j.hardware, hardware))
    return aggregate(chosen, include_unverified=unverified)


@router.get("/leaderboard", response_class=HTMLResponse)
def leaderboard_page(
    request: Request,
    store: Store,
    preset: str = "aggregate",
    model: Text = None,
    hardware: Text = None,
    weights: Text = None,
    unverified: bool = False,
) -> HTMLResponse:
    context = {
        "ranking": _ranking(store, preset, model, hardware, weights, unverified),
        "weights": weights or "",
        "unverified": unverified,
        "models_file": store.settings.models_file,
        "presets": list(PRESETS),
        "model": model or "",
        "hardware": hardware or "",
        "page": "leaderboard",
    }
    return templates.TemplateResponse(request, "leaderboard.html", context)


@router.get("/api/leaderboard")
def leaderboard_api(
    store: Store,
    preset: str = "aggregate",
    model: Text = None,
    hardware: Text = None,
    weights: Text = None,
    unverified: bool = False,
) -> Ranking:
    """The ranking ``arenactl rank --preset P [--weights Q,G,E] [--models FILE]
    [--include-unverified] -o json`` prints, with the controller's ``--models-file``."""
    return _ranking(store, preset, model, hardware, weights, unverified)


def _capacity(store: Reader, hardware: str | None) -> list[CapacityRow]:
    gate = store.settings.max_error_rate
    return store.view(
        ("capacity", hardware), lambda results: capacity_rows(results, gate, hardware)
    )


@router.get("/capacity", response_class=HTMLResponse)
def capacity_page(request: Request, store: Store, hardware: Text = None) -> HTMLResponse:
    rows, agents = _capacity(store, hardware), _agent_capacity(store, hardware)
    title = "Highest rate under each p95-TTFT limit"
    figure = store.view(
        ("capacity-figure", hardware), lambda _: capacity_figure(title, rows).to_json()
    )
    context = {
        "jobs": by_sweep(rows),
        "limits": sorted({row.limit_ms for row in rows}),
        "figure_json": figure,
        "agents": agents,
        "agents_figure": store.view(
            ("agent-capacity-figure", hardware),
            lambda _: agent_capacity_figure(AGENT_TITLE, agents).to_json(),
        ),
        "hardware": hardware or "",
        "page": "capacity",
    }
    return templates.TemplateResponse(request, "capacity.html", context)


@router.get("/api/capacity")
def capacity_api(store: Store, hardware: Text = None) -> list[CapacityRow]:
    return _capacity(store, hardware)


def _agent_capacity(
    store: Reader, hardware: str | None, unverified: bool = False
) -> list[AgentCapacityRow]:
    return store.view(
        ("agent-capacity", hardware, unverified),
        lambda results: agent_capacity_rows(results, hardware, unverified),
    )


@router.get("/api/capacity/agents")
def agent_capacity_api(
    store: Store, hardware: Text = None, unverified: bool = False
) -> list[AgentCapacityRow]:
    """The rows ``arenactl capacity --agents [--include-unverified] -o json`` prints."""
    return _agent_capacity(store, hardware, unverified)


def _pareto(store: Reader, benchmark: str | None, hardware: str | None) -> list[ParetoPoint]:
    return store.view(
        ("pareto", benchmark, hardware),
        lambda results: pareto_points(results, benchmark or None, hardware),
    )


@router.get("/pareto", response_class=HTMLResponse)
def pareto_page(
    request: Request, store: Store, benchmark: Text = None, hardware: Text = None
) -> HTMLResponse:
    benchmarks = sorted({p.benchmark for p in _pareto(store, None, hardware)})
    if benchmark is None and benchmarks:  # a frontier is per benchmark: start with one
        benchmark = next((b for b in benchmarks if "concurrency" in b), benchmarks[0])
    points = _pareto(store, benchmark, hardware)
    title = f"Throughput against per-user speed: {benchmark or 'every benchmark'}"
    context = {
        "points": shown_order(points),
        "figure_json": store.view(
            ("pareto-figure", benchmark, hardware), lambda _: pareto_figure(title, points).to_json()
        ),
        "benchmarks": benchmarks,
        "benchmark": benchmark or "",
        "hardware": hardware or "",
        "page": "pareto",
    }
    return templates.TemplateResponse(request, "pareto.html", context)


@router.get("/api/pareto")
def pareto_api(store: Store, benchmark: Text = None, hardware: Text = None) -> list[ParetoPoint]:
    return _pareto(store, benchmark, hardware)


def _comparison(
    store: Reader,
    runs: list[str],
    model: str | None,
    benchmark: str | None,
    hardware: str | None,
    baseline: str | None,
) -> Comparison | None:
    """``arenactl compare``: the jobs of ``runs``, or of every recent run narrowed by the
    filters; None when neither is given."""
    runs = [run for run in runs if run]
    if not runs and model is None and benchmark is None and hardware is None:
        return None
    try:
        chosen = [store.results(run_id) for run_id in runs] or store.recent_results()
        return compare(
            chosen, model=model, benchmark=benchmark, hardware=hardware, baseline=baseline
        )
    except ValueError as error:
        raise InvalidRequestError(str(error)) from None


Runs = Annotated[list[str], Query(max_length=50)]


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    store: Store,
    run: Runs = [],  # noqa: B006  (FastAPI copies a default)
    model: Text = None,
    benchmark: Text = None,
    hardware: Text = None,
    baseline: Text = None,
) -> HTMLResponse:
    model, benchmark, hardware, baseline = (
        v or None for v in (model, benchmark, hardware, baseline)
    )
    context: dict[str, Any] = {
        "comparison": _comparison(store, run, model, benchmark, hardware, baseline),
        "chosen": [r for r in run if r],
        "runs": store.runs(200),
        "filters": {"model": model, "benchmark": benchmark, "hardware": hardware},
        "baseline": baseline or "",
        "page": "compare",
    }
    return templates.TemplateResponse(request, "compare.html", context)


@router.get("/api/compare")
def compare_api(
    store: Store,
    run: Runs = [],  # noqa: B006
    model: Text = None,
    benchmark: Text = None,
    hardware: Text = None,
    baseline: Text = None,
) -> Comparison | None:
    """What ``arenactl compare [RUN_ID]... [--model --benchmark --hardware --baseline] -o json``
    prints."""
    return _comparison(store, run, model, benchmark, hardware, baseline)
