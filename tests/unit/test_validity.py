"""The verdict on a benchmark's numbers (``arena.common.metrics.validity``) and its setting."""

import pytest

from arena.common.analysis.cache import cache_rows, client_hit_pct
from arena.common.metrics.validity import (
    WARM_CACHE_HIT_PCT,
    assess,
    gate_capacity,
    spread_pct,
    warm_cache_pct,
)
from arena.common.schemas.imported import RateSweepSummary, SweepStep
from arena.common.schemas.results import BenchmarkResult, MetricStat, VariantResult
from arena.controller.settings import ControllerSettings
from tests.agentic_results import run


def stat(mean: float, std: float = 0.0, n: int = 1) -> MetricStat:
    return MetricStat(mean=mean, std=std, n=n)


def bench(kind: str, *variants: VariantResult) -> BenchmarkResult:
    return BenchmarkResult(id="b", title="B", kind=kind, variants=list(variants))


def test_the_gate_is_strictly_above_the_rate() -> None:
    at = VariantResult(key="rate1", runs=1, metrics={"completed": stat(90), "failed": stat(10)})
    assert assess(bench("open_loop", at)).valid  # 10 % is allowed
    over = VariantResult(key="rate1", runs=1, metrics={"completed": stat(89), "failed": stat(11)})
    judged = assess(bench("open_loop", over))
    assert not judged.valid and judged.failed_share == pytest.approx(0.11)
    assert judged.flags == ["invalid: 11 of 100 requests failed (11% > 10%)"]
    assert assess(bench("open_loop", over), max_error_rate=0.2).valid


def test_a_first_chunk_long_before_the_first_token_marks_the_prefill_figures() -> None:
    metrics = {
        "ttfr": stat(2),
        "e2e_ttft": stat(50),
        "est_ppt": stat(0.5),
        "pp_throughput": stat(9e5),
        "tg_throughput": stat(800),
    }
    judged = assess(bench("closed_loop", VariantResult(key="v", runs=1, metrics=metrics)))
    assert judged.variants[0].not_meaningful == ["pp_throughput", "est_ppt"]
    normal = metrics | {"ttfr": stat(45), "est_ppt": stat(40), "pp_throughput": stat(5000)}
    judged = assess(bench("closed_loop", VariantResult(key="v", runs=1, metrics=normal)))
    assert judged.variants[0].not_meaningful == [] and judged.flags == []


def test_spread_is_the_furthest_run_from_the_mean() -> None:
    assert spread_pct([100.0]) is None
    assert spread_pct([100.0, 103.0, 97.0]) == pytest.approx(3.0)
    from_std = VariantResult(key="v", runs=3, metrics={"output_throughput": stat(100, 2.5, 3)})
    judged = assess(bench("open_loop", from_std))
    assert judged.variants[0].spread_pct == pytest.approx(2.5)
    assert judged.flags == ["run-to-run spread of output_throughput above ±2 %: v ±2.5 %"]


def test_capacity_skips_steps_over_the_gate() -> None:
    steps = [
        SweepStep(configured_rps=0.5, completed=100, total_requests=100, ttft_p95_ms=900),
        SweepStep(configured_rps=1.0, completed=80, total_requests=100, ttft_p95_ms=1500),
    ]
    sweep = RateSweepSummary(capacity_by_slo_ms={"1000": None, "2000": None}, steps=steps)
    gated = gate_capacity(sweep, 0.10)
    assert gated.excluded_rps == [1.0]
    assert {k: p and p.configured_rps for k, p in gated.capacity_by_slo_ms.items()} == {
        "1000": 0.5,
        "2000": 0.5,
    }
    assert gate_capacity(sweep, 0.25) is sweep  # nothing over the gate: the source's capacity


def test_the_error_rate_gate_is_a_controller_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ControllerSettings().max_error_rate == 0.10
    monkeypatch.setenv("ARENA_MAX_ERROR_RATE", "0.25")
    assert ControllerSettings().max_error_rate == 0.25
    assert ControllerSettings(max_error_rate=0.5).max_error_rate == 0.5  # a flag wins
    with pytest.raises(ValueError, match="less than or equal to 1"):
        ControllerSettings(max_error_rate=1.5)


def _cached(hit_pct: float | None, engine_pct: float | None, prefix_cache: str) -> BenchmarkResult:
    metrics = {"completed": stat(100), "failed": stat(0)}
    if hit_pct is not None:
        metrics["cache_hit_pct"] = stat(hit_pct)
    judged = bench("sessions", VariantResult(key="u4", runs=1, metrics=metrics))
    judged.prefix_cache = prefix_cache
    if engine_pct is not None:
        judged.engine_metrics = {"prefix_cache_hit_pct": engine_pct}
    return judged


def test_a_cache_off_benchmark_served_from_a_warm_cache_is_invalid() -> None:
    judged = assess(_cached(None, 30.0, "off"))
    assert not judged.valid
    assert judged.flags == ["invalid: served from a warm prefix cache (30.0 % of prompt tokens)"]
    assert assess(_cached(None, 1.0, "off")).valid  # a system prompt's worth is allowed
    assert assess(_cached(None, WARM_CACHE_HIT_PCT, "off")).valid  # strictly above
    on = assess(_cached(90.0, 90.0, "on"))
    assert on.valid and on.flags == []  # meant to hit: never flagged


def test_the_higher_of_the_engine_and_the_answers_cached_tokens_decides() -> None:
    judged = assess(_cached(12.5, None, "off"))
    assert not judged.valid and "warm prefix cache (12.5 %" in judged.flags[0]
    # an engine counter at 0 does not hide answers that said 80 % came from the cache
    engine_silent = assess(_cached(80.0, 0.0, "off"))
    assert not engine_silent.valid and "warm prefix cache (80.0 %" in engine_silent.flags[0]
    assert "(30.0 %" in assess(_cached(1.0, 30.0, "off")).flags[0]
    assert assess(_cached(None, None, "off")).valid  # nobody said: nothing to judge
    closed = bench("closed_loop", VariantResult(key="v", runs=1, metrics={}))
    assert assess(closed).valid and closed.prefix_cache == "off"


def test_the_check_and_the_cache_table_read_one_benchmark_wide_client_hit_rate() -> None:
    cold = VariantResult(key="u1", runs=1, metrics={"cache_hit_pct": stat(0.0)})
    warm = VariantResult(key="u8", runs=1, metrics={"cache_hit_pct": stat(8.0)})
    both = bench("sessions", cold)
    both.variants.append(warm)
    assert client_hit_pct(both) == 4.0 == warm_cache_pct(both)
    assert assess(both).valid  # 4 % over the benchmark, under the 5 % limit
    (row,) = cache_rows([run([both])])
    assert row.client_hit_pct == 4.0


def test_the_spread_is_followed_by_what_moved_and_the_slowed_runs() -> None:
    noisy = VariantResult(key="c5", runs=2, metrics={"tg_throughput": stat(100)}, spread_pct=7.3)
    steady = VariantResult(key="c1", runs=2, metrics={"tg_throughput": stat(100)}, spread_pct=0.5)
    per_run = {
        "c5": {
            0: {"engine_tpot_ms": 3.8, "sm_clock_mhz": 1980.0, "sm_clock_drop_pct": 0.0},
            1: {"engine_tpot_ms": 5.3, "sm_clock_mhz": 1860.0, "sm_clock_drop_pct": 6.1},
        },
        "c1": {0: {"engine_tpot_ms": 3.0}, 1: {"engine_tpot_ms": 3.0}},
    }
    judged = assess(bench("closed_loop", steady, noisy), runs=per_run)
    assert judged.valid
    spread, cause, slowed = judged.flags
    assert spread.startswith("run-to-run spread of tg_throughput above ±2 %: c5 ±7.3 %")
    assert cause.startswith("runs of c5 disagree ±7.3 %: engine moved (engine TPOT 3.80–5.30")
    assert "box moved (SM 1860–1980 MHz, slowest −6.1 %)" in cause and cause.endswith(
        "client not measured per run"
    )
    assert slowed == "box slowed in 1 run(s): c5 run 1 (SM −6.1 %)"
    assert assess(bench("closed_loop", steady, noisy)).flags == [spread]  # no per-run figures
