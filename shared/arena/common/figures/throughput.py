"""Throughput against load: tokens/s per concurrency (closed loop) or per request rate (open
loop), one figure per benchmark, one trace per series (and per prompt shape when a closed-loop
benchmark has several)."""

import re
from collections import Counter, defaultdict
from collections.abc import Sequence

import plotly.graph_objects as go

from arena.common.analysis.aggregate import THROUGHPUT
from arena.common.analysis.capacity import configured_rate
from arena.common.figures.style import (
    array,
    colour,
    dash,
    empty,
    figure,
    fit_legend,
    layout,
    series_name,
    source,
)
from arena.common.schemas.results import BenchmarkResult, JobResult, RunResults, VariantResult

_CLOSED = re.compile(r"^(?P<shape>.*)/c(?P<c>\d+)$")
AXIS = {
    "closed_loop": "concurrency (requests in flight)",
    "open_loop": "request rate (req/s)",
    "sessions": "load (concurrent users or sessions/s)",
}
PER = {"closed_loop": "concurrency", "open_loop": "request rate", "sessions": "load step"}


class _Trace:
    def __init__(self) -> None:
        self.points: list[tuple[float, float, float, str, str]] = []
        """(x, y, std, variant, source)"""


def throughput_figures(results: Sequence[RunResults]) -> dict[str, go.Figure]:
    """Per benchmark id (sorted): its throughput figure."""
    by_bench: dict[str, list[tuple[str, JobResult, BenchmarkResult]]] = defaultdict(list)
    for run in results:
        for job in run.jobs:
            for bench in job.benchmarks:
                by_bench[bench.id].append((run.run_id, job, bench))
    return {bench_id: _figure(bench_id, found) for bench_id, found in sorted(by_bench.items())}


def _figure(bench_id: str, found: list[tuple[str, JobResult, BenchmarkResult]]) -> go.Figure:
    kind = found[0][2].kind
    metric = THROUGHPUT.get(kind, "output_throughput")
    per = PER.get(kind, "request rate")
    title = f"{bench_id} {found[0][2].title}: {metric} per {per}"
    shapes = {_shape(v.key) for _, _, b in found for v in b.variants}
    traces: dict[tuple[str, str, str], _Trace] = {}
    styles: dict[tuple[str, str, str], JobResult] = {}
    for run_id, job, bench in found:
        name = series_name(job, bench)
        for variant in bench.variants:
            x = _x(kind, variant)
            stat = variant.metrics.get(metric)
            if x is None or stat is None or stat.mean is None:
                continue
            shape = _shape(variant.key) if len(shapes) > 1 else ""
            key = (name, shape, job.job_id)
            traces.setdefault(key, _Trace()).points.append(
                (x, stat.mean, stat.std or 0.0, variant.key, source(run_id, job.job_id))
            )
            styles[key] = job
    if not traces:
        return empty(title, f"no {metric} per {per} recorded")
    drawn = []
    repeated = Counter((name, shape) for name, shape, _ in traces)
    for (name, shape, job_id), trace in sorted(traces.items()):
        points = sorted(trace.points)
        label = f"{name} · {shape}" if shape else name
        if repeated[(name, shape)] > 1:  # the same thing stored by several jobs
            label += f" · {job_id}"
        drawn.append(
            {
                "type": "scatter",
                "x": array(p[0] for p in points),
                "y": array(p[1] for p in points),
                "error_y": {"type": "data", "array": array(p[2] for p in points)},
                "customdata": [[p[3], p[4]] for p in points],
                "hovertemplate": "%{customdata[0]}: %{y:.2f} tok/s<br>%{customdata[1]}",
                "mode": "lines+markers",
                "name": label,
                "legendgroup": name,
                "line": {"color": colour(name), "dash": dash(styles[(name, shape, job_id)])},
            }
        )
    axes = layout(title, AXIS.get(kind, "load"), f"{metric} (tokens/s)")
    fit_legend(axes, len(drawn))
    if kind == "open_loop":
        axes["xaxis"]["type"] = "log"
    return figure(drawn, axes)


def _shape(variant_key: str) -> str:
    match = _CLOSED.match(variant_key)
    return match.group("shape") if match else ""


def _x(kind: str, variant: VariantResult) -> float | None:
    if kind == "closed_loop":
        match = _CLOSED.match(variant.key)
        return float(match.group("c")) if match else None
    if kind == "sessions":  # users or sessions/s, as the step stored it
        load = variant.metrics.get("load")
        return load.mean if load is not None else None
    return configured_rate(variant.key)
