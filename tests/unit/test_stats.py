import math

import pytest

from arena.common import stats
from arena.common.metrics.validity import SPREAD_LIMIT_PCT
from arena.common.stats import MeanStd


def test_population_std_not_sample_std() -> None:
    # values 2, 4, 4, 4, 5, 5, 7, 9: population std is exactly 2 (sample std would be 2.138)
    assert stats.std([2, 4, 4, 4, 5, 5, 7, 9]) == pytest.approx(2.0)


def test_linear_percentile_between_ranks() -> None:
    # rank = 0.9 * (4 - 1) = 2.7 → 30 + 0.7 * (40 - 30)
    assert stats.percentile([10, 20, 30, 40], 90) == pytest.approx(37.0)
    assert stats.percentile([10, 20, 30, 40], 50) == stats.median([10, 20, 30, 40]) == 25.0


def test_mean_std_over_runs() -> None:
    summary = MeanStd.of([100.0, 110.0, 90.0])
    assert summary.mean == pytest.approx(100.0)
    assert summary.std == pytest.approx(math.sqrt(200 / 3))
    assert summary.n == 3
    assert str(summary) == "100.00 ± 8.16"


def test_mean_std_needs_values() -> None:
    with pytest.raises(ValueError):
        MeanStd.of([])


def test_spread_flag_uses_max_relative_deviation() -> None:
    assert stats.max_relative_deviation([100.0, 101.0, 99.0]) == pytest.approx(0.01)
    # the ±2 % rule of arena.common.metrics.validity, and a looser tolerance
    assert not stats.max_relative_deviation([100.0, 101.0, 99.0]) * 100 > SPREAD_LIMIT_PCT
    assert stats.max_relative_deviation([100.0, 103.0, 97.0]) * 100 > SPREAD_LIMIT_PCT
    assert (stats.max_relative_deviation([100.0, 103.0, 97.0]) > 0.05) is False
    assert stats.max_relative_deviation([5.0]) == 0.0
    assert stats.max_relative_deviation([0.0, 0.0]) == 0.0
