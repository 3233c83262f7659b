"""The Pareto front: tokens/s per user against total output tokens/s
(``arena.common.analysis.pareto``), one trace per series, the frontier drawn per benchmark."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from arena.common.analysis.pareto import ParetoPoint
from arena.common.figures.style import (
    PALETTE,
    array,
    colour,
    empty,
    figure,
    fit_legend,
    layout,
    short_hardware,
    source,
)

X_TITLE = "total output tokens/s"
Y_TITLE = "tokens/s per user (1 / TPOT)"


def point_name(point: ParetoPoint) -> str:
    parts = [point.model, point.engine, short_hardware(point.hardware)]
    tags = ["simulated"] if point.simulated else []
    tags += [] if point.valid else ["invalid"]
    return " · ".join(parts) + "".join(f" [{tag}]" for tag in tags)


def pareto_figure(title: str, points: Sequence[ParetoPoint]) -> go.Figure:
    """Every point (hover: benchmark, variant, source); frontier points ringed and joined per
    benchmark, so each benchmark's trade-off curve reads on its own."""
    if not points:
        return empty(title, "no throughput and per-user speed recorded")
    traces: list[dict[str, Any]] = []
    by_series: dict[str, list[ParetoPoint]] = defaultdict(list)
    for point in points:
        by_series[point_name(point)].append(point)
    for name, found in sorted(by_series.items()):
        traces.append(
            {
                "type": "scatter",
                "x": array(p.output_tps for p in found),
                "y": array(p.user_tps for p in found),
                "mode": "markers",
                "name": name,
                "marker": {
                    "color": colour(name),
                    "symbol": ["diamond-open" if p.simulated else "circle" for p in found],
                    "line": {"width": [2 if p.frontier else 0 for p in found], "color": "#000"},
                    "size": [10 if p.frontier else 7 for p in found],
                },
                "customdata": [[p.benchmark, p.variant, source(p.run_id, p.job_id)] for p in found],
                "hovertemplate": "%{customdata[0]} %{customdata[1]}<br>%{x:.1f} tok/s total, "
                "%{y:.1f} tok/s per user<br>%{customdata[2]}",
            }
        )
    fronts: dict[tuple[str, bool], list[ParetoPoint]] = defaultdict(list)
    for point in points:
        if point.frontier:
            fronts[(point.benchmark, point.simulated)].append(point)
    for index, ((bench, simulated), front) in enumerate(sorted(fronts.items())):
        front.sort(key=lambda p: p.output_tps)
        traces.append(
            {
                "type": "scatter",
                "x": array(p.output_tps for p in front),
                "y": array(p.user_tps for p in front),
                "mode": "lines",
                "name": f"frontier {bench}" + (" [simulated]" if simulated else ""),
                "line": {"color": PALETTE[index % len(PALETTE)], "width": 1, "dash": "dash"},
                "hoverinfo": "skip",
                "visible": "legendonly" if len(fronts) > 6 else True,
            }
        )
    axes = layout(title, X_TITLE, Y_TITLE)
    fit_legend(axes, len(traces), 560)
    axes["xaxis"]["type"] = "log"
    axes["yaxis"].update(type="log", rangemode="normal")
    return figure(traces, axes)
