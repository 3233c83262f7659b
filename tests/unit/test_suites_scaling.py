"""``quick`` maths: lengths and counts × q, rates ÷ q, offered token load kept."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arena.common.schemas.suite import ClosedLoopBenchmark, OpenLoopBenchmark
from arena.common.suites.builtin import builtin_benchmarks
from arena.common.suites.scaling import scale_benchmark, scale_count, scale_length, scale_rate
from arena.common.suites.variants import open_variants, output_ceilings


def test_rounding_and_floors() -> None:
    assert scale_length(1024, 0.05) == 51
    assert scale_length(100, 0.05) == 8  # floor of 8 tokens
    assert scale_length(4, 0.05) == 4  # a length already under the floor is kept
    assert scale_length(0, 0.5) == 0
    assert scale_count(250, 0.05) == 12 and scale_count(50, 0.05) == 4 and scale_count(2, 0.1) == 2
    assert scale_rate(0.3, 0.05) == pytest.approx(6.0) and math.isinf(scale_rate(math.inf, 0.1))


def test_closed_loop() -> None:
    big = builtin_benchmarks("arena-v1")[4]
    assert isinstance(big, ClosedLoopBenchmark)
    scaled = scale_benchmark(big, 0.05)
    assert isinstance(scaled, ClosedLoopBenchmark)
    assert (scaled.pp, scaled.tg, scaled.depth) == ([205, 410, 819, 1250], [13], [0])
    assert scaled.concurrency == [1, 5, 10]
    assert big.pp == [4096, 8192, 16384, 25000]  # the input is untouched


def test_collapsed_values_are_not_repeated() -> None:
    bench = ClosedLoopBenchmark(id="x", pp=[100, 120, 1000], tg=[16], depth=[0, 4])
    scaled = scale_benchmark(bench, 0.01)
    assert isinstance(scaled, ClosedLoopBenchmark)
    assert (scaled.pp, scaled.tg, scaled.depth) == ([8, 10], [8], [0, 4])


def test_open_loop_keeps_shape() -> None:
    peak = builtin_benchmarks("arena-v1")[8]
    assert isinstance(peak, OpenLoopBenchmark)
    scaled = scale_benchmark(peak, 0.1)
    assert isinstance(scaled, OpenLoopBenchmark)
    assert (scaled.input_len, scaled.output_len, scaled.num_prompts) == (400, 50, 30)
    assert scaled.request_rate == [pytest.approx(15.0)]
    assert (scaled.burstiness, scaled.max_concurrency, scaled.range_ratio) == (1.0, 25, 0.9)


def test_rate_sweep_steps_scale_like_prompt_counts() -> None:
    sweep = builtin_benchmarks("arena-v2")[10]
    assert isinstance(sweep, OpenLoopBenchmark)
    scaled = scale_benchmark(sweep, 0.2)
    assert isinstance(scaled, OpenLoopBenchmark)
    assert scaled.min_duration_s == pytest.approx(10.0)
    full = [(v.rate, v.num_prompts) for v in open_variants(sweep)]
    quick = [(v.rate, v.num_prompts) for v in open_variants(scaled)]
    for (rate, prompts), (quick_rate, quick_prompts) in zip(full, quick, strict=True):
        assert quick_rate == pytest.approx(rate / 0.2)
        assert quick_prompts == pytest.approx(prompts * 0.2, abs=1)
        assert quick_prompts / quick_rate == pytest.approx(prompts / rate * 0.04, rel=0.1)


@given(
    q=st.floats(0.05, 1.0),
    input_len=st.integers(200, 10_000),
    output_len=st.integers(200, 5_000),
    rate=st.floats(0.05, 5.0),
    prompts=st.integers(100, 1000),
)
def test_offered_token_load_is_kept(
    q: float, input_len: int, output_len: int, rate: float, prompts: int
) -> None:
    bench = OpenLoopBenchmark(
        id="x", input_len=input_len, output_len=output_len, num_prompts=prompts, request_rate=[rate]
    )
    scaled = scale_benchmark(bench, q)
    assert isinstance(scaled, OpenLoopBenchmark) and scaled.input_len and scaled.output_len
    load = (input_len + output_len) * rate
    quick_load = (scaled.input_len + scaled.output_len) * scaled.request_rate[0]
    rounding = 0.51 / (min(input_len, output_len) * q)  # each length is off by ½ token at most
    assert quick_load == pytest.approx(load, rel=rounding)
    wall, quick_wall = prompts / rate, scaled.num_prompts / scaled.request_rate[0]
    assert quick_wall == pytest.approx(wall * q * q, rel=0.51 / (prompts * q))


def test_factor_bounds() -> None:
    bench = builtin_benchmarks("arena-v1")[0]
    assert scale_benchmark(bench, 1) == bench
    with pytest.raises(ValueError):
        scale_benchmark(bench, 0)


def test_output_ceilings_follow_the_generators_rules_after_quick_scaling() -> None:
    """What ingest holds a sample's tokens to: the job's spec, already scaled by ``quick``."""
    closed = scale_benchmark(ClosedLoopBenchmark(id="c", pp=[512], tg=[128, 512]), 0.25)
    assert output_ceilings(closed) == {"pp128/tg32/d0/c1": 32, "pp128/tg128/d0/c1": 128}
    ranged = OpenLoopBenchmark(
        id="r", input_len=64, output_len=100, range_ratio=0.5, num_prompts=8, request_rate=[1, 2]
    )
    assert output_ceilings(scale_benchmark(ranged, 0.5)) == {"rate2": 75, "rate4": 75}
    sharegpt = OpenLoopBenchmark(id="s", dataset="sharegpt", num_prompts=8, request_rate=[1.0])
    assert output_ceilings(sharegpt) == {"rate1": 2044}  # the longest completion vLLM keeps
    fixed = sharegpt.model_copy(update={"output_len": 300})
    assert output_ceilings(fixed) == {"rate1": 300}
