"""What an entry's output costs at a speed each user still finds usable, and its energy.

For each entry (model × profile × engine × hardware), the highest-throughput measured point
(``analysis.pareto``: one per concurrency or rate) of the preset's benchmark (the one its TTFT
is read on: ``chat`` for ``aggregate``, so a cost is always one workload's) whose per-user
output speed meets the target (``--per-user-tps``, default 20 tok/s); from it:

- the rate: ``output_throughput``, output tokens ÷ wall time, prefill included (open loop the
  benchmark's, closed loop each batch's). A closed loop measured before Arena recorded it, or
  imported from llama-benchy, has only the decode rate ``tg_throughput``, which leaves prefill
  time out: its cost is then a lower bound, and the note says so;
- cost per million output tokens = price per GPU-hour × GPUs ÷ (rate × 3600) × 10⁶, from a
  price the user gives (``--gpu-hour-price``): Arena knows no prices. The GPUs are the
  engine's (``engine_gpus``); an engine on no GPU (a CPU box, or a container given none) has
  no GPU-hour cost;
- output tokens per kWh = rate ÷ W × 3.6 × 10⁶ with the point's own power (``gpu_power_mean_w``,
  the variant's runs' mean); without it, the benchmark's measured output tokens ÷ its energy
  × 3.6 × 10⁶ (every load level together, said in the note); neither: none.

Only points whose numbers the ranking would accept count (``aggregate.status_of`` is ``ok``).
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

from arena.common.analysis.aggregate import OK, Entry, entry_of, status_of
from arena.common.analysis.pareto import ParetoPoint, bench_points
from arena.common.analysis.rank import PRESETS, Cost, name_of
from arena.common.schemas.results import BenchmarkResult, JobResult, VariantResult

DEFAULT_PER_USER_TPS = 20.0
MAX_PER_USER_TPS = 100_000.0
MAX_GPU_HOUR_PRICE = 10_000.0
JOULES_PER_KWH = 3.6e6
WALL_RATE = "output_throughput"
DECODE_RATE = "tg_throughput"


def check_price(price: float) -> float:
    """A GPU-hour price in USD: finite, above 0, at most ``MAX_GPU_HOUR_PRICE``."""
    if not math.isfinite(price) or price <= 0 or price > MAX_GPU_HOUR_PRICE:
        raise ValueError(f"a price per GPU-hour in USD above 0 and at most {MAX_GPU_HOUR_PRICE:g}")
    return price


def check_per_user_tps(speed: float) -> float:
    if not math.isfinite(speed) or speed <= 0 or speed > MAX_PER_USER_TPS:
        raise ValueError(f"tokens/s per user above 0 and at most {MAX_PER_USER_TPS:g}")
    return speed


def engine_gpus(job: JobResult, bench: BenchmarkResult) -> tuple[int | None, str]:
    """The GPUs the engine ran on, and how that is known: the engine profile's ``gpus`` the
    agent recorded (a count, device ids, ``all`` of the box's, none); else the box's GPUs, or
    an import's telemetry's. 0: no GPU. ``None``: not known."""
    box = len(job.hardware_detail.gpus) if job.hardware_detail is not None else None
    if "gpus" in job.provenance:
        given = job.provenance["gpus"]
        if given is None:
            return 0, "the engine was given no GPU"
        if isinstance(given, int) and not isinstance(given, bool):
            return given, ""
        if isinstance(given, list):
            return len(given), ""
        if given == "all" and box is not None:
            return box, ""
    if box is not None:
        return box, "" if box == 0 else "the box's GPUs (the engine's own not recorded)"
    if bench.energy is not None and bench.energy.gpus > 0:
        return bench.energy.gpus, ""
    return None, ""


@dataclass(frozen=True)
class _Candidate:
    point: ParetoPoint
    rate: float
    rate_key: str
    watts: float | None
    """The variant's own mean GPU power over its runs."""
    bench: BenchmarkResult
    gpus: int | None
    gpus_note: str


def _candidate(
    point: ParetoPoint, variant: VariantResult, job: JobResult, bench: BenchmarkResult
) -> _Candidate:
    wall = variant.metrics.get(WALL_RATE)
    power = variant.metrics.get("gpu_power_mean_w")
    gpus, note = engine_gpus(job, bench)
    if wall is not None and wall.mean is not None and wall.mean > 0:
        rate, key = wall.mean, WALL_RATE
    else:
        rate, key = point.output_tps, DECODE_RATE
    watts = power.mean if power is not None and power.mean else None
    return _Candidate(point, rate, key, watts, bench, gpus, note)


def entry_costs(
    jobs: Iterable[JobResult],
    preset: str,
    per_user_tps: float,
    gpu_hour_price: float | None,
    include_unverified: bool = False,
) -> dict[Entry, Cost]:
    """Per entry, its cost at the target speed on the preset's benchmark."""
    benchmark = PRESETS[preset].ttft_benchmark
    best: dict[Entry, _Candidate | None] = {}
    for job in jobs:
        entry = entry_of(job)
        best.setdefault(entry, None)
        for bench in job.benchmarks:
            if name_of(bench.id) != benchmark or status_of(job, bench, include_unverified) != OK:
                continue
            variants = {variant.key: variant for variant in bench.variants}
            for point in bench_points("", job, bench):
                if point.user_tps < per_user_tps:
                    continue
                found = _candidate(point, variants[point.variant], job, bench)
                current = best[entry]
                if current is None or found.rate > current.rate:
                    best[entry] = found
    return {entry: _cost(found, per_user_tps, gpu_hour_price) for entry, found in best.items()}


def _tokens_per_kwh(found: _Candidate) -> tuple[float | None, str]:
    if found.watts and found.rate_key == WALL_RATE:
        return found.rate / found.watts * JOULES_PER_KWH, ""
    energy = found.bench.energy
    if energy is not None and energy.output_tokens and energy.energy_j:
        whole = energy.output_tokens / energy.energy_j * JOULES_PER_KWH
        return whole, "tok/kWh of the whole benchmark (no power per load level)"
    if energy is not None and energy.mean_power_w:
        return None, "no tok/kWh: neither this load level's power nor the benchmark's tokens"
    return None, ""


def _cost(found: _Candidate | None, per_user_tps: float, price: float | None) -> Cost:
    if found is None:
        return Cost(
            per_user_tps=per_user_tps, note=f"no point at ≥ {per_user_tps:g} tok/s per user"
        )
    point = found.point
    per_kwh, kwh_note = _tokens_per_kwh(found)
    notes = [kwh_note, found.gpus_note]
    cost = Cost(
        per_user_tps=per_user_tps,
        benchmark=point.benchmark,
        variant=point.variant,
        output_tps=found.rate,
        rate_key=found.rate_key,
        user_tps=point.user_tps,
        gpus=found.gpus,
        tokens_per_kwh=per_kwh,
    )
    if found.rate_key == DECODE_RATE:
        notes.append("decode-only rate (no wall-clock rate recorded): cost is a lower bound")
    if price is not None and found.gpus == 0:
        notes.append("no GPU: no GPU-hour cost")
    elif price is not None and found.gpus and found.rate > 0:
        cost.usd_per_mtok = price * found.gpus / (found.rate * 3600) * 1e6
    elif price is not None:
        notes.append("GPU count not recorded: no cost")
    cost.note = "; ".join(note for note in notes if note)
    return cost
