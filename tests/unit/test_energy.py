"""Power and energy maths, against figures worked out by hand."""

import pytest

from arena.common.metrics.energy import (
    benchmark_energy,
    clip,
    counter_delta_j,
    csv_energy,
    discrepancy_pct,
    trapezoid,
    value_at,
)
from arena.common.schemas.imported import TelemetrySample
from arena.common.schemas.telemetry import GpuReading


def two_gpus(counter_1_w: float = 190.0) -> list[GpuReading]:
    """GPU 0 draws 100 W, GPU 1 200 W, read at t = 0..10 s; GPU 0's counter agrees with its
    power, GPU 1's counts ``counter_1_w`` (mJ = W × 1000 × t)."""
    return [
        GpuReading(t_s=t, gpu=gpu, power_w=watts, energy_mj=counter * 1000.0 * t)
        for t in range(11)
        for gpu, watts, counter in ((0, 100.0, 100.0), (1, 200.0, counter_1_w))
    ]


def test_value_at_interpolates_inside_and_refuses_outside() -> None:
    points = [(0.0, 100.0), (2.0, 200.0)]
    assert value_at(points, 0.5) == 125.0
    assert value_at(points, 2.0) == 200.0
    assert value_at(points, -0.1) is None
    assert value_at(points, 2.1) is None
    assert value_at([(1.0, 5.0)], 1.0) == 5.0


def test_trapezoid_by_hand() -> None:
    # 1 s rising 100 → 200 W (150 J), then 2 s at 200 W (400 J)
    assert trapezoid([(0.0, 100.0), (1.0, 200.0), (3.0, 200.0)]) == 550.0


def test_clip_interpolates_the_edges() -> None:
    points = [(0.0, 100.0), (1.0, 200.0), (3.0, 200.0)]
    clipped = clip(points, 0.5, 2.0)
    assert clipped == [(0.5, 150.0), (1.0, 200.0), (2.0, 200.0)]
    assert trapezoid(clipped) == 0.5 * 175.0 + 200.0
    assert clip(points, -1.0, 2.0) is None


def test_two_gpus_counter_against_integrated_power() -> None:
    figures = benchmark_energy(two_gpus(), 2.0, 7.0, output_tokens=725)
    assert figures.window_s == 5.0
    assert figures.gpus == 2
    assert figures.readings == 6  # ticks 2..7
    assert figures.integrated_energy_j == pytest.approx(300.0 * 5)
    assert figures.counter_energy_j == pytest.approx((100.0 + 190.0) * 5)
    assert figures.energy_source == "energy counter"
    assert figures.energy_j == pytest.approx(1450.0)
    assert figures.counter_discrepancy_pct == pytest.approx(50 / 1450 * 100)
    assert figures.mean_power_w == pytest.approx(290.0)
    assert figures.peak_power_w == pytest.approx(300.0)
    assert figures.joules_per_output_token == pytest.approx(2.0)
    assert figures.output_tokens_per_s_per_w == pytest.approx(0.5)
    assert figures.note == ""


def test_without_a_counter_energy_is_integrated_power() -> None:
    readings = [r.model_copy(update={"energy_mj": None}) for r in two_gpus()]
    figures = benchmark_energy(readings, 2.5, 4.5, output_tokens=300)
    assert figures.energy_source == "integrated power"
    assert figures.energy_j == pytest.approx(600.0)
    assert figures.counter_discrepancy_pct is None
    assert figures.joules_per_output_token == pytest.approx(2.0)
    assert "no energy counter" in figures.note


def test_a_gpu_without_power_gives_no_power_figure_rather_than_half_of_it() -> None:
    readings = [
        r.model_copy(update={"power_w": None}) if (r.gpu, r.t_s) == (1, 3) else r
        for r in two_gpus(200.0)
    ]
    figures = benchmark_energy(readings, 2.0, 7.0, output_tokens=100)
    assert figures.integrated_energy_j is None
    assert figures.peak_power_w is None
    assert figures.energy_j == pytest.approx(1500.0)  # the counter still measured it
    assert "do not cover" in figures.note


def test_a_window_the_readings_do_not_span_has_no_figures() -> None:
    figures = benchmark_energy(two_gpus(), 8.0, 12.0, output_tokens=100)
    assert figures.energy_j is None
    assert figures.mean_power_w is None
    assert figures.joules_per_output_token is None
    assert figures.energy_source == "none"


def test_no_tokens_means_no_per_token_figure() -> None:
    figures = benchmark_energy(two_gpus(), 2.0, 7.0, output_tokens=0)
    assert figures.energy_j is not None
    assert figures.joules_per_output_token is None
    assert figures.output_tokens_per_s_per_w is None


def test_counter_delta_needs_every_gpu() -> None:
    readings = [r.model_copy(update={"energy_mj": None}) if r.gpu == 1 else r for r in two_gpus()]
    assert counter_delta_j(readings, 2.0, 7.0) is None
    assert counter_delta_j(two_gpus(), 2.0, 7.0) == pytest.approx(1450.0)


def test_discrepancy_sign_and_guards() -> None:
    assert discrepancy_pct(110.0, 100.0) == pytest.approx(10.0)
    assert discrepancy_pct(90.0, 100.0) == pytest.approx(-10.0)
    assert discrepancy_pct(None, 100.0) is None
    assert discrepancy_pct(100.0, 0.0) is None


def test_reference_csv_rows_integrate_over_their_span() -> None:
    rows = [
        TelemetrySample(elapsed_s=10, power_w=40.0),
        TelemetrySample(elapsed_s=20, power_w=60.0),
        TelemetrySample(elapsed_s=25, power_w=None),  # unreadable: left out, not zero
        TelemetrySample(elapsed_s=30, power_w=50.0),
    ]
    figures = csv_energy(rows, output_tokens=2100)
    assert figures is not None
    assert figures.window_s == 20.0
    assert figures.energy_j == pytest.approx(500.0 + 550.0)
    assert figures.mean_power_w == pytest.approx(52.5)
    assert figures.peak_power_w == 60.0
    assert figures.readings == 3
    assert figures.joules_per_output_token == pytest.approx(0.5)
    assert figures.counter_energy_j is None
    unknown = csv_energy(rows, output_tokens=None, note="why")
    assert unknown is not None and unknown.joules_per_output_token is None
    assert unknown.note == "why"
    assert csv_energy(rows[:1], output_tokens=10) is None
