"""Everything arenactl shows: rich tables for people, JSON for programs."""

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arena.client.api import JobInfo, RunDetail
from arena.client.render_energy import energy_table, hardware_line, telemetry_line
from arena.client.render_flags import flag_lines, spec_decode_lines, title_mark
from arena.client.views import view_table
from arena.common.metrics.catalogue import metric
from arena.common.metrics.engine_slots import recorded_slots
from arena.common.schemas.base import ArenaModel
from arena.common.schemas.imported import ImportedRun, TelemetrySample
from arena.common.schemas.job import JobState
from arena.common.schemas.results import BenchmarkResult, JobResult, Origin, RunResults
from arena.common.suites.run_order import PROVENANCE_KEY as RUN_ORDER
from arena.common.views.agentic import cache_line, capacity_lines
from arena.common.views.jobs import time_text
from arena.common.views.results import TURNS, has_turns, results_for

TURNS_TITLE = "  median TTFT by turn number (1 = first turn)"


def _job_progress(job: JobInfo) -> tuple[str, str, str, str, str]:
    progress = job.progress
    if progress is None:  # no heartbeat yet (or an imported job): what the store holds
        return "", f"{job.samples}/{job.requests_expected}", "0", "0", ""
    position = ""
    if progress.benchmark:
        position = f"{progress.benchmark} {progress.variant} run {progress.run + 1}"
    requests = f"{progress.requests_done}/{progress.requests_total or job.requests_expected}"
    rate = f"{progress.output_tokens_per_s:.0f}"
    return position, requests, rate, str(progress.errors), time_text(progress)


def progress_table(detail: RunDetail) -> Table:
    run = detail.run
    table = Table(title=f"{run.run_id} · {run.suite} · {run.state} · {run.samples} samples stored")
    columns = ("job", "model", "agent", "state", "now", "requests", "tok/s", "errors", "time")
    for column in columns:
        table.add_column(column)
    for job in detail.jobs:
        position, requests, rate, errors, times = _job_progress(job)
        if job.state not in (JobState.LEASED, JobState.RUNNING):
            position, rate, times = job.message, "-", ""
        model = f"{job.model} (simulated)" if job.simulated else job.model
        table.add_row(
            job.job_id, model, job.agent or "-", job.state, position, requests, rate, errors, times
        )
    return table


def progress_line(detail: RunDetail) -> str:
    parts = []
    for job in detail.jobs:
        position, requests, rate, errors, times = _job_progress(job)
        going = job.state in (JobState.LEASED, JobState.RUNNING)
        timing = f" {times}" if times and going else ""
        parts.append(
            f"{job.job_id} {job.state} {position} {requests} req {rate} tok/s {errors} err{timing}"
        )
    return f"{detail.run.run_id} {detail.run.state}: " + " | ".join(parts)


def job_header(job: JobResult) -> str:
    """model on engine, then (imported) who vouches for it, and where it ran."""
    label = " [bold red]SIMULATED[/]" if job.simulated else ""
    origin = job.origin
    if origin.kind == "imported":
        trust = (
            f"[green]verified[/] ({escape(origin.verified_by)})"
            if origin.verified_by
            else "[bold yellow]unverified[/]"
        )
        label = f" [bold cyan]imported[/]{label} {trust}"
        where = f"{escape(origin.source)} · {job.hardware}"
    else:
        where = f"{job.agent} · {job.hardware}" if job.agent else "not run"
    return f"[bold]{job.model}[/] on {job.engine}{label} · {where} · {job.state}"


def benchmark_tables(job: JobResult) -> list[Table]:
    tables = []
    for bench in job.benchmarks:
        title = f"{bench.id} {bench.title}".strip()
        if bench.tool != "builtin":
            title += f" · run by {bench.tool}"
        view = results_for(bench)
        table = view_table(view, bench.variants, title + title_mark(bench), title_left=True)
        if not bench.variants:
            table.add_row("no results", *["" for _ in view.shown[1:]])
        captions = [*flag_lines(bench), *spec_decode_lines(bench)]
        if figures := engine_caption(bench.engine_metrics):
            captions.append("engine's own figures: " + figures)
        if line := cache_line(bench):
            captions.append(escape(line))
        captions += [escape(line) for line in capacity_lines(bench)]
        if captions:
            table.caption = "\n".join(captions)
            table.caption_justify = "left"
        tables.append(table)
    return tables


_ENGINE_FIGURES = (
    ("ttft_ms", "TTFT {:.1f} ms"),
    ("tpot_ms", "TPOT {:.2f} ms"),
    ("itl_ms", "ITL {:.2f} ms"),
    ("ms_per_generated_token", "{:.2f} ms per generated token"),
    ("prompt_tokens_per_s", "prefill {:,.0f} tok/s"),
    ("generation_tokens", "{:,.0f} tokens generated"),
    ("prefix_cache_hits", "prefix-cache hits {:,.0f}"),
)


def engine_caption(figures: dict[str, float]) -> str:
    """The engine's view of the same benchmark (means from its own counters)."""
    return " · ".join(text.format(figures[key]) for key, text in _ENGINE_FIGURES if key in figures)


def provenance_lines(provenance: dict[str, Any]) -> list[str]:
    lines = []
    if command := provenance.get("command"):
        lines.append(f"command: {command if isinstance(command, str) else ' '.join(command)}")
    if image := provenance.get("image"):
        lines.append(f"image: {image} ({provenance.get('image_id', '')})")
    if version := provenance.get("engine_version"):
        lines.append(f"engine version: {version}")
    if (slots := recorded_slots(provenance)) is not None:
        lines.append(
            f"engine slots: {slots.slots} requests at once, {slots.slot_context} tokens each"
        )
    if (ready := provenance.get("start_to_healthy_s")) is not None:
        lines.append(f"start to healthy: {ready:.1f} s")
    if sanity := provenance.get("sanity"):
        lines.append(f"sanity: {sanity.get('prompt')!r} → {sanity.get('answer', '')[:80]!r}")
    return lines


def run_order_line(provenance: dict[str, Any], benchmark: str) -> str:
    """A shuffled benchmark's (variant, run) order as it ran; nothing for the sequential
    default."""
    record = provenance.get(RUN_ORDER, {}).get(benchmark)
    if not isinstance(record, dict) or record.get("order") != "shuffled":
        return ""
    return "  run order: shuffled: " + ", ".join(str(pair) for pair in record.get("runs", []))


def exact_tg_line(bench: BenchmarkResult) -> str:
    """A closed loop that forced every answer's length (``exact_tg``), said beside its table:
    its numbers are not comparable with a reference run that lets answers end early."""
    if not bench.exact_tg:
        return ""
    return "  exact tg: ignore_eos sent with every request (every answer exactly tg tokens)"


def tool_lines(bench: BenchmarkResult) -> list[str]:
    """Which reference tool ran the benchmark, and each of its command lines verbatim."""
    if bench.tool == "builtin":
        return []
    return [f"  {bench.tool}:", *(f"    $ {line}" for line in bench.command.splitlines())]


def show_results(console: Console, results: RunResults) -> None:
    console.print(f"[bold]{results.run_id}[/] · suite {results.suite} · {results.state}")
    for note in results.notes:
        console.print(f"  note: {note}")
    for job in results.jobs:
        console.print()
        console.print(job_header(job))
        if job.tier:
            console.print(f"  tier: {job.tier}", highlight=False)
        for flag in job.flags:
            console.print(f"  [red]flag:[/] {escape(flag)}", highlight=False, soft_wrap=True)
        if job.message:
            console.print(f"  {job.message}", highlight=False)
        for line in provenance_lines(job.provenance):
            console.print(f"  {line}", highlight=False, soft_wrap=True)
        if job.hardware_detail is not None:
            console.print(f"  {hardware_line(job.hardware_detail)}", highlight=False, markup=False)
        if line := telemetry_line(job):
            console.print(f"  {line}", highlight=False, markup=False)
        show_origin(console, job.origin)
        for bench, table in zip(job.benchmarks, benchmark_tables(job), strict=True):
            console.print(table)
            if has_turns(bench):
                console.print(view_table(TURNS, bench.variants, TURNS_TITLE, title_left=True))
            if line := exact_tg_line(bench):
                console.print(line, highlight=False, markup=False, soft_wrap=True)
            for line in tool_lines(bench):
                console.print(line, highlight=False, markup=False, style="dim", soft_wrap=True)
            if line := run_order_line(job.provenance, bench.id):
                console.print(line, highlight=False, markup=False, soft_wrap=True)
        if (energy := energy_table(job)) is not None:
            console.print(energy)
        show_imported_extras(console, job.origin)
    console.print("Values are mean ± population std over runs.")


def show_origin(console: Console, origin: Origin) -> None:
    """Where imported numbers come from: image, versions, driver and server settings (a
    measured job's provenance is the job's own, shown before)."""
    p = origin.provenance
    if p is None:
        return
    versions = [
        ("image", p.image),
        ("engine version", p.engine_version),
        ("vLLM", p.vllm_version),
        ("llama-benchy", p.llama_benchy_version),
        ("driver", p.driver),
        ("VBIOS", p.vbios),
        ("generated", p.generated_at),
    ]
    console.print(
        "  " + " · ".join(f"{name} {value}" for name, value in versions if value),
        highlight=False,
        markup=False,
    )
    if p.server_config:
        config = " ".join(f"{key}={value}" for key, value in p.server_config.items())
        console.print(f"  server: {config}", highlight=False, markup=False)


def _capacity_table(origin: Origin) -> Table | None:
    sweep = origin.rate_sweep
    if sweep is None:
        return None
    title = "Capacity under p95 TTFT limits"
    if sweep.failed:
        title += f" (sweep failed: {sweep.failed})"
    elif sweep.aborted_at_rps is not None:
        title += f" (sweep stopped at {sweep.aborted_at_rps:g} req/s: a lower bound)"
    table = Table(title=escape(title), title_justify="left")
    if sweep.excluded_rps:
        rates = ", ".join(f"{rate:g}" for rate in sweep.excluded_rps)
        table.caption = f"left out: {rates} req/s (too many failed requests)"
        table.caption_justify = "left"
    step = ("configured_rps", "achieved_rps", "ttft_p95_ms", "output_tps")
    for column in (metric("limit_s").label, *(metric(key).header for key in step)):
        table.add_column(column, justify="right")
    for limit_ms, point in sweep.capacity_by_slo_ms.items():
        limit = f"{float(limit_ms) / 1000:g} s"
        if point is None:
            table.add_row(limit, "failed" if sweep.failed else "none", "", "", "")
            continue
        table.add_row(
            limit,
            f"{point.configured_rps:g}",
            _number(point.achieved_rps),
            _number(point.ttft_p95_ms),
            _number(point.output_tps),
        )
    return table


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _peak(samples: list[TelemetrySample], field: str) -> str:
    values = [v for s in samples if (v := getattr(s, field)) is not None]
    return _number(max(values)) if values else ""


def _mean(samples: list[TelemetrySample], field: str) -> str:
    values = [v for s in samples if (v := getattr(s, field)) is not None]
    return _number(sum(values) / len(values)) if values else ""


def _telemetry_table(origin: Origin) -> Table | None:
    if not origin.telemetry:
        return None
    table = Table(title="Telemetry while each benchmark ran", title_justify="left")
    table.add_column("benchmark")
    for column in ("samples", "power W mean", "power W max", "temp °C max", "SM MHz mean"):
        table.add_column(column, justify="right")
    for bench, samples in origin.telemetry.items():
        table.add_row(
            bench,
            str(len(samples)),
            _mean(samples, "power_w"),
            _peak(samples, "power_w"),
            _peak(samples, "temp_c"),
            _mean(samples, "sm_mhz"),
        )
    return table


def show_imported_extras(console: Console, origin: Origin) -> None:
    """The rate sweep's capacity, telemetry summaries and the verbatim tool commands that a
    source folder carried (a measured job carries none)."""
    for table in (_capacity_table(origin), _telemetry_table(origin)):
        if table is not None:
            console.print(table)
    for bench, commands in origin.commands.items():
        for command in commands:
            console.print(f"  {bench}: {command}", highlight=False, markup=False, style="dim")


class ImportProblem(ArenaModel):
    file: str
    message: str


class ImportedSummary(ArenaModel):
    run_id: str
    source: str
    replaced: bool
    benchmarks: int
    variants: int
    verified_by: str = ""
    """Who signed it, when the controller verified it; empty: imported as unverified."""
    unverified_reason: str = ""

    @classmethod
    def of(
        cls, run: ImportedRun, run_id: str, replaced: bool, verified_by: str, unverified: str
    ) -> "ImportedSummary":
        return cls(
            run_id=run_id,
            source=run.source,
            replaced=replaced,
            benchmarks=len(run.benchmarks),
            variants=sum(len(b.variants) for b in run.benchmarks),
            verified_by=verified_by,
            unverified_reason=unverified,
        )


class ImportReport(ArenaModel):
    runs: list[ImportedSummary]
    problems: list[ImportProblem]


def show_import(console: Console, errors: Console, report: ImportReport) -> None:
    for problem in report.problems:
        errors.print(
            f"[yellow]problem:[/] {escape(problem.file)}: {escape(problem.message)}",
            highlight=False,
            soft_wrap=True,
        )
    for run in report.runs:
        verb = "replaced" if run.replaced else "imported"
        trust = (
            f"[green]verified[/] ({escape(run.verified_by)})"
            if run.verified_by
            else f"[yellow]unverified[/] ({escape(run.unverified_reason)})"
        )
        console.print(
            f"{verb} {run.run_id}  {escape(run.source)}  "
            f"({run.benchmarks} benchmarks, {run.variants} variants)  {trust}",
            highlight=False,
            soft_wrap=True,
        )
    replaced = sum(1 for run in report.runs if run.replaced)
    benchmarks = sum(run.benchmarks for run in report.runs)
    console.print(
        f"{len(report.runs)} run(s) imported ({replaced} replaced), {benchmarks} benchmarks, "
        f"{len(report.problems)} problem(s)",
        highlight=False,
    )
