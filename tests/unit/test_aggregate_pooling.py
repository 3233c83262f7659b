"""Pooling the jobs of one entry: count-type keys stay counts, a worst run is never averaged."""

from arena.common.analysis.aggregate import aggregate
from arena.common.metrics.box import box_summary
from arena.common.schemas.results import BenchmarkResult, JobResult, MetricStat, VariantResult


def job(index: int, throttled: list[float], worst_lag: float) -> JobResult:
    box = box_summary([{"throttled_runs": value} for value in throttled])
    metrics = {key: MetricStat(mean=s.mean, std=s.std, n=s.n) for key, s in box.items()}
    metrics |= {
        "tg_throughput": MetricStat(mean=100.0, std=1.0, n=len(throttled)),
        "client_worst_run": MetricStat(mean=float(index), std=0.0, n=1),
        "worst_run_loop_lag_p99_ms": MetricStat(mean=worst_lag, std=0.0, n=1),
    }
    variant = VariantResult(key="pp64/tg32/d0/c2", runs=len(throttled), metrics=metrics)
    bench = BenchmarkResult(id="01-chat", title="Chat", kind="closed_loop", variants=[variant])
    return JobResult(
        job_id=f"job-{index}",
        target="t",
        model="m",
        engine="vllm",
        agent="a",
        hardware="H100",
        simulated=False,
        state="succeeded",
        message="",
        benchmarks=[bench],
    )


def test_throttled_runs_pool_to_their_count_and_the_worst_run_to_the_largest() -> None:
    # job 1: 1 of 3 runs throttled; job 2: 2 of 3
    [row] = aggregate([job(1, [1.0, 0.0, 0.0], 0.4), job(2, [1.0, 1.0, 0.0], 3.0)])
    throttled = row.metrics["throttled_runs"]
    assert throttled.n == 6 and throttled.mean is not None
    assert round(throttled.mean * throttled.n) == 3  # before: the counts 1 and 2 averaged, 1.5
    assert row.metrics["worst_run_loop_lag_p99_ms"].mean == 3.0  # before: 1.7, no run's value
    assert "client_worst_run" not in row.metrics  # before: run 1.5, no run at all
