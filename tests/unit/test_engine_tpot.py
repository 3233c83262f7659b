"""The engine's own time per output token from two scrapes of its metrics endpoint
(``probe.engine_tpot_ms``): vLLM's histograms first, then generation seconds ÷ tokens."""

import pytest

from arena.agent.engines.probe import engine_figures, engine_tpot_ms


def test_vllm_tpot_histogram_comes_first() -> None:
    before = {
        "vllm:time_per_output_token_seconds_sum": 1.0,
        "vllm:time_per_output_token_seconds_count": 100,
    }
    after = {
        "vllm:time_per_output_token_seconds_sum": 1.5,
        "vllm:time_per_output_token_seconds_count": 200,
    }
    assert engine_tpot_ms(engine_figures(before, after)) == pytest.approx(5.0)


def test_inter_token_latency_when_there_is_no_tpot() -> None:
    after = {
        "vllm:inter_token_latency_seconds_sum": 0.4,
        "vllm:inter_token_latency_seconds_count": 100,
    }
    assert engine_tpot_ms(engine_figures({}, after)) == pytest.approx(4.0)


@pytest.mark.parametrize("engine", ["llamacpp:tokens_predicted", "arena_sim:generation"])
def test_generation_seconds_per_token(engine: str) -> None:
    tokens = (
        "llamacpp:tokens_predicted_total"
        if engine.startswith("llama")
        else "arena_sim:generation_tokens_total"
    )
    before = {f"{engine}_seconds_total": 10.0, tokens: 1000}
    after = {f"{engine}_seconds_total": 12.0, tokens: 1400}
    assert engine_tpot_ms(engine_figures(before, after)) == pytest.approx(5.0)


def test_no_timing_no_figure() -> None:
    assert engine_tpot_ms(engine_figures({}, {"vllm:generation_tokens_total": 5})) is None
