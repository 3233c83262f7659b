"""Capacity and Pareto on hand-made results: what simulated and invalid results do to them."""

from arena.common.analysis.capacity import capacity_rows
from arena.common.analysis.pareto import pareto_points
from arena.common.metrics.validity import MAX_ERROR_RATE, assess
from arena.common.schemas.agent import GpuInfo, HardwareInfo
from arena.common.schemas.results import (
    BenchmarkResult,
    JobResult,
    MetricStat,
    RunResults,
    VariantResult,
)
from arena.common.views.frontier import POINT_MODEL

TWO_GPUS = HardwareInfo(
    cpu_model="Xeon",
    cpu_arch="x86_64",
    cpu_cores=8,
    ram_gb=64,
    os="Linux",
    kernel="6.8",
    hostname="box",
    gpus=[GpuInfo(name="H200", memory_gb=141)] * 2,
)


def stat(mean: float) -> MetricStat:
    return MetricStat(mean=mean, std=0.0, n=3)


def step(rate: float, p95_ms: float, out_tps: float, failed: int = 0) -> VariantResult:
    metrics = {
        "p95_ttft_ms": p95_ms,
        "request_throughput": rate * 0.9,
        "output_throughput": out_tps,
        "mean_tpot_ms": 20.0,
        "completed": 100 - failed,
        "failed": failed,
    }
    return VariantResult(
        key=f"rate{rate:g}", runs=3, metrics={k: stat(v) for k, v in metrics.items()}
    )


def closed(concurrency: int, total: float, per_request: float) -> VariantResult:
    metrics = {"tg_throughput": stat(total), "tg_req_throughput": stat(per_request)}
    return VariantResult(key=f"pp512/tg128/d0/c{concurrency}", runs=3, metrics=metrics)


def job(job_id: str, benchmarks: list[BenchmarkResult], simulated: bool = False) -> JobResult:
    return JobResult(
        job_id=job_id,
        target="t",
        model="m",
        engine="simulated" if simulated else "vllm",
        agent="a",
        hardware="H200",
        simulated=simulated,
        state="succeeded",
        message="",
        benchmarks=benchmarks,
        hardware_detail=TWO_GPUS,
    )


def sweep(valid: bool = True) -> BenchmarkResult:
    steps = [step(0.1, 900.0, 50.0), step(0.5, 4000.0, 240.0), step(1.0, 12000.0, 300.0)]
    return BenchmarkResult(
        id="11-rate-sweep",
        title="Rate sweep",
        kind="open_loop",
        variants=steps,
        valid=valid,
        flags=[] if valid else ["invalid: 30 of 100 requests failed"],
    )


def chat(variants: list[VariantResult], valid: bool = True) -> BenchmarkResult:
    return BenchmarkResult(
        id="01-chat", title="Chat", kind="closed_loop", variants=variants, valid=valid
    )


def test_measured_capacity_is_the_highest_configured_step_under_each_limit() -> None:
    results = RunResults(
        run_id="r", suite="s", state="succeeded", notes=[], jobs=[job("j", [sweep()])]
    )
    rows = capacity_rows([results], MAX_ERROR_RATE)
    assert [(r.limit_ms, r.status, r.point and r.point.configured_rps) for r in rows] == [
        (2000.0, "ok", 0.1),
        (5000.0, "ok", 0.5),
        (10000.0, "ok", 0.5),
    ]
    assert rows[1].point is not None and rows[1].point.achieved_rps == 0.45
    assert all(r.source == "measured" for r in rows)


def test_an_invalid_sweep_gives_no_capacity_and_a_simulated_one_says_so() -> None:
    results = RunResults(
        run_id="r",
        suite="s",
        state="succeeded",
        notes=[],
        jobs=[job("bad", [sweep(valid=False)]), job("sim", [sweep()], True)],
    )
    rows = capacity_rows([results], MAX_ERROR_RATE)
    bad = [r for r in rows if r.job_id == "bad"]
    assert [(r.status, r.point) for r in bad] == [("invalid", None)] * 3
    assert all("30 of 100 requests failed" in r.note for r in bad)
    assert all(r.simulated for r in rows if r.job_id == "sim")
    assert capacity_rows([results], MAX_ERROR_RATE, hardware="MI300") == []


def test_frontier_keeps_simulated_apart_and_leaves_invalid_out() -> None:
    real = job(
        "real", [chat([closed(1, 40.0, 40.0), closed(8, 200.0, 25.0), closed(16, 180.0, 12.0)])]
    )
    fast = job("sim", [chat([closed(8, 900.0, 90.0)])], simulated=True)
    broken = job("broken", [chat([closed(8, 500.0, 60.0)], valid=False)])
    results = RunResults(
        run_id="r", suite="s", state="succeeded", notes=[], jobs=[real, fast, broken]
    )
    points = {(p.job_id, p.variant.rsplit("/", 1)[1]): p for p in pareto_points([results])}
    on = {key for key, p in points.items() if p.frontier}
    # c16 is beaten by c8 (200 ≥ 180, 25 ≥ 12); the simulated point beats everything real but
    # sits on its own frontier; the invalid one is shown but never on a frontier.
    assert on == {("real", "c1"), ("real", "c8"), ("sim", "c8")}
    assert not points[("broken", "c8")].valid
    assert points[("real", "c8")].output_tps_per_gpu == 100.0 and points[("real", "c8")].gpus == 2
    assert points[("real", "c8")].output_tps_per_w is None  # no telemetry, no watts
    only_sweep = pareto_points([results], benchmark="11-rate-sweep")
    assert only_sweep == []


def test_a_step_at_the_limit_is_not_under_it_and_a_failing_step_is_left_out() -> None:
    """0.3 req/s has a p95 of exactly 2 s: not under 2 s. 0.7 req/s is under 5 s but lost 11 of
    100 requests (> 10 %), so 5 s falls back to 0.5 req/s, as the import does with a
    published step."""
    steps = [step(0.1, 900.0, 50.0), step(0.3, 2000.0, 140.0), step(0.5, 4000.0, 240.0)]
    steps.append(step(0.7, 4500.0, 320.0, failed=11))
    bench = BenchmarkResult(
        id="11-rate-sweep", title="Rate sweep", kind="open_loop", variants=steps
    )
    results = RunResults(
        run_id="r", suite="s", state="succeeded", notes=[], jobs=[job("j", [bench])]
    )
    rows = capacity_rows([results], MAX_ERROR_RATE)
    assert [r.point and r.point.configured_rps for r in rows] == [0.1, 0.5, 0.5]
    assert all(r.note == "left out: 0.7 req/s (too many failed requests)" for r in rows)
    assert [r.point and r.point.configured_rps for r in capacity_rows([results], 0.2)] == [
        0.1,
        0.7,
        0.7,
    ]


def test_an_oversaturated_step_is_never_capacity_even_under_the_limit() -> None:
    # the 0.5 req/s step's p95 (4 s) is under 5 and 10 s only because its run ended while the
    # queue was still growing: one of its runs had no steady state
    bench = sweep()
    half = bench.variants[1]
    half.metrics["oversaturated"] = MetricStat(mean=1 / 3, std=0.47, n=3)
    bench.variants[0].metrics["oversaturated"] = stat(0.0)
    assess(bench)
    flag = "over-saturated at 0.5 req/s: requests in flight and TTFT kept growing"
    assert any(f.startswith(flag) for f in bench.flags) and bench.valid
    results = RunResults(
        run_id="r", suite="s", state="succeeded", notes=[], jobs=[job("j", [bench])]
    )
    rows = capacity_rows([results], MAX_ERROR_RATE)
    assert [(r.limit_ms, r.status, r.point and r.point.configured_rps) for r in rows] == [
        (2000.0, "ok", 0.1),
        (5000.0, "ok", 0.1),  # main: 0.5
        (10000.0, "ok", 0.1),  # main: 0.5
    ]
    assert all(r.note == "left out: 0.5 req/s (over-saturated: no steady state)" for r in rows)


def test_a_partial_benchmark_is_shown_but_counts_for_no_frontier_or_capacity() -> None:
    """A benchmark that completed in a job that then failed: its numbers are whole, its job's
    are not; it stands apart, as an invalid one does, with its own reason."""
    whole = job("whole", [chat([closed(8, 200.0, 25.0)])])
    cut = chat([closed(8, 500.0, 60.0)]).model_copy(update={"partial": True})
    cut_sweep = sweep().model_copy(update={"partial": True, "flags": ["partial: its job …"]})
    failed = job("failed", [cut, cut_sweep])
    results = RunResults(run_id="r", suite="s", state="failed", notes=[], jobs=[whole, failed])
    points = {p.job_id: p for p in pareto_points([results])}
    assert points["failed"].partial and not points["failed"].frontier
    assert points["whole"].frontier
    assert POINT_MODEL.mark(points["failed"]) == "partial"
    rows = [r for r in capacity_rows([results], MAX_ERROR_RATE) if r.job_id == "failed"]
    assert [(r.status, r.point) for r in rows] == [("partial", None)] * 3
    assert all(r.note.startswith("partial: its job") for r in rows)
