"""What the box did during each run, from the job's GPU telemetry: pure functions.

A run's window is its first send → its last completion (the samples' own times, on the job
clock the readings share). Its figures are read from the NVML readings inside that window;
a run shorter than the sampling interval, with no reading inside, takes the readings either
side of it, so a short run is described by the ticks around it rather than by nothing.

- ``sm_clock_mhz``: median SM clock over the window's readings (all GPUs); ``sm_clock_min_mhz``
  the lowest.
- ``gpu_temp_max_c``: hottest reading; ``gpu_power_mean_w``: mean of the GPUs' summed power per
  tick.
- ``throttled_runs``: 1 when any reading had a thermal or power throttle reason set
  (``THERMAL_POWER_REASONS``); idle, application-clock, sync-boost and display reasons say
  nothing about heat or power and are ignored. Per variant it is the share of its runs that
  were throttled (mean of the 0/1 values, so mean × n counts them, and pooling stays exact).
  ``sw_power_cap`` counts: it is a power limit holding the clocks down, though routine on a
  GPU run at its TDP; a box *moved* between runs only where the runs' throttle state differs
  (``attribution``), so every run sitting at the cap is no movement.
- ``sm_clock_drop_pct``: how far the run's median SM clock sat below the fastest run of the
  *same variant* (its other runs: same load), in %. A run more than ``CLOCK_DROP_PCT`` below is
  flagged; a variant at a higher load running at lower clocks than another is not a slowdown.
  The same rule and limit decide whether the box moved in ``attribution``.

Formulas and limits: docs/telemetry.md. Listings load this module through ``validity``: it
imports no NumPy at load time.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from statistics import median
from typing import TYPE_CHECKING

from arena.common.schemas.telemetry import GpuReading

if TYPE_CHECKING:
    from arena.common.stats import MeanStd

CLOCK_DROP_PCT = 2.0
"""A run whose median SM clock is more than this far below its variant's fastest run is flagged
as slowed down (the spread check's own ±2 %: a clock that moved this much can explain it)."""
THERMAL_POWER_REASONS = frozenset(
    {
        "sw_power_cap",
        "hw_slowdown",
        "sw_thermal_slowdown",
        "hw_thermal_slowdown",
        "hw_power_brake_slowdown",
    }
)
"""NVML throttle reasons that mean heat or power held the clocks down (``telemetry.nvml``)."""

BOX_KEYS = (
    "sm_clock_mhz",
    "sm_clock_min_mhz",
    "sm_clock_drop_pct",
    "gpu_temp_max_c",
    "gpu_power_mean_w",
    "throttled_runs",
)
"""The per-run keys this module writes into a run's metrics."""


def window_readings(
    readings: Sequence[GpuReading], start_s: float, end_s: float
) -> list[GpuReading]:
    """The readings inside [start_s, end_s]; with none inside, the last tick before and the
    first after (all GPUs of each), or nothing when the telemetry does not reach the run."""
    inside = [r for r in readings if start_s <= r.t_s <= end_s]
    if inside:
        return inside
    before = [r.t_s for r in readings if r.t_s < start_s]
    after = [r.t_s for r in readings if r.t_s > end_s]
    if not before or not after:
        return []
    edges = {max(before), min(after)}
    return [r for r in readings if r.t_s in edges]


def throttled(reading: GpuReading) -> bool:
    return any(reason in THERMAL_POWER_REASONS for reason in reading.throttle_reasons)


def run_box(readings: Sequence[GpuReading], start_s: float, end_s: float) -> dict[str, float]:
    """One run's box figures (keys above, less the drop, which needs the benchmark's other
    runs); empty when no reading covers the run. A figure no GPU reported is left out."""
    found = window_readings(readings, start_s, end_s)
    if not found:
        return {}
    figures: dict[str, float] = {}
    clocks = [r.sm_mhz for r in found if r.sm_mhz is not None]
    if clocks:
        figures["sm_clock_mhz"] = float(median(clocks))
        figures["sm_clock_min_mhz"] = min(clocks)
    temps = [r.temp_c for r in found if r.temp_c is not None]
    if temps:
        figures["gpu_temp_max_c"] = max(temps)
    power_by_tick: dict[float, float] = defaultdict(float)
    for reading in found:
        if reading.power_w is not None:
            power_by_tick[reading.t_s] += reading.power_w
    if power_by_tick:
        figures["gpu_power_mean_w"] = sum(power_by_tick.values()) / len(power_by_tick)
    if any(r.throttle_mask is not None for r in found):
        figures["throttled_runs"] = 1.0 if any(throttled(r) for r in found) else 0.0
    return figures


def clock_drops(clocks: Sequence[float]) -> list[float]:
    """Each median SM clock's drop below the fastest of them, in % of the fastest."""
    top = max(clocks, default=0.0)
    return [(top - clock) / top * 100 for clock in clocks] if top > 0 else []


def add_clock_drops(runs: Mapping[tuple[str, int], dict[str, float]]) -> None:
    """Set each run's ``sm_clock_drop_pct`` against the fastest run of its own variant
    (``runs`` keyed by variant and run), in place."""
    by_variant: dict[str, list[dict[str, float]]] = defaultdict(list)
    for (variant, _), run in runs.items():
        if run.get("sm_clock_mhz"):
            by_variant[variant].append(run)
    for clocked in by_variant.values():
        drops = clock_drops([run["sm_clock_mhz"] for run in clocked])
        for run, drop in zip(clocked, drops, strict=True):
            run["sm_clock_drop_pct"] = drop


def box_summary(per_run: Sequence[Mapping[str, float | None]]) -> dict[str, "MeanStd"]:
    """A variant's box figures over its runs: mean ± std of each (``throttled_runs``'s mean is
    the share of throttled runs)."""
    from arena.common.stats import MeanStd  # NumPy: validity (listings) reads this module

    summary: dict[str, MeanStd] = {}
    for key in BOX_KEYS:
        values = [float(v) for run in per_run if (v := run.get(key)) is not None]
        if values:
            summary[key] = MeanStd.of(values)
    return summary


RunFigures = Mapping[str, Mapping[int, Mapping[str, float | None]]]
"""A benchmark's per-run metrics: variant key → run number → metrics."""


def slowed_runs(runs: RunFigures) -> list[str]:
    """``variant run N`` for each run whose clock fell beyond ``CLOCK_DROP_PCT`` or that was
    throttled, with what happened, e.g. ``c5 run 2 (SM −7.1 %, throttled)``."""
    found = []
    for variant, per_run in runs.items():
        for index, run in sorted(per_run.items()):
            why = []
            drop = run.get("sm_clock_drop_pct")
            if drop is not None and drop > CLOCK_DROP_PCT:
                why.append(f"SM −{drop:.1f} %")
            if run.get("throttled_runs"):
                why.append("thermal/power throttle")
            if why:
                found.append(f"{variant} run {index} ({', '.join(why)})")
    return found
