"""The figure builders on hand-made data: what they draw, label, thin and leave empty."""

import numpy as np
import pytest

from arena.common import figures
from arena.common.analysis.capacity import CapacityRow
from arena.common.figures.latency import values_ms
from arena.common.schemas.imported import CapacityPoint, TelemetrySample
from arena.common.schemas.results import (
    BenchmarkResult,
    JobResult,
    MetricStat,
    RunResults,
    VariantResult,
)
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading


def job(simulated: bool = False, state: str = "succeeded", valid: bool = True) -> JobResult:
    variants = [
        VariantResult(
            key=f"pp64/tg16/d0/c{c}",
            runs=3,
            metrics={"tg_throughput": MetricStat(mean=10.0 * c, std=1.0, n=3)},
        )
        for c in (4, 1, 2)
    ]
    bench = BenchmarkResult(
        id="01-chat", title="Chat", kind="closed_loop", variants=variants, valid=valid
    )
    return JobResult(
        job_id="job-1",
        target="any",
        model="tiny",
        engine="vllm",
        agent="box",
        hardware="NVIDIA H200 (141 GB)",
        simulated=simulated,
        state=state,
        message="",
        benchmarks=[bench],
    )


def sample(sent: float, first: float | None, chunks: list[float], error: str | None = None):
    return RequestSample(
        benchmark="01-chat",
        variant="c1",
        run=0,
        index=0,
        sent_s=sent,
        first_token_s=first,
        end_s=chunks[-1] if chunks else None,
        chunk_times_s=chunks,
        error=error,
    )


def test_a_series_is_named_by_what_it_measured_and_labelled() -> None:
    assert figures.series_name(job()) == "tiny · vllm · NVIDIA H200"
    bad = job(simulated=True, state="failed", valid=False)
    assert figures.series_name(bad, bad.benchmarks[0]) == (
        "tiny · vllm · NVIDIA H200 [simulated] [failed] [invalid]"
    )


def test_throughput_per_concurrency_in_order_with_std_bars() -> None:
    run = RunResults(run_id="run-1", suite="s", state="succeeded", notes=[], jobs=[job()])
    figure = figures.throughput_figures([run])["01-chat"]
    (trace,) = figure.data
    assert list(trace.x) == [1.0, 2.0, 4.0] and list(trace.y) == [10.0, 20.0, 40.0]
    assert list(trace.error_y.array) == [1.0, 1.0, 1.0]
    assert list(trace.customdata[0]) == ["pp64/tg16/d0/c1", "run run-1 · job job-1"]
    simulated = run.model_copy(update={"jobs": [job(simulated=True)]})
    (dotted,) = figures.throughput_figures([simulated])["01-chat"].data
    assert dotted.line.dash == "dot" and dotted.name.endswith("[simulated]")


def test_ttft_and_itl_come_from_successful_requests_only() -> None:
    samples = [
        sample(0.0, 0.1, [0.1, 0.15, 0.25]),
        sample(1.0, 1.2, [1.2]),
        sample(2.0, None, [], error="HTTP 500"),
    ]
    assert values_ms(samples, "ttft").tolist() == pytest.approx([100.0, 200.0])
    assert values_ms(samples, "itl").tolist() == pytest.approx([50.0, 100.0])


def test_a_cdf_keeps_every_point_or_exact_quantiles() -> None:
    x, y = figures.cdf(np.array([3.0, 1.0, 2.0]))
    assert x.tolist() == [1.0, 2.0, 3.0] and y.tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])
    values = np.arange(1.0, 10_001.0)
    x, y = figures.cdf(values, max_points=200)
    assert len(x) == len(y) == 200
    assert (x[0], x[-1], y[-1]) == (1.0, 10_000.0, 1.0)
    for value, share in zip(x, y, strict=True):  # each drawn point is on the true CDF
        assert np.mean(values <= value) == pytest.approx(share, abs=1e-4)


def test_capacity_writes_none_where_no_step_met_the_limit() -> None:
    common = {
        "run_id": "run-1",
        "job_id": "job-1",
        "model": "tiny",
        "engine": "vllm",
        "hardware": "H200",
        "simulated": False,
        "benchmark": "11-rate-sweep",
        "source": "measured",
    }
    rows = [
        CapacityRow(**common, limit_ms=2000.0, point=None, status="none"),
        CapacityRow(
            **common, limit_ms=5000.0, point=CapacityPoint(configured_rps=0.7), status="ok"
        ),
    ]
    first, second = figures.capacity_figure("capacity", rows).data
    assert (list(first.text), list(first.x)) == (["none"], [0])
    assert (list(second.text), list(second.x)) == (["0.7"], [0.7])


def test_telemetry_per_gpu_with_gaps_thinned_to_the_limit() -> None:
    count = figures.MAX_TELEMETRY_POINTS * 2 + 1
    readings = [
        GpuReading(t_s=i, gpu=g, power_w=None if i == 0 else 100.0 + g, sm_mhz=1980.0)
        for i in range(count)
        for g in (1, 0)
    ]
    series = figures.measured_series(readings)
    assert [s.gpu for s in series] == ["GPU 0", "GPU 1"]
    figure = figures.telemetry_figure("t", series)
    power = [t for t in figure.data if t.yaxis == "y"]
    assert [t.name for t in power] == ["GPU 0", "GPU 1"]
    assert len(power[0].x) <= figures.MAX_TELEMETRY_POINTS and np.isnan(power[0].y[0])
    assert not [t for t in figure.data if t.yaxis == "y3"]  # no temperature read: no panel line


def test_imported_telemetry_is_laid_end_to_end_in_benchmark_order() -> None:
    rows = {
        "02-rag": [TelemetrySample(elapsed_s=0.0, power_w=2.0), TelemetrySample(elapsed_s=10.0)],
        "01-chat": [
            TelemetrySample(elapsed_s=0.0, power_w=1.0),
            TelemetrySample(elapsed_s=20.0, power_w=1.5),
        ],
    }
    (series,) = figures.imported_series(rows)
    assert series.t_s == [0.0, 20.0, 20.0, 30.0]
    assert series.phases == [(0.0, "01-chat"), (20.0, "02-rag")]


def test_nothing_to_draw_says_so() -> None:
    for figure in (
        figures.latency_cdf("ttft", [], "ttft"),
        figures.pareto_figure("pareto", []),
        figures.capacity_figure("capacity", []),
        figures.telemetry_figure("telemetry", []),
    ):
        assert not figure.data
        assert figure.layout.annotations[0].text.startswith("no ")
