"""``arenactl trace inspect``: one row per quantity of a trace, with its spread."""

from arena.common.traces.summary import Spread
from arena.common.views.view import Column, View

SPREAD: View[Spread] = View(
    "trace-spread",
    shown=[
        Column[Spread]("quantity", "quantity", lambda s: s.quantity),
        Column[Spread]("unit", "unit", lambda s: s.unit),
        Column[Spread]("count", "n", lambda s: s.count, 0),
        Column[Spread]("mean", "mean", lambda s: s.mean, 1),
        Column[Spread]("p50", "p50", lambda s: s.p50, 1),
        Column[Spread]("p95", "p95", lambda s: s.p95, 1),
        Column[Spread]("max", "max", lambda s: s.max, 1),
    ],
)
"""Turns, new input, context, output, think time and implied cached tokens."""
