"""Latency distributions from the raw samples: TTFT and ITL as CDFs, one figure per benchmark,
one trace per series and variant (variants of a series share its colour and legend group).

A CDF is drawn on at most ``MAX_CDF_POINTS`` quantiles (evenly spaced probabilities, the
extremes included), not on every request: the curve is exact at those quantiles and the page
stays small however many requests a run made.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import plotly.graph_objects as go

from arena.common.figures.style import (
    colour,
    empty,
    figure,
    fit_legend,
    layout,
    series_name,
    source,
)
from arena.common.schemas.base import ArenaModel
from arena.common.schemas.results import JobResult
from arena.common.schemas.sample import RequestSample

MAX_CDF_POINTS = 200
Metric = Literal["ttft", "itl"]
TITLES = {"ttft": "TTFT (ms)", "itl": "inter-token latency (ms)"}


class SampleGroup(ArenaModel):
    """The samples of one series in one benchmark variant."""

    name: str
    """The series' name (``style.series_name``), labels included."""
    variant: str
    source: str
    """Where they come from (``style.source``)."""
    simulated: bool
    samples: list[RequestSample]


def sample_groups(
    run_id: str, job: JobResult, samples: Iterable[RequestSample]
) -> dict[str, list[SampleGroup]]:
    """One job's samples as CDF series: benchmark id → one group per variant, in order."""
    by_variant: dict[tuple[str, str], list[RequestSample]] = defaultdict(list)
    for sample in samples:
        by_variant[(sample.benchmark, sample.variant)].append(sample)
    benches = {bench.id: bench for bench in job.benchmarks}
    groups: dict[str, list[SampleGroup]] = defaultdict(list)
    for (bench_id, variant), chosen in sorted(by_variant.items()):
        groups[bench_id].append(
            SampleGroup(
                name=series_name(job, benches.get(bench_id)),
                variant=variant,
                source=source(run_id, job.job_id),
                simulated=job.simulated,
                samples=chosen,
            )
        )
    return groups


def values_ms(samples: Sequence[RequestSample], metric: Metric) -> np.ndarray:
    """TTFT (first output chunk − send) or every gap between output chunks, in ms, of the
    successful requests."""
    ok = [s for s in samples if s.ok]
    if metric == "ttft":
        found = [s.first_token_s - s.sent_s for s in ok if s.first_token_s is not None]
        return np.asarray(found, dtype=float) * 1000.0
    gaps = [np.diff(s.chunk_times_s) for s in ok if len(s.chunk_times_s) > 1]
    return np.concatenate(gaps) * 1000.0 if gaps else np.empty(0)


def cdf(values: np.ndarray, max_points: int = MAX_CDF_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(value, cumulative share) at up to ``max_points`` quantiles; every point when fewer."""
    ordered = np.sort(values)
    if len(ordered) <= max_points:
        return ordered, np.arange(1, len(ordered) + 1) / len(ordered)
    share = np.linspace(1 / len(ordered), 1.0, max_points)
    return np.quantile(ordered, share, method="inverted_cdf"), share


def latency_cdf(title: str, groups: Sequence[SampleGroup], metric: Metric) -> go.Figure:
    """The CDF of ``metric`` for every group that has values."""
    traces = []
    for group in groups:
        values = values_ms(group.samples, metric)
        if not len(values):
            continue
        x, y = cdf(values)
        traces.append(
            {
                "type": "scatter",
                "x": x,
                "y": y,
                "mode": "lines",
                "name": f"{group.name} · {group.variant}",
                "legendgroup": group.name,
                "line": {
                    "color": colour(group.name),
                    "dash": "dot" if group.simulated else "solid",
                },
                "hovertemplate": f"{group.variant}: %{{x:.1f}} ms at %{{y:.0%}}<br>{group.source}"
                f"<br>{len(values)} values",
            }
        )
    if not traces:
        return empty(title, "no samples")
    share = "share of requests" if metric == "ttft" else "share of gaps"
    axes = layout(title, TITLES[metric], share)
    axes["yaxis"].update(range=[0, 1.02], tickformat=".0%", rangemode="normal")
    fit_legend(axes, len(traces))
    return figure(traces, axes)
