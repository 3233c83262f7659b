"""Per-run box figures from NVML readings (``metrics.box``): windows, medians, throttle
reasons that count and those that do not, clock drops against the fastest run, the flag."""

import pytest

from arena.common.metrics.box import (
    add_clock_drops,
    box_summary,
    run_box,
    slowed_runs,
    window_readings,
)
from arena.common.schemas.telemetry import GpuReading


def reading(t: float, sm: float = 1980, reasons: tuple[str, ...] = (), **kw: float) -> GpuReading:
    return GpuReading(
        t_s=t,
        gpu=int(kw.pop("gpu", 0)),
        sm_mhz=sm,
        temp_c=kw.get("temp", 60.0),
        power_w=kw.get("power", 300.0),
        throttle_mask=0 if not reasons else 1,
        throttle_reasons=list(reasons),
    )


def test_a_run_takes_the_readings_inside_its_window() -> None:
    readings = [reading(t, sm=2000 - t * 10, temp=50 + t) for t in range(10)]
    figures = run_box(readings, 2.0, 6.0)
    assert figures["sm_clock_mhz"] == 1960  # median of 1980..1940
    assert figures["sm_clock_min_mhz"] == 1940
    assert figures["gpu_temp_max_c"] == 56
    assert figures["gpu_power_mean_w"] == 300
    assert figures["throttled_runs"] == 0


def test_a_run_shorter_than_a_tick_takes_the_ticks_around_it() -> None:
    readings = [reading(0.0, sm=1900), reading(1.0, sm=1800), reading(2.0, sm=1700)]
    assert [r.t_s for r in window_readings(readings, 1.2, 1.4)] == [1.0, 2.0]
    assert run_box(readings, 1.2, 1.4)["sm_clock_mhz"] == 1750
    assert run_box(readings, 2.5, 3.0) == {}  # telemetry stopped before the run: nothing


def test_power_is_summed_over_gpus_per_tick() -> None:
    readings = [reading(t, gpu=g, power=100.0 + g * 50) for t in (0.0, 1.0) for g in (0, 1)]
    assert run_box(readings, 0.0, 1.0)["gpu_power_mean_w"] == 250


@pytest.mark.parametrize(
    ("reasons", "throttled"),
    [
        (("gpu_idle",), 0.0),
        (("applications_clocks_setting", "sync_boost", "display_clock_setting"), 0.0),
        (("sw_power_cap",), 1.0),
        (("hw_slowdown",), 1.0),
        (("sw_thermal_slowdown",), 1.0),
        (("hw_thermal_slowdown",), 1.0),
        (("hw_power_brake_slowdown",), 1.0),
    ],
)
def test_only_thermal_and_power_reasons_throttle(
    reasons: tuple[str, ...], throttled: float
) -> None:
    readings = [reading(0.0), reading(1.0, reasons=reasons), reading(2.0)]
    assert run_box(readings, 0.0, 2.0)["throttled_runs"] == throttled


def test_no_throttle_reading_says_nothing_rather_than_zero() -> None:
    readings = [GpuReading(t_s=t, gpu=0, sm_mhz=1980) for t in (0.0, 1.0)]
    assert "throttled_runs" not in run_box(readings, 0.0, 1.0)
    assert "gpu_temp_max_c" not in run_box(readings, 0.0, 1.0)


def test_drops_are_against_the_variants_fastest_run_and_flagged_past_the_limit() -> None:
    runs: dict[tuple[str, int], dict[str, float]] = {
        ("c1", 0): {"sm_clock_mhz": 2000.0},
        ("c1", 1): {"sm_clock_mhz": 1950.0},
        ("c10", 0): {"sm_clock_mhz": 1800.0},  # a higher load at lower clocks: not a slowdown
        ("c10", 1): {"sm_clock_mhz": 1620.0},
        ("c10", 2): {},
    }
    add_clock_drops(runs)
    assert [run.get("sm_clock_drop_pct") for run in runs.values()] == [0.0, 2.5, 0.0, 10.0, None]
    flagged = slowed_runs(
        {
            "c1": {0: runs[("c1", 0)], 1: runs[("c1", 1)]},
            "c10": {0: runs[("c10", 0)], 1: runs[("c10", 1)], 2: {"throttled_runs": 1.0}},
        }
    )
    assert flagged == [
        "c1 run 1 (SM −2.5 %)",
        "c10 run 1 (SM −10.0 %)",
        "c10 run 2 (thermal/power throttle)",
    ]


def test_a_variants_throttled_runs_are_a_share_of_its_runs() -> None:
    per_run: list[dict[str, float | None]] = [
        {"throttled_runs": 1.0, "sm_clock_mhz": 1900.0},
        {"throttled_runs": 0.0, "sm_clock_mhz": 2000.0},
        {"throttled_runs": 1.0, "sm_clock_mhz": None},
    ]
    summary = box_summary(per_run)
    throttled = summary["throttled_runs"]
    assert throttled.n == 3 and throttled.mean * throttled.n == 2  # the share: pools exactly
    assert summary["sm_clock_mhz"].mean == 1950 and summary["sm_clock_mhz"].n == 2
