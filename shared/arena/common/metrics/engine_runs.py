"""The engine's own timings per run, carried from agent to controller in job provenance.

The agent reads the engine's metrics endpoint before and after each measured run
(``arena.agent.engines.probe``); the controller adds the figure to the run's metrics as
``engine_tpot_ms``, so a spread between runs can be told apart: did the engine itself slow
down, or only what the client saw? Layout:
``provenance["engine_runs"][benchmark][variant][str(run)] = {"engine_tpot_ms": ms}``.
"""

import math
from typing import Any

from arena.common.metrics.client_load import stored_at

KEY = "engine_runs"
ENGINE_RUN_KEYS = ("engine_tpot_ms",)


def put_engine_run(
    provenance: dict[str, Any], benchmark: str, variant: str, run: int, figures: dict[str, float]
) -> None:
    runs = provenance.setdefault(KEY, {}).setdefault(benchmark, {}).setdefault(variant, {})
    runs[str(run)] = {key: round(value, 6) for key, value in figures.items()}


def engine_run_of(
    provenance: dict[str, Any], benchmark: str, variant: str, run: int
) -> dict[str, float]:
    """One run's engine figures; empty for an engine without per-token timings, a tool
    benchmark or an older agent. A value that is not a finite number is dropped."""
    found = stored_at(provenance, KEY, benchmark, variant, str(run))
    if not isinstance(found, dict):
        return {}
    return {
        key: float(value)
        for key, value in found.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }
