"""GPU telemetry over time: power, SM clock and temperature, stacked on one time axis, one trace
per GPU. Measured jobs carry readings per GPU on the job's clock (``GpuReading``); an imported
job carries its tool's rows per benchmark (``TelemetrySample``, no GPU index), laid end to end
in benchmark order (a dotted line marks where each starts). A value the GPU did not report
is a gap, never zero.

A series longer than ``MAX_TELEMETRY_POINTS`` readings is thinned to every k-th reading.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from arena.common.figures.style import AXIS, PALETTE, array, empty, figure, layout
from arena.common.schemas.base import ArenaModel
from arena.common.schemas.imported import TelemetrySample
from arena.common.schemas.results import JobResult
from arena.common.schemas.telemetry import GpuReading

MAX_TELEMETRY_POINTS = 2000
PANELS = (
    ("power_w", "power (W)", "y", (0.70, 1.0)),
    ("sm_mhz", "SM clock (MHz)", "y2", (0.36, 0.64)),
    ("temp_c", "temperature (°C)", "y3", (0.0, 0.30)),
)


class TelemetrySeries(ArenaModel):
    """One GPU's readings over time."""

    gpu: str
    """``GPU 0``…, or ``all GPUs`` for a source that does not tell them apart."""
    t_s: list[float]
    power_w: list[float | None]
    sm_mhz: list[float | None]
    temp_c: list[float | None]
    phases: list[tuple[float, str]] = []
    """Where each benchmark's readings start (imported rows laid end to end), else empty."""


def measured_series(readings: Sequence[GpuReading]) -> list[TelemetrySeries]:
    """Per GPU index, its readings in time order."""
    by_gpu: dict[int, list[GpuReading]] = defaultdict(list)
    for reading in readings:
        by_gpu[reading.gpu].append(reading)
    series = []
    for gpu, found in sorted(by_gpu.items()):
        found.sort(key=lambda r: r.t_s)
        series.append(
            TelemetrySeries(
                gpu=f"GPU {gpu}",
                t_s=[r.t_s for r in found],
                power_w=[r.power_w for r in found],
                sm_mhz=[r.sm_mhz for r in found],
                temp_c=[r.temp_c for r in found],
            )
        )
    return series


def imported_series(telemetry: Mapping[str, Sequence[TelemetrySample]]) -> list[TelemetrySeries]:
    """The tool's rows of every benchmark, end to end in benchmark order (each file's elapsed
    time starts at zero, so each is shifted past the previous one)."""
    series = TelemetrySeries(gpu="all GPUs", t_s=[], power_w=[], sm_mhz=[], temp_c=[])
    offset = 0.0
    for bench_id, rows in sorted(telemetry.items()):
        for row in rows:
            series.t_s.append(offset + row.elapsed_s)
            series.power_w.append(row.power_w)
            series.sm_mhz.append(row.sm_mhz)
            series.temp_c.append(row.temp_c)
        if rows:
            series.phases.append((offset + rows[0].elapsed_s, bench_id))
        offset = series.t_s[-1] if series.t_s else offset
    return [series] if series.t_s else []


def job_series(job: JobResult, readings: Sequence[GpuReading]) -> list[TelemetrySeries]:
    """A job's telemetry as it has it: the NVML ``readings`` the controller stored for a measured
    job, the tool's rows its origin carries for an imported one (the other is empty)."""
    return measured_series(readings) + imported_series(job.origin.telemetry)


def telemetry_figure(title: str, series: Sequence[TelemetrySeries]) -> go.Figure:
    """Three stacked panels sharing the time axis; one colour per GPU."""
    if not series:
        return empty(title, "no GPU telemetry")
    extra: dict[str, Any] = {
        f"yaxis{'' if axis == 'y' else axis[1:]}": {
            **AXIS,
            "domain": list(domain),
            "title": {"text": label},
            "anchor": "x",
            "rangemode": "normal",
        }
        for _, label, axis, domain in PANELS
    }
    traces = []
    for index, one in enumerate(series):
        step = max(1, -(-len(one.t_s) // MAX_TELEMETRY_POINTS))
        for field, label, axis, _ in PANELS:
            values = getattr(one, field)[::step]
            if all(value is None for value in values):
                continue
            trace = {
                "type": "scatter",
                "x": array(one.t_s[::step]),
                "y": array(values),
                "yaxis": axis,
                "mode": "lines",
                "name": one.gpu,
                "legendgroup": one.gpu,
                "showlegend": axis == "y",
                "line": {"color": PALETTE[index % len(PALETTE)], "width": 1},
                "hovertemplate": f"{one.gpu} {label}: %{{y}} at %{{x:.0f}} s",
                "connectgaps": False,
            }
            traces.append(trace)
    if not traces:
        return empty(title, "no power, clock or temperature readings")
    marks = [(start, bench) for one in series for start, bench in one.phases]
    extra["shapes"] = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": start,
            "x1": start,
            "y0": 0,
            "y1": 1,
            "line": {"color": "#bbb", "width": 1, "dash": "dot"},
        }
        for start, _ in marks
    ]
    extra["annotations"] = [
        {
            "x": start,
            "y": 1.0,
            "xref": "x",
            "yref": "paper",
            "text": bench.split("-")[0],
            "hovertext": bench,
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "bottom",
            "font": {"size": 9, "color": "#666"},
        }
        for start, bench in marks
    ]
    axes = layout(title, "time (s)", "", height=560, **extra)
    axes["xaxis"]["anchor"] = "y3"  # the time axis under the bottom panel
    return figure(traces, axes)
