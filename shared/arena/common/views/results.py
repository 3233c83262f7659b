"""One benchmark's variants as ``arenactl show`` and the dashboard's run page list them: one
listing per benchmark kind, its metric columns the kind's headline (``metrics.summary``); a
session benchmark adds one attainment column per SLO tier it names (``slo_<tier>_pct``)."""

from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache

from arena.common.metrics.catalogue import (
    HEADLINE,
    Kind,
    Metric,
    headline_kind,
    metric,
    slo_key,
    slo_tier,
)
from arena.common.metrics.sessions import TURN_BUCKETS
from arena.common.metrics.validity import SPREAD_LIMIT_PCT
from arena.common.schemas.results import BenchmarkResult, VariantResult
from arena.common.views.view import Column, View

NOT_MEANINGFUL = "n/m"
"""The mark of a metric that is no measurement on this server (the benchmark's flags say why)."""

VARIANT = Column[VariantResult]("variant", "variant", lambda v: v.key)
RUNS = Column[VariantResult]("runs", "runs", lambda v: v.runs, 0)
SPREAD = Column[VariantResult](
    "spread_pct",
    "spread %",
    lambda v: v.spread_pct,
    1,
    mark=lambda v: (
        f"> ±{SPREAD_LIMIT_PCT:g} %"
        if v.spread_pct is not None and v.spread_pct > SPREAD_LIMIT_PCT
        else ""
    ),
)


def _stat(found: Metric) -> Column[VariantResult]:
    """Mean ± std over the runs, two decimals whatever the metric (as ``show`` always has)."""

    def not_meaningful(variant: VariantResult) -> str:
        measured = variant.metrics.get(found.key) is not None
        return NOT_MEANINGFUL if measured and found.key in variant.not_meaningful else ""

    return Column(
        found.key,
        found.header,
        lambda v: v.metrics.get(found.key),
        2,
        mark=not_meaningful,
        metric_key=found.key,
    )


def _results(kind: Kind) -> View[VariantResult]:
    return View(f"results_{kind}", [VARIANT, RUNS, SPREAD, *map(_stat, HEADLINE[kind])])


RESULTS: dict[Kind, View[VariantResult]] = {kind: _results(kind) for kind in HEADLINE}

TURNS: View[VariantResult] = View(
    "results_turns",
    [VARIANT, *(_stat(metric(key)) for _, key, _, _ in TURN_BUCKETS)],
)
"""A session benchmark's median TTFT by turn number per step (``metrics.sessions.TURN_BUCKETS``):
``arenactl show`` prints it under the steps; pages draw it as a figure."""


def has_turns(bench: BenchmarkResult) -> bool:
    """Whether any step of ``bench`` stored a TTFT by turn number."""
    keys = {key for _, key, _, _ in TURN_BUCKETS}
    return any(keys & variant.metrics.keys() for variant in bench.variants)


def results_of(
    kind: str,
    tiers: Sequence[str] = (),
    target_pct: float | None = None,
    failed: Iterable[tuple[str, str]] = (),
) -> View[VariantResult]:
    """The listing of a benchmark of ``kind``: closed loop, sessions (with an attainment column
    per tier in ``tiers``, marked ``< target_pct`` on each (tier, variant key) in ``failed``:
    the steps whose ``LoadStep.passed`` says no), or open loop for anything else."""
    if kind == "sessions":
        return _sessions(tuple(tiers), target_pct, frozenset(failed))
    return RESULTS[headline_kind(kind)]


@lru_cache(maxsize=64)
def _sessions(
    tiers: tuple[str, ...], target_pct: float | None, failed: frozenset[tuple[str, str]]
) -> View[VariantResult]:
    """Cached per tier list and failed steps (bounded: they come from stored results): a run
    page draws the same listing for every job."""
    if not tiers:
        return RESULTS["sessions"]
    return View(
        "results_sessions",
        [*RESULTS["sessions"].shown, *(_slo(t, target_pct, failed) for t in tiers)],
    )


def _slo(
    tier: str, target_pct: float | None, failed: frozenset[tuple[str, str]]
) -> Column[VariantResult]:
    """A tier's attainment, marked ``< 95 %`` on a step that did not pass: the stored
    ``LoadStep.passed`` (``analysis.agents``) decides, never a second reading of the number."""
    column = _stat(metric(slo_key(tier)))

    def short(variant: VariantResult) -> str:
        if target_pct is None or (tier, variant.key) not in failed:
            return ""
        return f"< {target_pct:g} %"

    return replace(column, mark=short)


def session_tiers(bench: BenchmarkResult) -> list[str]:
    """The SLO tiers a session benchmark was judged by, in its order: the capacity's list, or
    the ``slo_<tier>_pct`` keys its variants stored, in the order first seen."""
    if bench.agent_capacity is not None:
        return list(bench.agent_capacity.tiers)
    found = (tier for v in bench.variants for key in v.metrics if (tier := slo_tier(key)))
    return list(dict.fromkeys(found))


def results_for(bench: BenchmarkResult) -> View[VariantResult]:
    """The listing of ``bench``'s variants (``results_of`` with its own tiers and target)."""
    if bench.kind != "sessions":
        return results_of(bench.kind)
    found = bench.agent_capacity
    if found is None:
        return results_of(bench.kind, session_tiers(bench))
    failed = ((t, s.variant) for s in found.steps for t, ok in s.passed.items() if not ok)
    return results_of(bench.kind, session_tiers(bench), found.target_pct, failed)
