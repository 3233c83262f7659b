"""Summary statistics with the reference tools' exact conventions.

Both vLLM and llama-benchy use numpy: ``np.mean``, ``np.median``, the *population* standard
deviation (``np.std``, ddof = 0) and linearly interpolated percentiles (``np.percentile``).
Everything here is pure: sequences in, floats out.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def mean(values: Sequence[float]) -> float:
    return float(np.mean(values))


def median(values: Sequence[float]) -> float:
    return float(np.median(values))


def std(values: Sequence[float]) -> float:
    """Population standard deviation (ddof = 0), as ``np.std`` and both reference tools use."""
    return float(np.std(values))


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, vLLM's convention)."""
    return float(np.percentile(values, p))


@dataclass(frozen=True)
class MeanStd:
    """One metric over repeated runs: mean ± population std of ``n`` values."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "MeanStd":
        if not values:
            raise ValueError("MeanStd needs at least one value")
        return cls(mean=mean(values), std=std(values), n=len(values))

    def __str__(self) -> str:
        return f"{self.mean:.2f} ± {self.std:.2f}"


def max_relative_deviation(values: Sequence[float]) -> float:
    """Largest ``|x − mean| / |mean|`` over the values; 0 for a zero mean or a single value."""
    if len(values) < 2:
        return 0.0
    centre = mean(values)
    if centre == 0:
        return 0.0
    return float(np.max(np.abs(np.asarray(values, dtype=float) - centre)) / abs(centre))
