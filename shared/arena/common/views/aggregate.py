"""``arenactl aggregate``: every stored run of the same thing pooled, one listing."""

from typing import Protocol

from arena.common.analysis.aggregate import AggregateRow, Entry
from arena.common.metrics.validity import SPREAD_LIMIT_PCT
from arena.common.views.view import Column, View


def _stat(row: AggregateRow) -> str | None:
    """Throughput as ``mean ± std`` (population std over the pooled runs)."""
    stat = row.throughput
    if stat is None or stat.mean is None:
        return None
    return f"{stat.mean:,.2f} ± {stat.std or 0.0:,.2f}"


class HasEntry(Protocol):
    """A row about one entry: a pooled aggregate, a ranked or a left-out one."""

    @property
    def entry(self) -> Entry: ...


ENTRY: list[Column[HasEntry]] = [
    Column("model", "model", lambda r: r.entry.model),
    Column("profile", "profile", lambda r: r.entry.profile),
    Column("engine", "engine", lambda r: r.entry.engine),
    Column("hardware", "hardware", lambda r: r.entry.hardware),
    Column("origin", "origin", lambda r: r.entry.origin),
]
"""What ran where: the leading columns of every listing across runs (aggregate, ranking)."""
WHAT: list[Column[AggregateRow]] = [
    *ENTRY,
    Column("benchmark", "benchmark", lambda r: r.benchmark),
    Column("variant", "variant", lambda r: r.variant),
]
STATUS = Column[AggregateRow]("status", "status", lambda r: r.status)
CV = Column[AggregateRow](
    "cv_pct",
    "CV %",
    lambda r: r.cv_pct,
    2,
    mark=lambda r: f"> ±{SPREAD_LIMIT_PCT:g} %" if r.unstable else "",
)


def _mean_std(field: str) -> Column[AggregateRow]:
    return Column(field, field, lambda r: getattr(r.throughput, field) if r.throughput else None, 2)


AGGREGATE: View[AggregateRow] = View(
    "aggregate",
    shown=[
        *WHAT,
        STATUS,
        Column("runs", "runs", lambda r: f"{r.runs} ({r.jobs} job(s))"),
        Column("throughput", "tok/s", _stat),
        CV,
    ],
    export=[
        *WHAT,
        STATUS,
        Column("jobs", "jobs", lambda r: r.jobs),
        Column("runs", "runs", lambda r: r.runs),
        Column("metric", "metric", lambda r: r.throughput_key),
        _mean_std("mean"),
        _mean_std("std"),
        CV,
        Column("unstable", "unstable", lambda r: r.unstable),
    ],
)
"""Per entry, benchmark and variant: its throughput over every pooled run."""
