"""The throughput / interactivity trade-off: one point per job and load level, frontier marked.

x is the total output tokens/s a configuration delivers; y is what one user sees, tokens/s per
request. Closed loop (one point per concurrency): x = ``tg_throughput`` (llama-benchy's batch
"t/s (total)"), y = ``tg_req_throughput`` (its per-request generation speed, "t/s (req)"; with
one request at a time the two are the same number, which is all llama-benchy prints then).
Open loop (one point per rate): x = ``output_throughput``, y = 1000 / ``mean_tpot_ms``.

A point is on the frontier when no other point of the same benchmark has x and y both at least
as high and one higher. Simulated and real results never share a frontier, and a benchmark over
the error-rate gate (``valid`` false) or partial (its job failed after it) is shown but takes
no part in it.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence

from arena.common.analysis.selection import JobRef, contains, job_ref
from arena.common.schemas.agent import HardwareInfo
from arena.common.schemas.results import (
    BenchmarkResult,
    EnergyFigures,
    JobResult,
    RunResults,
    VariantResult,
)


class ParetoPoint(JobRef):
    benchmark: str
    kind: str
    variant: str
    output_tps: float
    """x: total output tokens/s."""
    user_tps: float
    """y: tokens/s one request sees."""
    gpus: int | None
    """GPUs the job ran on (1 for a CPU); ``None`` when the result does not say."""
    output_tps_per_gpu: float | None
    mean_power_w: float | None
    """The benchmark's mean power over its whole window (all its variants)."""
    output_tps_per_w: float | None
    valid: bool
    partial: bool = False
    """A completed benchmark of a failed or cancelled job: shown, never on the frontier."""
    frontier: bool = False


def pareto_points(
    results: Iterable[RunResults], benchmark: str | None = None, hardware: str | None = None
) -> list[ParetoPoint]:
    """Every point of the selected results, frontier marked per benchmark and per kind of
    engine (simulated or real)."""
    points = [
        point
        for run in results
        for job in run.jobs
        if contains(job.hardware, hardware)
        for bench in job.benchmarks
        if benchmark is None or bench.id == benchmark
        for point in bench_points(run.run_id, job, bench)
    ]
    groups: dict[tuple[str, bool], list[ParetoPoint]] = defaultdict(list)
    for point in points:
        if point.valid and not point.partial:
            groups[(point.benchmark, point.simulated)].append(point)
    for group in groups.values():
        for point in frontier(group):
            point.frontier = True
    return points


def frontier(points: Sequence[ParetoPoint]) -> list[ParetoPoint]:
    """The points no other point dominates (x and y both ≥, one >)."""

    def dominated(p: ParetoPoint) -> bool:
        return any(
            q.output_tps >= p.output_tps
            and q.user_tps >= p.user_tps
            and (q.output_tps > p.output_tps or q.user_tps > p.user_tps)
            for q in points
        )

    return [p for p in points if not dominated(p)]


def gpu_count(
    hardware: HardwareInfo | None, energy: EnergyFigures | None, cpu_only: int | None = 1
) -> int | None:
    """The agent's GPUs (``cpu_only`` for a CPU-only agent: 1 puts a CPU box on the Pareto
    chart as one device, ``None`` leaves per-GPU figures out); an imported job says it by its
    telemetry."""
    if hardware is not None:
        return len(hardware.gpus) or cpu_only
    if energy is not None and energy.gpus > 0:
        return energy.gpus
    return None


def bench_points(run_id: str, job: JobResult, bench: BenchmarkResult) -> list[ParetoPoint]:
    gpus = gpu_count(job.hardware_detail, bench.energy)
    watts = bench.energy.mean_power_w if bench.energy is not None else None
    points = []
    for variant in bench.variants:
        xy = _xy(bench.kind, variant)
        if xy is None:
            continue
        x, y = xy
        points.append(
            ParetoPoint(
                **job_ref(run_id, job),
                benchmark=bench.id,
                kind=bench.kind,
                variant=variant.key,
                output_tps=x,
                user_tps=y,
                gpus=gpus,
                output_tps_per_gpu=x / gpus if gpus else None,
                mean_power_w=watts,
                output_tps_per_w=x / watts if watts else None,
                valid=bench.valid,
                partial=bench.partial,
            )
        )
    return points


def _xy(kind: str, variant: VariantResult) -> tuple[float, float] | None:
    if kind == "closed_loop":
        x = _mean(variant, "tg_throughput")
        y = _mean(variant, "tg_req_throughput")
        if y is None and variant.key.endswith("/c1"):
            y = x
    else:
        x = _mean(variant, "output_throughput")
        tpot_ms = _mean(variant, "mean_tpot_ms")
        y = 1000.0 / tpot_ms if tpot_ms else None
    return (x, y) if x is not None and y is not None else None


def _mean(variant: VariantResult, key: str) -> float | None:
    stat = variant.metrics.get(key)
    return stat.mean if stat is not None else None
