"""The built-in sets hold exactly the reference methodology's parameters."""

import pytest

from arena.common.schemas.suite import ClosedLoopBenchmark, OpenLoopBenchmark
from arena.common.suites.builtin import (
    builtin_benchmarks,
    builtin_extras,
    builtin_names,
    builtin_suite,
)
from arena.common.suites.variants import expected_requests, open_variants

CLOSED = {  # id: (pp, tg, depth, concurrency)
    "01-chat": ([1024], [1024], [0], [1, 5, 10]),
    "02-rag-8k": ([8192], [512], [0], [5, 10, 20]),
    "03-long-output": ([256], [4096], [0], [1, 5, 10]),
    "04-multi-turn": ([2048], [512], [4], [1, 5, 10]),
    "05-big-context": ([4096, 8192, 16384, 25000], [256], [0], [1, 5, 10]),
    "06-concurrency-stress": ([25000], [256], [0], [20]),
}
OPEN = {  # name: dataset, input, output, range ratio, prompts, rates, burstiness, max conc., min s
    "office-baseline": ("random", 4000, 500, 0.9, 200, [0.3], 0.7, None, 0.0),
    "sharegpt": ("sharegpt", None, None, 0.0, 250, [0.3], 0.7, None, 0.0),
    "reasoning": ("random", 1024, 4096, 0.9, 50, [0.2], 1.0, None, 0.0),
    "monday-peak": ("random", 4000, 500, 0.9, 300, [1.5], 1.0, 25, 0.0),
    "rate-sweep": ("random", 4000, 500, 0.9, 100, [0.1, 0.2, 0.3, 0.5, 0.7, 1.0], 0.7, None, 250),
}
V1_IDS = [
    "01-chat",
    "02-rag-8k",
    "03-long-output",
    "04-multi-turn",
    "05-big-context",
    "06-office-baseline",
    "07-sharegpt",
    "08-reasoning",
    "09-monday-peak",
]
V2_IDS = [
    "01-chat",
    "02-rag-8k",
    "03-long-output",
    "04-multi-turn",
    "05-big-context",
    "06-concurrency-stress",
    "07-office-baseline",
    "08-sharegpt",
    "09-reasoning",
    "10-monday-peak",
    "11-rate-sweep",
]


def test_names_and_order() -> None:
    assert builtin_names() == ["arena-agentic", "arena-v1", "arena-v2"]
    assert [b.id for b in builtin_benchmarks("arena-v1")] == V1_IDS
    assert [b.id for b in builtin_benchmarks("arena-v2")] == V2_IDS


@pytest.mark.parametrize("suite", ["arena-v1", "arena-v2"])
def test_every_parameter(suite: str) -> None:
    for bench in builtin_benchmarks(suite):
        assert bench.title and len(bench.description) > 40, bench.id
        if isinstance(bench, ClosedLoopBenchmark):
            pp, tg, depth, concurrency = CLOSED[bench.id]
            assert (bench.pp, bench.tg, bench.depth, bench.concurrency) == (
                pp,
                tg,
                depth,
                concurrency,
            )
            assert (bench.history_turns, bench.latency_mode, bench.warmup) == (
                0,
                "generation",
                True,
            )
        else:
            assert isinstance(bench, OpenLoopBenchmark)
            dataset, inp, out, ratio, prompts, rates, burst, max_conc, min_s = OPEN[bench.id[3:]]
            assert (bench.dataset, bench.input_len, bench.output_len) == (dataset, inp, out)
            assert (bench.range_ratio, bench.num_prompts, bench.request_rate) == (
                ratio,
                prompts,
                rates,
            )
            assert (bench.burstiness, bench.max_concurrency) == (burst, max_conc)
            assert bench.min_duration_s == min_s
            assert bench.percentiles == [50, 90, 95, 99]
            assert bench.dataset_path is None and bench.prefix_len == 0
            assert bench.goodput_slo_ms == {} and bench.ignore_eos is None


def test_v1_is_v2_without_stress_and_sweep() -> None:
    v1 = {b.id[3:]: b.model_dump(exclude={"id"}) for b in builtin_benchmarks("arena-v1")}
    v2 = {b.id[3:]: b.model_dump(exclude={"id"}) for b in builtin_benchmarks("arena-v2")}
    assert v1 == {
        name: spec for name, spec in v2.items() if name not in ("concurrency-stress", "rate-sweep")
    }


def test_rate_sweep_steps_get_100_prompts_and_250_seconds() -> None:
    sweep = builtin_benchmarks("arena-v2")[-1]
    assert isinstance(sweep, OpenLoopBenchmark)
    assert [v.num_prompts for v in open_variants(sweep)] == [100, 100, 100, 125, 175, 250]
    assert "2 s, 5 s and 10 s" in sweep.description


def test_true_multi_turn_extra() -> None:
    for suite in ("arena-v1", "arena-v2"):
        (extra,) = builtin_extras(suite)
        assert isinstance(extra, ClosedLoopBenchmark)
        assert extra.id == "04t-multi-turn-true"
        assert (extra.pp, extra.tg, extra.depth, extra.concurrency) == (
            [512],
            [512],
            [2048],
            [1, 5, 10],
        )
        assert extra.history_turns == 4
    multi_turn = builtin_benchmarks("arena-v1")[3]
    assert "TOKENS" in multi_turn.description and "04t-multi-turn-true" in multi_turn.description


def test_copies_are_independent() -> None:
    builtin_suite("arena-v1").benchmarks[0].id = "changed"
    assert builtin_benchmarks("arena-v1")[0].id == "01-chat"
    assert expected_requests(builtin_benchmarks("arena-v1")[0], runs=3) == 3 * (1 + 5 + 10)


def test_unknown_name() -> None:
    with pytest.raises(KeyError):
        builtin_suite("arena-v9")
