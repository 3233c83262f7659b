"""One benchmark's variants as ``arenactl show`` and the dashboard's run page list them: one
listing per benchmark kind, its metric columns the kind's headline (``metrics.summary``)."""

from arena.common.metrics.catalogue import HEADLINE, Kind, Metric
from arena.common.metrics.validity import SPREAD_LIMIT_PCT
from arena.common.schemas.results import VariantResult
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


def results_of(kind: str) -> View[VariantResult]:
    """The listing of a benchmark of ``kind``: closed loop, or open loop for anything else."""
    return RESULTS["closed_loop" if kind == "closed_loop" else "open_loop"]
