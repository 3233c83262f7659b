"""Capacity bars: per job with a rate sweep, the highest rate whose p95 TTFT stayed under each
limit (``arena.common.analysis.capacity``). A limit no step met is a labelled empty slot, never
a zero-height bar that could read as a measurement."""

from collections.abc import Sequence

import plotly.graph_objects as go

from arena.common.analysis.capacity import CapacityRow
from arena.common.figures.style import empty, figure, layout, short_hardware, source

LIMIT_COLOURS = {2000.0: "#d62728", 5000.0: "#ff7f0e", 10000.0: "#2ca02c"}


def row_name(row: CapacityRow) -> str:
    tags = (["simulated"] if row.simulated else []) + [row.source]
    name = f"{row.model} · {row.engine} · {short_hardware(row.hardware)}"
    return name + "".join(f" [{tag}]" for tag in tags)


def capacity_figure(title: str, rows: Sequence[CapacityRow]) -> go.Figure:
    """Grouped horizontal bars: one group per job, one bar per limit; ``none``, ``invalid`` and
    ``failed`` written where the bar would be."""
    if not rows:
        return empty(title, "no rate sweep")
    names = list(dict.fromkeys(f"{row_name(r)} ({r.job_id})" for r in rows))
    limits = sorted({r.limit_ms for r in rows})
    traces = []
    for limit in limits:
        found = [r for r in rows if r.limit_ms == limit]
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": [f"{row_name(r)} ({r.job_id})" for r in found],
                "x": [r.point.configured_rps if r.point else 0 for r in found],
                "text": [f"{r.point.configured_rps:g}" if r.point else r.status for r in found],
                "textposition": "outside",
                "cliponaxis": False,
                "name": f"p95 TTFT < {limit / 1000:g} s",
                "marker": {"color": LIMIT_COLOURS.get(limit, "#7f7f7f")},
                "customdata": [[r.status, r.note, source(r.run_id, r.job_id)] for r in found],
                "hovertemplate": "%{text} req/s (%{customdata[0]})<br>%{customdata[1]}"
                "<br>%{customdata[2]}<extra>%{fullData.name}</extra>",
            }
        )
    height = max(260, 90 + 14 * len(names) * len(limits))
    axes = layout(title, "highest rate under the limit (req/s)", "", barmode="group", height=height)
    axes["yaxis"].update(autorange="reversed", categoryorder="array", categoryarray=names)
    axes["legend"].update(orientation="h", yanchor="bottom", y=1.0, x=0.0)
    return figure(traces, axes)
