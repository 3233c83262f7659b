"""Checks on what an agent reports beside its samples: GPU readings, reference-tool metrics and
heartbeat progress. Each names what cannot have been measured; the caller refuses the whole
batch (or report) and flags the job, as for samples (``metrics.sanity``).

GPU readings are held to physical ranges far wider than any board's (so no real reading is
refused) but narrow enough that one forged number cannot dominate an energy figure; NVML's
energy counter only ever grows, and no faster than the largest power allowed.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arena.common.metrics.sanity import EPSILON_S, capped
from arena.common.schemas.job import JobProgress
from arena.common.schemas.telemetry import GpuReading

MAX_GPUS = 1024
MAX_POWER_W = 5000.0
"""Per GPU: the largest boards draw about 1.2 kW, a whole superchip module under 3 kW."""
ENERGY_SLACK_S = 1.0
"""Energy a counter may gain beyond the time between two readings, at ``MAX_POWER_W``: the
counter and the reading's time stamp are not read at the same instant."""
RANGES: dict[str, tuple[float, float]] = {
    "power_w": (0.0, MAX_POWER_W),
    "gpu_util_pct": (0.0, 100.0),
    "mem_util_pct": (0.0, 100.0),
    "mem_used_mib": (0.0, 16.0 * 1024 * 1024),  # 16 TiB
    "sm_mhz": (0.0, 10_000.0),
    "mem_mhz": (0.0, 50_000.0),
    "temp_c": (-50.0, 200.0),
}
"""The physical range of each measured field of a ``GpuReading``; absent (None) is allowed."""


@dataclass(frozen=True)
class Counter:
    """A GPU's last energy reading already stored for the attempt."""

    t_s: float
    energy_mj: float


def reading_problems(
    readings: Sequence[GpuReading], stored: Mapping[int, Counter], latest_s: float | None
) -> list[str]:
    """What is wrong with a batch of readings, in the order they were taken; ``stored`` holds
    each GPU's last stored energy reading, ``latest_s`` the job's running time (None: none)."""
    problems = []
    last = dict(stored)
    for position, reading in enumerate(readings):
        problem = _reading_problem(reading, latest_s) or _counter_problem(reading, last)
        if problem is not None:
            problems.append(f"reading {position} (gpu {reading.gpu}): {problem}")
        elif reading.energy_mj is not None:
            last[reading.gpu] = Counter(reading.t_s, reading.energy_mj)
    return capped(problems)


def _reading_problem(reading: GpuReading, latest_s: float | None) -> str | None:
    if not 0 <= reading.gpu < MAX_GPUS:
        return f"gpu index {reading.gpu} is outside 0..{MAX_GPUS - 1}"
    if not math.isfinite(reading.t_s) or reading.t_s < -EPSILON_S:
        return f"t_s is {reading.t_s}"
    if latest_s is not None and reading.t_s > latest_s:
        return f"t_s ({reading.t_s:.3f}s) is past the job's running time"
    for name, (low, high) in RANGES.items():
        value = getattr(reading, name)
        if value is not None and not low <= value <= high:  # NaN is in no range
            return f"{name} is {value}; a GPU reads {low:g}..{high:g}"
    if reading.energy_mj is not None and not (
        math.isfinite(reading.energy_mj) and reading.energy_mj >= 0
    ):
        return f"energy_mj is {reading.energy_mj}"
    if reading.throttle_mask is not None and reading.throttle_mask < 0:
        return f"throttle_mask is {reading.throttle_mask}"
    return None


def _counter_problem(reading: GpuReading, last: Mapping[int, Counter]) -> str | None:
    before = last.get(reading.gpu)
    if reading.energy_mj is None or before is None:
        return None
    if reading.t_s < before.t_s - EPSILON_S:
        return f"t_s ({reading.t_s:.3f}) is before the GPU's previous reading ({before.t_s:.3f})"
    if reading.energy_mj < before.energy_mj:
        return f"energy counter went back from {before.energy_mj:g} to {reading.energy_mj:g} mJ"
    most = MAX_POWER_W * 1000.0 * (reading.t_s - before.t_s + ENERGY_SLACK_S)
    if reading.energy_mj - before.energy_mj > most:
        return (
            f"energy counter gained {reading.energy_mj - before.energy_mj:g} mJ in "
            f"{reading.t_s - before.t_s:.3f} s; at most {most:g} at {MAX_POWER_W:g} W"
        )
    return None


def tool_metric_problems(metrics: Mapping[str, Mapping[str, Any]], variants: set[str]) -> list[str]:
    """What is wrong with a reference tool's metrics ({variant key: {metric key: {mean, std,
    n}}}): a variant the benchmark does not run, a statistic of no values or not a number."""
    problems = []
    for variant, stats in metrics.items():
        if variant not in variants:
            problems.append(f"variant {variant!r} is not in the job's benchmark")
            continue
        for key, stat in stats.items():
            problem = _stat_problem(stat)
            if problem is not None:
                problems.append(f"{variant} {key}: {problem}")
    return capped(problems)


def _stat_problem(stat: Mapping[str, Any]) -> str | None:
    if stat["n"] < 1:
        return f"n is {stat['n']}; a statistic needs at least one value"
    for name in ("mean", "std"):
        if stat[name] is not None and not math.isfinite(stat[name]):
            return f"{name} is {stat[name]}"
    if stat["std"] is not None and stat["std"] < 0:
        return f"std is {stat['std']}"
    return None


PROGRESS_COUNTS = ("run", "requests_done", "requests_total", "errors")


MAX_COMPLETED = 1000
"""More completed benchmarks than any suite holds: a heartbeat that says so is refused."""
MAX_BENCHMARK_ID_CHARS = 200
"""A completed benchmark's id: a suite's ids are short names (a longer key is not one)."""
PROGRESS_TIMES = ("elapsed_s", "remaining_s", "benchmark_elapsed_s", "benchmark_remaining_s")
MAX_PROGRESS_S = 1e7
"""Longer than any job runs (≈ 116 days): a time past it is not an estimate but garbage that
would be shown and summed as one."""


def progress_problem(progress: JobProgress) -> str | None:
    """What is wrong with a heartbeat's progress of one job: counts below zero, a rate or a
    time that is not a finite number of at least zero (a time past ``MAX_PROGRESS_S``), a
    completed benchmark's id past ``MAX_BENCHMARK_ID_CHARS``."""
    for name in PROGRESS_COUNTS:
        if getattr(progress, name) < 0:
            return f"progress {name} is {getattr(progress, name)}"
    completed = progress.completed_benchmarks
    if len(completed) > MAX_COMPLETED or any(through < 0 for through in completed.values()):
        return f"progress completed_benchmarks is {str(completed)[:120]}"
    if any(len(key) > MAX_BENCHMARK_ID_CHARS for key in completed):
        return f"progress completed_benchmarks has an id over {MAX_BENCHMARK_ID_CHARS} characters"
    for name in ("output_tokens_per_s", *PROGRESS_TIMES):
        value = getattr(progress, name)
        if value is not None and not (math.isfinite(value) and value >= 0):
            return f"progress {name} is {value}"
    for name in PROGRESS_TIMES:
        if (value := getattr(progress, name)) is not None and value > MAX_PROGRESS_S:
            return f"progress {name} is {value:g} s; at most {MAX_PROGRESS_S:g}"
    return None
