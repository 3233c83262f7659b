"""Which of client, box or engine moved when runs disagree (``metrics.attribution``): the
rule on hand-made runs, each source alone, none, and figures that were never measured."""

from arena.common.metrics.attribution import (
    attribute,
    box_verdict,
    client_figures,
    client_verdict,
    deviation_pct,
    engine_verdict,
    spread_attribution,
)

STEADY_BOX = {"sm_clock_mhz": 1980.0, "throttled_runs": 0.0, "gpu_temp_max_c": 70.0}
STEADY_CLIENT = {"loop_lag_p99_ms": 0.2, "client_saturated": 0.0}


def runs(*engine_tpot: float, client_tpot: tuple[float, ...] = (), **extra: float) -> list[dict]:
    tpots = client_tpot or engine_tpot
    return [
        {**STEADY_BOX, **STEADY_CLIENT, "engine_tpot_ms": e, "mean_tpot_ms": c, **extra}
        for e, c in zip(engine_tpot, tpots, strict=True)
    ]


def test_deviation_is_the_spreads_own_measure() -> None:
    assert deviation_pct([95.0, 100.0, 105.0]) == 5.0
    assert deviation_pct([3.0]) == 0.0
    assert deviation_pct([0.0, 0.0]) == 0.0


def test_the_engine_moved_and_the_client_tracks_it() -> None:
    text = attribute("c5", 7.3, runs(3.8, 4.4, 5.3))
    assert text == (
        "runs of c5 disagree ±7.3 %: engine moved (engine TPOT 3.80–5.30 ms per token across "
        "runs, client TPOT tracks it); box steady (SM 1980 MHz within 0.0 %, ≤ 70 °C); client "
        "steady (loop lag p99 ≤ 0.2 ms)"
    )


def test_a_client_that_does_not_follow_the_engine_is_said_so() -> None:
    moved, said = engine_verdict(runs(3.8, 5.3, client_tpot=(6.0, 5.0)))  # type: ignore[misc]
    assert moved and said.endswith("client TPOT does not follow it")


def test_closed_loop_client_tpot_comes_from_its_decode_speed() -> None:
    found = [
        {"engine_tpot_ms": 4.0, "tg_req_throughput": 250.0},
        {"engine_tpot_ms": 5.0, "tg_req_throughput": 200.0},
    ]
    verdict = engine_verdict(found)
    assert verdict is not None and verdict[1].endswith("client TPOT tracks it")


def test_the_box_moved_on_clock_or_throttle() -> None:
    clocks = [{"sm_clock_mhz": mhz} for mhz in (1980.0, 1700.0)]
    assert box_verdict(clocks) == (True, "SM 1700–1980 MHz, slowest −14.1 %")
    throttled = [{**STEADY_BOX}, {**STEADY_BOX, "throttled_runs": 1.0}]
    verdict = box_verdict(throttled)
    assert verdict is not None and verdict[0] and "throttle in 1 of 2 runs" in verdict[1]


def test_runs_all_at_the_power_cap_alike_are_a_steady_box() -> None:
    capped = [{**STEADY_BOX, "throttled_runs": 1.0}] * 3
    assert box_verdict(capped) == (
        False,
        "SM 1980 MHz within 0.0 %, thermal/power throttle in 3 of 3 runs, ≤ 70 °C",
    )


def test_the_box_moves_on_the_same_limit_as_the_slowed_flag() -> None:
    within = [{"sm_clock_mhz": 2000.0}, {"sm_clock_mhz": 1970.0}]  # −1.5 %: under CLOCK_DROP_PCT
    assert box_verdict(within) == (False, "SM 1985 MHz within 1.5 %")
    beyond = [{"sm_clock_mhz": 2000.0}, {"sm_clock_mhz": 1950.0}]  # −2.5 %
    assert box_verdict(beyond) == (True, "SM 1950–2000 MHz, slowest −2.5 %")


def test_the_client_moved_on_lag_or_saturation() -> None:
    assert client_verdict([{"loop_lag_p99_ms": 0.3}, {"loop_lag_p99_ms": 4.0}]) == (
        True,
        "loop lag p99 ≤ 4.0 ms",
    )
    verdict = client_verdict([{"client_saturated": 1.0}, {"client_saturated": 0.0}])
    assert verdict == (True, "saturated in 1 of 2 runs")


def test_nothing_moved_and_nothing_measured_are_said() -> None:
    text = attribute("c1", 3.0, runs(4.0, 4.01))
    assert text.startswith("runs of c1 disagree ±3.0 %: nothing measured moved beyond ±2 %; ")
    bare = attribute("c1", 3.0, [{"tg_throughput": 1.0}, {"tg_throughput": 1.1}])
    assert bare.endswith("engine and box and client not measured per run")


def test_only_noisy_variants_with_runs_get_a_sentence() -> None:
    found = {"c1": dict(enumerate(runs(4.0, 4.0))), "c5": dict(enumerate(runs(3.0, 5.0)))}
    said = spread_attribution({"c1": 1.0, "c5": 9.0, "c10": 9.0}, found, 2.0)
    assert len(said) == 1 and said[0].startswith("runs of c5 disagree ±9.0 %: engine moved")


def test_client_figures_read_both_provenance_layouts() -> None:
    assert client_figures(0.42) == {"cpu_util": 0.42}
    assert client_figures({"loop_lag_p99_ms": 0.3, "cpu_util": 0.1, "odd": "x"}) == {
        "loop_lag_p99_ms": 0.3,
        "cpu_util": 0.1,
    }
    assert client_figures({"loop_lag_p99_ms": True}) == {}
    assert client_figures(None) == {} and client_figures("0.5") == {}
