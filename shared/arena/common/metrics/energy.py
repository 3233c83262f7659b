"""Power and energy over a benchmark's window, from telemetry readings: pure functions.

Power between two readings is taken as linear (trapezoid rule); at the window's edges it is
interpolated between the readings either side. Several GPUs are summed tick by tick. NVML's
energy counter, read at the same ticks, is interpolated the same way, so its delta over the
window checks the integrated power. Formulas: docs/telemetry.md.
"""

from collections import defaultdict
from collections.abc import Sequence

from arena.common.schemas.imported import TelemetrySample
from arena.common.schemas.results import EnergyFigures
from arena.common.schemas.telemetry import GpuReading

Point = tuple[float, float]
"""(time s, value)."""


def value_at(points: Sequence[Point], t: float) -> float | None:
    """Linear interpolation between the readings around ``t``; None outside their span."""
    if not points or t < points[0][0] or t > points[-1][0]:
        return None
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]  # a single reading exactly at t


def clip(points: Sequence[Point], start: float, end: float) -> list[Point] | None:
    """The readings inside [start, end] with interpolated values at both edges; None when the
    readings do not span the window (a figure over part of it would be wrong)."""
    first, last = value_at(points, start), value_at(points, end)
    if first is None or last is None:
        return None
    inside = [(t, v) for t, v in points if start < t < end]
    return [(start, first), *inside, (end, last)]


def trapezoid(points: Sequence[Point]) -> float:
    """∫ v dt with v linear between points."""
    pairs = zip(points, points[1:], strict=False)
    return sum((t1 - t0) * (v0 + v1) / 2 for (t0, v0), (t1, v1) in pairs)


def total_power(readings: Sequence[GpuReading]) -> tuple[list[Point], int] | None:
    """Power of all GPUs together at each tick, and the number of GPUs; None when any GPU
    reported no power at some tick (a partial sum would read as a lower power)."""
    by_tick: dict[float, list[float | None]] = defaultdict(list)
    gpus = {reading.gpu for reading in readings}
    for reading in readings:
        by_tick[reading.t_s].append(reading.power_w)
    points = []
    for t, powers in sorted(by_tick.items()):
        if len(powers) != len(gpus) or any(p is None for p in powers):
            return None
        points.append((t, sum(p for p in powers if p is not None)))
    return points, len(gpus)


def counter_delta_j(readings: Sequence[GpuReading], start: float, end: float) -> float | None:
    """Sum over GPUs of the energy counter's increase over the window, in joules."""
    series: dict[int, list[Point]] = defaultdict(list)
    for reading in sorted(readings, key=lambda r: r.t_s):
        if reading.energy_mj is not None:
            series[reading.gpu].append((reading.t_s, reading.energy_mj))
    if not series or len(series) != len({r.gpu for r in readings}):
        return None
    total = 0.0
    for points in series.values():
        first, last = value_at(points, start), value_at(points, end)
        if first is None or last is None:
            return None
        total += (last - first) / 1000.0
    return total


def discrepancy_pct(integrated_j: float | None, counter_j: float | None) -> float | None:
    if integrated_j is None or counter_j is None or counter_j <= 0:
        return None
    return (integrated_j - counter_j) / counter_j * 100.0


def per_token(
    energy_j: float | None, window_s: float, output_tokens: int | None
) -> tuple[float | None, float | None]:
    """(J per output token, output tokens/s per watt); the second is tokens per joule, the
    reciprocal of the first, quoted both ways because both are."""
    if energy_j is None or not output_tokens or energy_j <= 0 or window_s <= 0:
        return None, None
    return energy_j / output_tokens, output_tokens / energy_j


def benchmark_energy(
    readings: Sequence[GpuReading], start_s: float, end_s: float, output_tokens: int | None
) -> EnergyFigures:
    """Figures over [start_s, end_s] on the job clock; the counter's delta is the energy when
    every GPU has one (it is the hardware's own meter), integrated power otherwise."""
    window = max(end_s - start_s, 0.0)
    inside = sum(1 for t in {r.t_s for r in readings} if start_s <= t <= end_s)
    power = total_power(readings)
    clipped = clip(power[0], start_s, end_s) if power else None
    gpus = power[1] if power else len({r.gpu for r in readings})
    integrated = trapezoid(clipped) if clipped and window > 0 else None
    counter = counter_delta_j(readings, start_s, end_s) if window > 0 else None
    energy = counter if counter is not None else integrated
    source = "energy counter" if counter is not None else "integrated power"
    joules_per_token, tokens_per_joule = per_token(energy, window, output_tokens)
    notes = []
    if clipped is None:
        notes.append("power readings do not cover the window")
    if counter is None:
        notes.append("no energy counter: energy is integrated power")
    return EnergyFigures(
        window_s=window,
        gpus=gpus,
        readings=inside,
        output_tokens=output_tokens,
        mean_power_w=energy / window if energy is not None and window > 0 else None,
        peak_power_w=max(v for _, v in clipped) if clipped else None,
        energy_j=energy,
        energy_source=source if energy is not None else "none",
        integrated_energy_j=integrated,
        counter_energy_j=counter,
        counter_discrepancy_pct=discrepancy_pct(integrated, counter),
        joules_per_output_token=joules_per_token,
        output_tokens_per_s_per_w=tokens_per_joule,
        note="; ".join(notes),
    )


def csv_energy(
    samples: Sequence[TelemetrySample], output_tokens: int | None, note: str = ""
) -> EnergyFigures | None:
    """Figures over a reference telemetry file's whole span (first row → last row): it has
    power but no energy counter, so energy is integrated power and nothing cross-checks it."""
    points = sorted((s.elapsed_s, s.power_w) for s in samples if s.power_w is not None)
    if len(points) < 2:
        return None
    window = points[-1][0] - points[0][0]
    energy = trapezoid(points)
    joules_per_token, tokens_per_joule = per_token(energy, window, output_tokens)
    return EnergyFigures(
        window_s=window,
        gpus=1,
        readings=len(points),
        output_tokens=output_tokens,
        mean_power_w=energy / window if window > 0 else None,
        peak_power_w=max(v for _, v in points),
        energy_j=energy,
        energy_source="integrated power",
        integrated_energy_j=energy,
        joules_per_output_token=joules_per_token,
        output_tokens_per_s_per_w=tokens_per_joule,
        note=note,
    )
