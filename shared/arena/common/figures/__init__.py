"""Figures of Arena results: pure builders that the report (``arenactl report``) and the
controller's dashboard share, so a chart reads the same wherever it is shown.

The contract every builder keeps:

- **Pure.** Typed Arena data in (``arena.common.schemas`` results, samples and readings, or the
  rows of ``arena.common.analysis``), one ``plotly.graph_objects.Figure`` out. No I/O, no
  network, no clock, no global state: the caller fetches the data and renders the figure
  (``fig.to_json()`` for a page that loads plotly.js itself, ``fig.to_html(include_plotlyjs=
  False, full_html=False)`` for an HTML fragment).
- **Never raises on little data.** An empty selection gives a figure that says "no data" in
  its middle (``style.empty``), so a page can always show the slot.
- **One trace per series**, a series being model × profile × engine × hardware
  (``style.series_name``); its colour is a function of its name, so it is the same in every
  figure. Results that must not be read at face value say so in the trace name:
  ``[simulated]`` (also dotted), ``[imported]``, ``[failed]``/``[cancelled]`` (job state),
  ``[invalid]`` (error-rate gate).
- **Hover names the source**: run id and job id of every point, so a number leads to the job
  that produced it.
- **Bounded size.** Per-request distributions are drawn as CDFs on at most ``MAX_CDF_POINTS``
  quantiles per trace, telemetry on at most ``MAX_TELEMETRY_POINTS`` readings per trace
  (evenly thinned); SVG traces only, because a browser allows few WebGL contexts per page.

Builders: ``throughput_figures`` (per benchmark: tokens/s against concurrency or request rate),
``latency_cdf`` (TTFT or ITL CDF per benchmark, from raw samples), ``pareto_figure``
(per-user tok/s against total output tok/s, frontier marked), ``capacity_figure`` (highest
rate under each p95-TTFT limit), ``telemetry_figure`` (power, SM clock, temperature per GPU),
``turn_ttft_figure`` and ``attainment_figure`` (session benchmarks: median TTFT by turn number,
sessions meeting each SLO tier per load step; ``session_benchmarks`` picks their input),
``agent_capacity_figure`` (capacity in agents per SLO tier, per job and session benchmark).
"""

from arena.common.figures.capacity import capacity_figure
from arena.common.figures.latency import (
    MAX_CDF_POINTS,
    SampleGroup,
    cdf,
    latency_cdf,
    sample_groups,
)
from arena.common.figures.pareto import pareto_figure
from arena.common.figures.sessions import (
    agent_capacity_figure,
    attainment_figure,
    session_benchmarks,
    turn_ttft_figure,
)
from arena.common.figures.style import empty, series_name
from arena.common.figures.telemetry import (
    MAX_TELEMETRY_POINTS,
    TelemetrySeries,
    imported_series,
    job_series,
    measured_series,
    telemetry_figure,
)
from arena.common.figures.throughput import throughput_figures

__all__ = [
    "MAX_CDF_POINTS",
    "MAX_TELEMETRY_POINTS",
    "SampleGroup",
    "TelemetrySeries",
    "agent_capacity_figure",
    "attainment_figure",
    "capacity_figure",
    "cdf",
    "empty",
    "imported_series",
    "job_series",
    "latency_cdf",
    "sample_groups",
    "measured_series",
    "pareto_figure",
    "series_name",
    "session_benchmarks",
    "telemetry_figure",
    "throughput_figures",
    "turn_ttft_figure",
]
