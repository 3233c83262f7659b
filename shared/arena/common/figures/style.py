"""What every figure shares: series names, their colours, the empty figure and the layout."""

import zlib
from typing import Any

import numpy as np
import plotly.graph_objects as go

from arena.common.analysis.aggregate import entry_of
from arena.common.schemas.job import JobState
from arena.common.schemas.results import BenchmarkResult, JobResult

PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
    "#636363",
    "#6baed6",
    "#fd8d3c",
    "#74c476",
    "#9e9ac8",
)
"""Distinct colours; a series keeps its colour in every figure (``colour``)."""


def series_name(job: JobResult, bench: BenchmarkResult | None = None) -> str:
    """model · profile · engine · hardware (short: the full name is in the provenance), then
    what the reader must know about the numbers (``imported`` among them)."""
    entry = entry_of(job)
    parts = [entry.model, entry.profile, entry.engine, short_hardware(entry.hardware)]
    name = " · ".join(part for part in parts if part)
    return name + "".join(f" [{label}]" for label in labels(job, bench))


def short_hardware(hardware: str | None) -> str:
    """``NVIDIA DGX Spark (GB10, 128 GB unified)`` → ``NVIDIA DGX Spark``."""
    return (hardware or "unknown hardware").split(" (")[0].strip() or "unknown hardware"


def labels(job: JobResult, bench: BenchmarkResult | None = None) -> list[str]:
    """``simulated``, ``imported``, the job state when not succeeded, ``invalid``."""
    found = []
    if job.simulated:
        found.append("simulated")
    if job.origin.kind == "imported":
        found.append("imported")
    if job.state != JobState.SUCCEEDED:
        found.append(job.state)
    if bench is not None and not bench.valid:
        found.append("invalid")
    return found


def colour(name: str) -> str:
    """The series' colour, from its name without the labels (stable across figures)."""
    return PALETTE[zlib.crc32(name.split(" [")[0].encode()) % len(PALETTE)]


def dash(job: JobResult) -> str:
    return "dot" if job.simulated else "solid"


AXIS = {"gridcolor": "#e5e5e5", "linecolor": "#999", "zeroline": False, "automargin": True}


def layout(title: str, x_title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    """The common layout: title, axis titles, legend below (series names are long; it takes
    the room it needs, see ``fit_legend``), compact margins, white ground."""
    return {
        "title": {"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 14}},
        "xaxis": {**AXIS, "title": {"text": x_title}},
        "yaxis": {**AXIS, "title": {"text": y_title}, "rangemode": "tozero"},
        "legend": {
            "orientation": "h",
            "yanchor": "top",
            "y": -0.12,
            "x": 0.0,
            "font": {"size": 10},
        },
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "height": 460,
        "paper_bgcolor": "#fff",
        "plot_bgcolor": "#fff",
        "font": {"family": "system-ui, sans-serif", "size": 12},
        "hovermode": "closest",
        **extra,
    }


def fit_legend(figure_layout: dict[str, Any], entries: int, height: int = 420) -> None:
    """Grow the figure so that a legend of ``entries`` (about two per row) leaves the plot
    its ``height``."""
    rows = (entries + 1) // 2
    figure_layout["height"] = height + 2 * 19 * rows  # plotly gives a legend half the height


def figure(traces: list[dict[str, Any]], figure_layout: dict[str, Any]) -> go.Figure:
    """A Figure from plain trace and layout dicts, numbers as numpy arrays.

    Built without plotly's per-property validation (``_validate=False``): the builders write
    only attributes they know, and validating every array made a full report take seconds.
    Arrays travel as typed-array JSON (base64), which plotly.js reads directly."""
    return go.Figure(data=traces, layout=figure_layout, _validate=False)


def array(values: Any) -> np.ndarray:
    """Numbers as a float array; ``None`` becomes NaN, which plotly.js draws as a gap."""
    return np.asarray([np.nan if v is None else v for v in values], dtype=float)


def empty(title: str, message: str = "no data") -> go.Figure:
    """A figure that says ``message`` where the data would be."""
    return figure(
        [],
        {
            **layout(title, "", ""),
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "annotations": [
                {
                    "text": message,
                    "showarrow": False,
                    "font": {"size": 16},
                    "x": 0.5,
                    "y": 0.5,
                    "xref": "paper",
                    "yref": "paper",
                }
            ],
            "height": 200,
        },
    )


def source(run_id: str, job_id: str) -> str:
    """The hover line naming where a point comes from."""
    return f"run {run_id} · job {job_id}"
