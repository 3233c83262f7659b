"""Prefix-cache figures from each engine's own counters: queries, hits and hit percentage are
prompt tokens over the benchmark (after − before), whatever names the engine uses."""

import pytest

from arena.agent.engines.probe import engine_figures, parse_prometheus


def test_vllm_counts_queries_and_hits() -> None:
    before = parse_prometheus(
        'vllm:prefix_cache_queries_total{engine="0"} 1000\n'
        'vllm:prefix_cache_hits_total{engine="0"} 100\n'
    )
    after = parse_prometheus(
        'vllm:prefix_cache_queries_total{engine="0"} 5000\n'
        'vllm:prefix_cache_hits_total{engine="0"} 3100\n'
    )
    figures = engine_figures(before, after)
    assert figures["prefix_cache_queries"] == 4000
    assert figures["prefix_cache_hits"] == 3000
    assert figures["prefix_cache_hit_pct"] == pytest.approx(75.0)


def test_llama_cpp_queries_are_its_cached_and_computed_prompt_tokens() -> None:
    """llama-server's prompt_tokens_total counts only what it computed (checked against the
    real server in tests/integration/test_llama_prefix_cache.py)."""
    before = {"llamacpp:prompt_tokens_total": 10.0, "llamacpp:prompt_tokens_cached_total": 0.0}
    after = {"llamacpp:prompt_tokens_total": 769.0, "llamacpp:prompt_tokens_cached_total": 757.0}
    figures = engine_figures(before, after)
    assert figures["prefix_cache_queries"] == 759 + 757
    assert figures["prefix_cache_hits"] == 757
    assert figures["prefix_cache_hit_pct"] == pytest.approx(757 / 1516 * 100)


def test_sglang_counters_are_preferred_and_its_labels_are_summed() -> None:
    after = parse_prometheus(
        'sglang:prompt_tokens_total{model_name="m"} 4096\n'
        'sglang:cached_tokens_total{model_name="m",cache_source="device"} 3000\n'
        'sglang:cached_tokens_total{model_name="m",cache_source="host"} 168\n'
        'sglang:cache_hit_rate{model_name="m"} 0.1\n'
    )
    figures = engine_figures({}, after)
    assert figures["prefix_cache_queries"] == 4096
    assert figures["prefix_cache_hit_pct"] == pytest.approx(3168 / 4096 * 100)


def test_an_older_sglang_gives_its_hit_rate_gauge_as_read_after_the_run() -> None:
    before = {"sglang:cache_hit_rate": 0.9, "sglang:prompt_tokens_total": 0.0}
    after = {"sglang:cache_hit_rate": 0.25, "sglang:prompt_tokens_total": 100.0}
    assert engine_figures(before, after)["prefix_cache_hit_pct"] == pytest.approx(25.0)


def test_the_simulated_engine_has_its_own_names() -> None:
    after = {
        "arena_sim:prompt_tokens_total": 2090.0,
        "arena_sim:generation_tokens_total": 40.0,
        "arena_sim:prefix_cache_queries_total": 2090.0,
        "arena_sim:prefix_cache_hits_total": 1040.0,
        "arena_sim:prefix_cache_blocks": 67.0,
    }
    figures = engine_figures({}, after)
    assert figures == {
        "prompt_tokens": 2090,
        "generation_tokens": 40,
        "prefix_cache_queries": 2090,
        "prefix_cache_hits": 1040,
        "prefix_cache_hit_pct": pytest.approx(1040 / 2090 * 100),
    }


@pytest.mark.parametrize(
    "after",
    [
        {"vllm:prefix_cache_queries_total": 0.0, "vllm:prefix_cache_hits_total": 0.0},
        {"vllm:prompt_tokens_total": 100.0},
        {},
    ],
)
def test_no_queries_means_no_percentage(after: dict[str, float]) -> None:
    assert "prefix_cache_hit_pct" not in engine_figures({}, after)
