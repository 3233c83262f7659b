"""Session benchmarks' figures, one of each per benchmark: median TTFT by turn number (one line
per job and load step: a growing context shows as a slope, a working prefix cache as a flat
line) and the share of sessions meeting each SLO tier per measured load step, the target drawn
as a line and every step marked passed or failed (no line drawn between steps claims a value
that was not measured: markers only, joined for reading); and, across jobs, the capacity in
agents per SLO tier as bars."""

from collections import defaultdict
from collections.abc import Sequence

import plotly.graph_objects as go

from arena.common.analysis.agent_capacity import AgentCapacityRow
from arena.common.figures.style import (
    PALETTE,
    array,
    colour,
    dash,
    empty,
    figure,
    fit_legend,
    layout,
    series_name,
    short_hardware,
    source,
)
from arena.common.metrics.sessions import TURN_BUCKETS
from arena.common.schemas.results import BenchmarkResult, JobResult, RunResults
from arena.common.views.frontier import LOWER_BOUND

Found = list[tuple[str, JobResult, BenchmarkResult]]
PASSED, FAILED = "#2ca02c", "#d62728"
TIER_DASH = ("solid", "dash", "dot", "dashdot", "longdash")


def session_benchmarks(results: Sequence[RunResults]) -> dict[str, Found]:
    """Per session benchmark id (sorted): every (run id, job, benchmark) that measured it."""
    found: dict[str, Found] = defaultdict(list)
    for run in results:
        for job in run.jobs:
            for bench in job.benchmarks:
                if bench.kind == "sessions" and bench.variants:
                    found[bench.id].append((run.run_id, job, bench))
    return dict(sorted(found.items()))


def turn_ttft_figure(bench_id: str, found: Found) -> go.Figure:
    """Median TTFT per turn bucket (``TURN_BUCKETS``), one line per job and load step; a
    bucket no turn reached is a gap."""
    title = f"{bench_id}: median TTFT by turn number"
    labels = [label for label, _, _, _ in TURN_BUCKETS]
    traces = []
    one_job = len(found) == 1  # then each step gets a colour of its own, else the job's
    for run_id, job, bench in found:
        name = series_name(job, bench)
        for index, variant in enumerate(bench.variants):
            values = [variant.metrics.get(key) for _, key, _, _ in TURN_BUCKETS]
            means = [stat.mean if stat is not None else None for stat in values]
            if all(mean is None for mean in means):
                continue
            traces.append(
                {
                    "type": "scatter",
                    "x": labels,
                    "y": array(means),
                    "mode": "lines+markers",
                    "name": f"{name} · {variant.key}",
                    "legendgroup": name,
                    "line": {
                        "color": PALETTE[index % len(PALETTE)] if one_job else colour(name),
                        "dash": dash(job),
                    },
                    "customdata": [[variant.key, source(run_id, job.job_id)]] * len(labels),
                    "hovertemplate": "turn %{x}, %{customdata[0]}: %{y:.1f} ms"
                    "<br>%{customdata[1]}<extra></extra>",
                }
            )
    if not traces:
        return empty(title, "no TTFT by turn recorded")
    axes = layout(title, "turn number (1 = first)", "median TTFT (ms)")
    axes["xaxis"].update(type="category", categoryorder="array", categoryarray=labels)
    fit_legend(axes, len(traces))
    return figure(traces, axes)


def attainment_figure(bench_id: str, found: Found) -> go.Figure:
    """% of sessions meeting each tier per measured step (x: the step's load), one line per job
    and tier; a step's marker is green where it passed the target, red where it did not."""
    title = f"{bench_id}: sessions meeting the SLO per load step"
    traces: list[dict[str, object]] = []
    targets: set[float] = set()
    units: set[str] = set()
    for run_id, job, bench in found:
        capacity = bench.agent_capacity
        if capacity is None or not capacity.steps:
            continue
        targets.add(capacity.target_pct)
        units.add(capacity.unit)
        name = series_name(job, bench)
        steps = sorted(capacity.steps, key=lambda step: step.load)
        for index, tier in enumerate(capacity.tiers):
            best = capacity.capacity.get(tier)
            traces.append(
                {
                    "type": "scatter",
                    "x": array(step.load for step in steps),
                    "y": array(step.attainment_pct.get(tier) for step in steps),
                    "mode": "lines+markers",
                    "name": f"{name} · {tier}",
                    "legendgroup": name,
                    "line": {"color": colour(name), "dash": TIER_DASH[index % len(TIER_DASH)]},
                    "marker": {
                        "size": 9,
                        "color": [PASSED if step.passed.get(tier) else FAILED for step in steps],
                    },
                    "customdata": [
                        [
                            step.variant,
                            "passed" if step.passed.get(tier) else "failed",
                            step.sessions,
                            "none" if best is None else f"{best:g}",
                            source(run_id, job.job_id),
                        ]
                        for step in steps
                    ],
                    "hovertemplate": f"{tier}: %{{y:.1f}} % of %{{customdata[2]}} sessions at "
                    "%{customdata[0]} (%{customdata[1]})<br>capacity %{customdata[3]}"
                    "<br>%{customdata[4]}<extra></extra>",
                }
            )
    if not traces:
        return empty(title, "no load steps recorded")
    axes = layout(title, f"load ({' or '.join(sorted(units))})", "sessions meeting the tier (%)")
    axes["yaxis"].update(range=[0, 105], rangemode="normal")
    axes["shapes"] = [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": target,
            "y1": target,
            "line": {"color": "#555", "dash": "dash", "width": 1},
        }
        for target in sorted(targets)
    ]
    axes["annotations"] = [
        {
            "text": f"target {target:g} %",
            "xref": "paper",
            "x": 1,
            "xanchor": "right",
            "y": target,
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 10, "color": "#555"},
        }
        for target in sorted(targets)
    ]
    fit_legend(axes, len(traces))
    return figure(traces, axes)


def agent_capacity_figure(title: str, rows: Sequence[AgentCapacityRow]) -> go.Figure:
    """Grouped horizontal bars: one group per job and session benchmark, one bar per SLO tier
    (its capacity in agents, or sessions/s); ``none`` and ``invalid`` written where the bar
    would be, never a zero bar that could read as a measurement; ``or more`` after a capacity
    no measured step above it failed."""
    if not rows:
        return empty(title, "no session benchmark")
    names = list(dict.fromkeys(_row_name(row) for row in rows))
    tiers = list(dict.fromkeys(row.tier for row in rows))
    traces = []
    for index, tier in enumerate(tiers):
        found = [row for row in rows if row.tier == tier]
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": [_row_name(row) for row in found],
                "x": [row.capacity or 0 for row in found],
                "text": [_capacity_text(row) for row in found],
                "textposition": "outside",
                "cliponaxis": False,
                "name": tier,
                "marker": {"color": PALETTE[index % len(PALETTE)]},
                "customdata": [
                    [row.status, row.target_pct, row.note, source(row.run_id, row.job_id)]
                    for row in found
                ],
                "hovertemplate": "%{text} (%{customdata[0]}; ≥ %{customdata[1]} % of sessions)"
                "<br>%{customdata[2]}<br>%{customdata[3]}<extra>%{fullData.name}</extra>",
            }
        )
    units = " or ".join(sorted({row.unit for row in rows}))
    height = max(260, 90 + 14 * len(names) * len(tiers))
    axes = layout(title, f"capacity ({units})", "", barmode="group", height=height)
    axes["yaxis"].update(autorange="reversed", categoryorder="array", categoryarray=names)
    axes["legend"].update(orientation="h", yanchor="bottom", y=1.0, x=0.0)
    return figure(traces, axes)


def _row_name(row: AgentCapacityRow) -> str:
    simulated = " [simulated]" if row.simulated else ""
    name = f"{row.model} · {row.engine} · {short_hardware(row.hardware)}{simulated}"
    return f"{name} · {row.benchmark} ({row.job_id})"


def _capacity_text(row: AgentCapacityRow) -> str:
    if row.capacity is None:
        return row.status
    return f"{row.capacity:g} {row.unit}" + (f" {LOWER_BOUND}" if row.lower_bound else "")
