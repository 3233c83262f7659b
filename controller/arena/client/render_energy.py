"""arenactl's view of hardware and energy: the job's fingerprint, its telemetry status and a
table of power and energy per benchmark."""

from rich.table import Table

from arena.common.schemas.agent import HardwareInfo
from arena.common.schemas.results import EnergyFigures, JobResult


def hardware_line(hardware: HardwareInfo) -> str:
    """Everything the agent reported about the box, in one line."""
    parts = []
    if hardware.gpus:
        gpu = hardware.gpus[0]
        memory = f"{gpu.memory_gb:g} GB" + (" unified" if gpu.unified_memory else "")
        facts = [
            memory,
            f"cc {gpu.compute_capability}" if gpu.compute_capability else "",
            f"driver {gpu.driver}" if gpu.driver else "",
            f"CUDA {gpu.cuda}" if gpu.cuda else "",
            f"VBIOS {gpu.vbios}" if gpu.vbios else "",
            f"power limit {gpu.power_limit_w:g} W" if gpu.power_limit_w is not None else "",
        ]
        parts.append(f"{len(hardware.gpus)}× {gpu.name} ({', '.join(f for f in facts if f)})")
    parts.append(
        f"CPU {hardware.cpu_model} ({hardware.cpu_arch}, {hardware.cpu_cores} cores), "
        f"{hardware.ram_gb:g} GB RAM"
    )
    parts.append(f"{hardware.os}, kernel {hardware.kernel}")
    parts.append(f"container runtime {hardware.container_runtime or 'none'}")
    return "hardware: " + " · ".join(parts)


def _value(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _check(figures: EnergyFigures) -> str:
    """Integrated power against the energy counter, the discrepancy in percent."""
    if figures.counter_discrepancy_pct is None:
        return "no counter"
    return f"{figures.counter_discrepancy_pct:+.1f}%"


def energy_table(job: JobResult) -> Table | None:
    rows = [(bench.id, bench.energy) for bench in job.benchmarks if bench.energy is not None]
    if not rows:
        return None
    table = Table(title="Power and energy per benchmark", title_justify="left")
    table.add_column("benchmark")
    for column in (
        "window\ns",
        "mean\nW",
        "peak\nW",
        "energy\nJ",
        "output\ntokens",
        "energy/token\nJ",
        "tok/s\nper W",
        "integrated vs\ncounter",
    ):
        table.add_column(column, justify="right")
    notes: dict[str, list[str]] = {}
    for bench_id, figures in rows:
        table.add_row(
            bench_id,
            _value(figures.window_s),
            _value(figures.mean_power_w),
            _value(figures.peak_power_w),
            _value(figures.energy_j, 0),
            "" if figures.output_tokens is None else f"{figures.output_tokens:,}",
            _value(figures.joules_per_output_token, 4),
            _value(figures.output_tokens_per_s_per_w, 2),
            _check(figures),
        )
        if figures.note:
            notes.setdefault(figures.note, []).append(bench_id)
    sources = sorted({figures.energy_source for _, figures in rows})
    table.caption = "energy from " + ", ".join(sources)
    for note, bench_ids in notes.items():
        table.caption += f"\n{', '.join(bench_ids)}: {note}"
    table.caption_justify = "left"
    return table


def telemetry_line(job: JobResult) -> str:
    return f"telemetry: {job.telemetry}" if job.telemetry else ""
