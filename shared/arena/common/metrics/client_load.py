"""The client's own load per open-loop run, carried from agent to controller in job provenance.

The agent measures how busy its busiest client core was during each run (the generator's
``ClientLoad``); the controller needs that figure to flag the run's metrics ``client_saturated``.
Layout: ``provenance["client_load"][benchmark][variant][str(run)] = cpu_util`` (JSON keys).
"""

from typing import Any

KEY = "client_load"


def put_cpu_util(
    provenance: dict[str, Any], benchmark: str, variant: str, run: int, cpu_util: float
) -> None:
    runs = provenance.setdefault(KEY, {}).setdefault(benchmark, {}).setdefault(variant, {})
    runs[str(run)] = round(cpu_util, 4)


def cpu_util_of(provenance: dict[str, Any], benchmark: str, variant: str, run: int) -> float | None:
    """The stored utilisation of one run, or None (closed loop, a tool, an older agent)."""
    value = provenance.get(KEY, {}).get(benchmark, {}).get(variant, {}).get(str(run))
    return float(value) if isinstance(value, int | float) else None
