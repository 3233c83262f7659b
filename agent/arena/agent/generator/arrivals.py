"""vLLM's arrival schedule: every send time drawn before the run starts.

Inter-arrival gaps are gamma(shape = b, scale = 1/(rate·b)) (b = burstiness: 1 is Poisson,
below 1 burstier, CV = 1/√b), cumulated, then rescaled so the last arrival lands exactly at
N/rate (vLLM closes the 1–2 % gap a plain sum leaves). ``rate = inf`` sends everything at 0;
``burstiness = inf`` gives constant gaps of 1/rate.

Seeding: ``vllm bench serve --seed`` seeds numpy's *global* legacy RNG, and nothing else draws
from it before the gaps (its random dataset has its own ``default_rng``, ShareGPT shuffles with
Python's ``random``), so ``RandomState(seed)`` reproduces vLLM's schedule draw for draw.
"""

import math

import numpy as np


def arrival_offsets(
    num_requests: int, rate: float, burstiness: float = 1.0, seed: int = 0
) -> list[float]:
    """Seconds from the start of the run at which each request is due, non-decreasing."""
    if num_requests <= 0:
        return []
    if burstiness <= 0:
        raise ValueError("burstiness must be positive")
    if math.isinf(rate):
        return [0.0] * num_requests
    if math.isinf(burstiness):
        gaps = np.full(num_requests, 1.0 / rate)
    else:
        scale = 1.0 / (rate * burstiness)
        gaps = np.random.RandomState(seed).gamma(shape=burstiness, scale=scale, size=num_requests)
    offsets = np.cumsum(gaps)
    if offsets[-1] != 0:
        offsets = offsets * ((num_requests / rate) / offsets[-1])
    return [float(t) for t in offsets]
