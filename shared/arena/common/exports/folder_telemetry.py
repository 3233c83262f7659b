"""A benchmark's GPU readings as the reference's ``NN-telemetry.csv``.

Columns ``elapsed_s,power_w,temp_c,sm_mhz,gpu_util,mem_used_mb``, one row per tick, seconds from
the benchmark's first request. The window runs from the last tick at or before that request to
the first tick at or after the last completion, so the rows span the whole benchmark. With
several GPUs a row is the box: power and memory summed, the hottest temperature, mean SM clock
and utilisation; a tick where any GPU lacks a value leaves that cell empty (nvidia-smi's
"not available"), never a partial sum. Memory is NVML's MiB, which nvidia-smi also labels MB.
"""

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Sequence

from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading

COLUMNS = ("elapsed_s", "power_w", "temp_c", "sm_mhz", "gpu_util", "mem_used_mb")


def _combine(
    readings: Sequence[GpuReading],
    value: Callable[[GpuReading], float | None],
    how: Callable[[list[float]], float],
) -> str:
    values = [value(r) for r in readings]
    present = [v for v in values if v is not None]
    return f"{how(present):.2f}" if present and len(present) == len(values) else ""


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _window(ticks: list[float], start: float, end: float) -> list[float]:
    before = [t for t in ticks if t <= start]
    after = [t for t in ticks if t >= end]
    first = before[-1] if before else ticks[0]
    last = after[0] if after else ticks[-1]
    return [t for t in ticks if first <= t <= last]


def telemetry_csv(readings: Sequence[GpuReading], samples: Sequence[RequestSample]) -> str | None:
    """The CSV text, or ``None`` without requests or without readings."""
    ends = [s.end_s for s in samples if s.end_s is not None]
    if not samples or not ends or not readings:
        return None
    start = min(s.sent_s for s in samples)
    by_tick: dict[float, list[GpuReading]] = defaultdict(list)
    for reading in readings:
        by_tick[reading.t_s].append(reading)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for tick in _window(sorted(by_tick), start, max(ends)):
        gpus = by_tick[tick]
        writer.writerow(
            [
                f"{tick - start:.3f}",
                _combine(gpus, lambda r: r.power_w, sum),
                _combine(gpus, lambda r: r.temp_c, max),
                _combine(gpus, lambda r: r.sm_mhz, _mean),
                _combine(gpus, lambda r: r.gpu_util_pct, _mean),
                _combine(gpus, lambda r: r.mem_used_mib, sum),
            ]
        )
    return out.getvalue()
