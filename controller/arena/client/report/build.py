"""From fetched results to what the page shows: figures (``arena.common.figures``), the
ranking per preset, the capacity table, the agentic section (session benchmarks) and one
provenance entry per job."""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import plotly.graph_objects as go
import yaml

from arena.client.report.fetch import ReportData, Selection
from arena.common import figures
from arena.common.analysis.agent_capacity import AgentCapacityRow, agent_capacity_rows
from arena.common.analysis.aggregate import Entry, aggregate
from arena.common.analysis.cache import CacheRow, cache_rows
from arena.common.analysis.capacity import CapacityRow, capacity_rows
from arena.common.analysis.compare import Comparison, compare
from arena.common.analysis.cost import DEFAULT_PER_USER_TPS, entry_costs
from arena.common.analysis.pareto import pareto_points
from arena.common.analysis.rank import PRESETS, Cost, ModelInfo, Ranking, rank
from arena.common.figures.style import labels, series_name, source
from arena.common.metrics.validity import MAX_ERROR_RATE
from arena.common.schemas.results import JobResult, RunResults
from arena.common.views.frontier import by_sweep


@dataclass
class Figure:
    anchor: str
    title: str
    figure: go.Figure


@dataclass
class Command:
    benchmark: str
    tool: str
    lines: list[str]
    flags: list[str]


@dataclass
class JobEntry:
    """One job's provenance: everything needed to trace or redo its numbers."""

    anchor: str
    name: str
    labels: list[str]
    run: RunResults
    job: JobResult
    commands: list[Command]
    provenance: str
    """The engine's provenance (or the imported source's), as YAML."""
    hardware: str
    samples: int
    readings: int


SELECTION = "selection"
"""The key of the comparison of every selected job (``HardwareCompare.key``)."""


@dataclass(frozen=True)
class HardwareCompare:
    key: str
    """The model's name, or ``SELECTION`` for every job the user named."""
    title: str
    comparison: Comparison


@dataclass
class Report:
    data: ReportData
    throughput: list[Figure] = field(default_factory=list)
    latency: list[Figure] = field(default_factory=list)
    pareto: Figure | None = None
    capacity: Figure | None = None
    capacity_rows: list[dict[float, CapacityRow]] = field(default_factory=list)
    """Per sweep, its rows by p95-TTFT limit (``views.frontier.by_sweep``)."""
    """Per job and sweep, its rows (one per limit)."""
    telemetry: list[Figure] = field(default_factory=list)
    turn_ttft: list[Figure] = field(default_factory=list)
    """Session benchmarks: median TTFT by turn number, one figure per benchmark."""
    attainment: list[Figure] = field(default_factory=list)
    """Session benchmarks: sessions meeting each SLO tier per load step."""
    agent_capacity: list[AgentCapacityRow] = field(default_factory=list)
    agent_capacity_bars: Figure | None = None
    cache: list[CacheRow] = field(default_factory=list)
    """Every benchmark whose prefix cache is known (any kind)."""
    rankings: list[Ranking] = field(default_factory=list)
    compares: list["HardwareCompare"] = field(default_factory=list)
    """The named selection's jobs together, then per model stored by more than one job: its
    jobs side by side (hardware, precisions, engines), most hardware first."""
    jobs: list[JobEntry] = field(default_factory=list)

    @property
    def agentic(self) -> bool:
        """Whether the selection has a session benchmark (the agentic section is shown)."""
        return bool(self.turn_ttft)

    @property
    def job_anchor(self) -> dict[str, str]:
        return {entry.job.job_id: entry.anchor for entry in self.jobs}


def build(
    data: ReportData, models: Mapping[str, ModelInfo], include_unverified: bool = False
) -> Report:
    report = Report(data=data)
    report.throughput = [
        Figure(f"tput-{bench}", bench, figure)
        for bench, figure in figures.throughput_figures(data.results).items()
    ]
    report.latency = _latency(data)
    points = pareto_points(data.results)
    report.pareto = Figure(
        "pareto-front",
        "Pareto front",
        figures.pareto_figure("tokens/s per user against total output tokens/s", points),
    )
    capacity = capacity_rows(data.results, MAX_ERROR_RATE)
    report.capacity = Figure(
        "capacity-bars",
        "Capacity",
        figures.capacity_figure("highest request rate with p95 TTFT under each limit", capacity),
    )
    report.capacity_rows = by_sweep(capacity)
    report.telemetry = _telemetry(data)
    sessions = figures.session_benchmarks(data.results)
    report.turn_ttft = [
        Figure(f"turns-{bench}", bench, figures.turn_ttft_figure(bench, found))
        for bench, found in sessions.items()
    ]
    report.attainment = [
        Figure(f"slo-{bench}", bench, figures.attainment_figure(bench, found))
        for bench, found in sessions.items()
    ]
    report.agent_capacity = agent_capacity_rows(data.results, include_unverified=include_unverified)
    if sessions:
        report.agent_capacity_bars = Figure(
            "agent-capacity-bars",
            "Capacity in agents",
            figures.agent_capacity_figure(AGENT_TITLE, report.agent_capacity),
        )
    report.cache = cache_rows(data.results)
    jobs = [job for run in data.results for job in run.jobs]
    rows = aggregate(jobs, include_unverified)
    report.rankings = [
        rank(rows, preset, models, costs=_energy(jobs, preset, include_unverified))
        for preset in PRESETS
    ]
    report.compares = _compares(data.results, data.selection)
    report.jobs = [_entry(data, run, job) for run in data.results for job in run.jobs]
    return report


AGENT_TITLE = "most concurrent agents (or sessions/s) a measured step served within each tier"


def _latency(data: ReportData) -> list[Figure]:
    groups: dict[str, list[figures.SampleGroup]] = defaultdict(list)
    for run in data.results:
        for job in run.jobs:
            samples = data.samples.get(job.job_id, [])
            for bench_id, job_groups in figures.sample_groups(run.run_id, job, samples).items():
                groups[bench_id] += job_groups
    found = []
    for bench_id, bench_groups in sorted(groups.items()):
        for metric in ("ttft", "itl"):
            title = f"{bench_id}: {figures.latency.TITLES[metric]} CDF"
            figure = figures.latency_cdf(title, bench_groups, metric)
            found.append(Figure(f"{metric}-{bench_id}", title, figure))
    return found


def _compares(results: list[RunResults], selection: Selection) -> list[HardwareCompare]:
    """The selection's jobs together when the user named them (run ids, ``--model``: what
    ``arenactl compare`` of the same runs or ``--model`` shows, whatever the models are
    called), then each model stored by more than one job, most hardware first."""
    found = []
    for model in sorted({job.model for run in results for job in run.jobs}):
        runs = [
            run.model_copy(update={"jobs": [job for job in run.jobs if job.model == model]})
            for run in results
        ]
        if (comparison := _comparison([run for run in runs if run.jobs])) is not None:
            found.append(HardwareCompare(model, model, comparison))
    found.sort(key=lambda c: -len({column.hardware for column in c.comparison.columns}))
    named = selection.run_ids or selection.model is not None
    whole = _comparison(results) if named else None
    if whole is None or any(len(c.comparison.columns) == len(whole.columns) for c in found):
        return found  # nothing named, or one model already holds every job
    return [HardwareCompare(SELECTION, f"the selection: {selection.describe()}", whole), *found]


def _comparison(runs: list[RunResults]) -> Comparison | None:
    """Jobs side by side, where there are two or more with a benchmark variant in common."""
    if sum(len(run.jobs) for run in runs) < 2:
        return None
    comparison = compare(runs)
    return comparison if comparison.rows else None


def _telemetry(data: ReportData) -> list[Figure]:
    found = []
    for run in data.results:
        for job in run.jobs:
            series = figures.job_series(job, data.telemetry.get(job.job_id, []))
            if series:
                title = f"{series_name(job)} ({source(run.run_id, job.job_id)})"
                found.append(
                    Figure(
                        f"telemetry-{job.job_id}", title, figures.telemetry_figure(title, series)
                    )
                )
    return found


def _entry(data: ReportData, run: RunResults, job: JobResult) -> JobEntry:
    origin = job.origin
    commands = [
        Command(
            benchmark=bench.id,
            tool=bench.tool,
            lines=(bench.command.splitlines() if bench.command else [])
            or origin.commands.get(bench.id, []),
            flags=bench.flags,
        )
        for bench in job.benchmarks
    ]
    provenance = (
        origin.provenance.model_dump(exclude_none=True) if origin.provenance else job.provenance
    )
    hardware = job.hardware_detail.model_dump() if job.hardware_detail else {"name": job.hardware}
    return JobEntry(
        anchor=f"job-{job.job_id}",
        name=series_name(job),
        labels=labels(job),
        run=run,
        job=job,
        commands=commands,
        provenance=_yaml(provenance),
        hardware=_yaml(hardware),
        samples=len(data.samples.get(job.job_id, [])),
        readings=len(data.telemetry.get(job.job_id, [])),
    )


def _yaml(value: object) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=100) if value else ""


def _energy(jobs: list[JobResult], preset: str, include_unverified: bool) -> dict[Entry, Cost]:
    """Tokens per kWh at the default per-user speed; no cost (the report takes no price)."""
    return entry_costs(jobs, preset, DEFAULT_PER_USER_TPS, None, include_unverified)
