import math

import numpy as np
import pytest

from arena.agent.generator.arrivals import arrival_offsets


def vllm_style(n: int, rate: float, burstiness: float, seed: int) -> list[float]:
    """vLLM's loop, written out: global seed, one gamma draw per request, cumulate, rescale."""
    np.random.seed(seed)
    delays = [np.random.gamma(shape=burstiness, scale=1.0 / (rate * burstiness)) for _ in range(n)]
    for i in range(1, n):
        delays[i] += delays[i - 1]
    factor = (n / rate) / delays[-1]
    return [d * factor for d in delays]


def test_matches_vllm_draw_for_draw() -> None:
    assert arrival_offsets(200, 0.3, 0.7, seed=42) == pytest.approx(vllm_style(200, 0.3, 0.7, 42))


def test_last_arrival_lands_at_n_over_rate() -> None:
    offsets = arrival_offsets(50, 4.0, 1.0, seed=1)
    assert offsets[-1] == pytest.approx(12.5)
    assert all(b >= a for a, b in zip(offsets, offsets[1:], strict=False))
    assert offsets[0] > 0


def test_same_seed_same_schedule_other_seed_differs() -> None:
    assert arrival_offsets(20, 2.0, 1.0, seed=7) == arrival_offsets(20, 2.0, 1.0, seed=7)
    assert arrival_offsets(20, 2.0, 1.0, seed=7) != arrival_offsets(20, 2.0, 1.0, seed=8)


def test_infinite_rate_sends_everything_at_once() -> None:
    assert arrival_offsets(5, math.inf) == [0.0] * 5


def test_infinite_burstiness_is_a_metronome() -> None:
    assert arrival_offsets(4, 2.0, math.inf) == pytest.approx([0.5, 1.0, 1.5, 2.0])


def test_burstiness_sets_the_coefficient_of_variation() -> None:
    gaps = np.diff([0.0, *arrival_offsets(20000, 10.0, 0.25, seed=3)])
    assert np.std(gaps) / np.mean(gaps) == pytest.approx(1 / math.sqrt(0.25), rel=0.1)


def test_no_requests_no_arrivals() -> None:
    assert arrival_offsets(0, 1.0) == []
