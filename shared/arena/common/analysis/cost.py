"""What an entry's output costs at a speed each user still finds usable, and its energy.

For each entry (model × profile × engine × hardware), the highest-throughput measured point
(``analysis.pareto``: one per concurrency or rate) of the preset's benchmark (the one its TTFT
is read on: ``chat`` for ``aggregate``, so a cost is always one workload's) whose per-user
output speed meets the target (``--per-user-tps``, default 20 tok/s); from it:

- cost per million output tokens = price per GPU-hour × GPUs ÷ (output tok/s × 3600) × 10⁶,
  from a price the user gives (``--gpu-hour-price``): Arena knows no prices;
- output tokens per kWh = output tok/s ÷ W × 3.6 × 10⁶, where telemetry recorded power; the
  watts are the benchmark's mean power over its whole window (all its load levels), so a point
  below the busiest one is charged a little more than it drew.

Only points whose numbers the ranking would accept count (``aggregate.status_of`` is ``ok``).
"""

import math
from collections.abc import Iterable

from arena.common.analysis.aggregate import OK, Entry, entry_of, status_of
from arena.common.analysis.pareto import ParetoPoint, bench_points
from arena.common.analysis.rank import PRESETS, Cost, name_of
from arena.common.schemas.results import JobResult

DEFAULT_PER_USER_TPS = 20.0
MAX_PER_USER_TPS = 100_000.0
MAX_GPU_HOUR_PRICE = 10_000.0
JOULES_PER_KWH = 3.6e6


def check_price(price: float) -> float:
    """A GPU-hour price in USD: finite, above 0, at most ``MAX_GPU_HOUR_PRICE``."""
    if not math.isfinite(price) or price <= 0 or price > MAX_GPU_HOUR_PRICE:
        raise ValueError(f"a price per GPU-hour in USD above 0 and at most {MAX_GPU_HOUR_PRICE:g}")
    return price


def check_per_user_tps(speed: float) -> float:
    if not math.isfinite(speed) or speed <= 0 or speed > MAX_PER_USER_TPS:
        raise ValueError(f"tokens/s per user above 0 and at most {MAX_PER_USER_TPS:g}")
    return speed


def entry_costs(
    jobs: Iterable[JobResult],
    preset: str,
    per_user_tps: float,
    gpu_hour_price: float | None,
    include_unverified: bool = False,
) -> dict[Entry, Cost]:
    """Per entry, its cost at the target speed on the preset's benchmark."""
    benchmark = PRESETS[preset].ttft_benchmark
    best: dict[Entry, ParetoPoint | None] = {}
    for job in jobs:
        entry = entry_of(job)
        best.setdefault(entry, None)
        for bench in job.benchmarks:
            if name_of(bench.id) != benchmark:
                continue
            for point in bench_points("", job, bench):
                ok = status_of(job, bench, include_unverified) == OK
                if not ok or point.user_tps < per_user_tps:
                    continue
                current = best[entry]
                if current is None or point.output_tps > current.output_tps:
                    best[entry] = point
    return {entry: _cost(point, per_user_tps, gpu_hour_price) for entry, point in best.items()}


def _cost(point: ParetoPoint | None, per_user_tps: float, price: float | None) -> Cost:
    if point is None:
        return Cost(
            per_user_tps=per_user_tps, note=f"no point at ≥ {per_user_tps:g} tok/s per user"
        )
    cost = Cost(
        per_user_tps=per_user_tps,
        benchmark=point.benchmark,
        variant=point.variant,
        output_tps=point.output_tps,
        user_tps=point.user_tps,
        gpus=point.gpus,
        tokens_per_kwh=(
            point.output_tps_per_w * JOULES_PER_KWH if point.output_tps_per_w else None
        ),
    )
    if price is not None and point.gpus and point.output_tps > 0:
        cost.usd_per_mtok = price * point.gpus / (point.output_tps * 3600) * 1e6
    elif price is not None:
        cost.note = "GPU count not recorded: no cost"
    return cost
