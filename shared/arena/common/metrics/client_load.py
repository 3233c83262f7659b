"""The client's own load per run, carried from agent to controller in job provenance.

The agent measures, for every run it drives (open loop, closed loop, session step), how busy
its busiest client core was, how late its event loop woke (timer overshoot beyond the
selector's 1 ms granularity, ``generator.loop_lag``) and how long a loop stall sat between a
request's send and its first token; the controller reads them to flag the run's metrics
``client_saturated`` and the benchmark invalid.

Layout: ``provenance["client_load"][benchmark][variant][str(run)]`` is a dict with the keys of
``RunClientFigures`` (absent or null where not measured). Agents before issue 24 wrote a bare
float there, the run's ``cpu_util``: it is still read as such.
"""

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeGuard

KEY = "client_load"


@dataclass(frozen=True)
class RunClientFigures:
    """One run's client figures; ``None`` where this run's agent did not measure it."""

    cpu_util: float | None = None
    """Busiest client process's CPU time over wall time, voluntary spinning excluded (0–1+)."""
    loop_lag_p99_ms: float | None = None
    """p99 of the event loop's lag (timer overshoot beyond 1 ms; worst worker's), ms."""
    loop_lag_max_ms: float | None = None
    """Largest lag of the run (worst worker's), ms."""
    read_stall_p99_ms: float | None = None
    """p99 over requests of ``read_stall_s`` (largest loop stall between send and first token)."""
    headroom_used_pct: float | None = None
    """The run's request rate or streams over the agent's calibrated client headroom, %."""

    def as_json(self) -> dict[str, float]:
        return {key: round(value, 4) for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_json(cls, value: Any) -> "RunClientFigures | None":
        """A stored entry: the dict layout, or an older agent's bare ``cpu_util`` float."""
        if _number(value):
            return cls(cpu_util=float(value))
        if not isinstance(value, dict):
            return None
        known = {}
        for field in fields(cls):
            item = value.get(field.name)
            if _number(item):
                known[field.name] = float(item)
        return cls(**known)


def _number(value: Any) -> TypeGuard[float]:
    """A stored figure worth reading: a finite number (not a bool, a string or a NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def put_run(
    provenance: dict[str, Any],
    benchmark: str,
    variant: str,
    run: int,
    figures: RunClientFigures,
) -> None:
    runs = provenance.setdefault(KEY, {}).setdefault(benchmark, {}).setdefault(variant, {})
    runs[str(run)] = figures.as_json()


def stored_at(provenance: Any, *path: str) -> Any:
    """The value at ``path`` in a job's provenance; None where a level is missing or is not a
    mapping: a malformed provenance (an imported or hand-edited job) reads as not measured
    rather than crashing every view that reads it."""
    value = provenance
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def run_figures_of(
    provenance: dict[str, Any], benchmark: str, variant: str, run: int
) -> RunClientFigures | None:
    """One run's stored figures, or None (a tool, an agent that measured nothing)."""
    return RunClientFigures.from_json(stored_at(provenance, KEY, benchmark, variant, str(run)))


def runs_of(
    provenance: dict[str, Any], benchmark: str, variant: str
) -> dict[int, RunClientFigures]:
    """Every stored run of a variant, by run number."""
    stored = stored_at(provenance, KEY, benchmark, variant)
    found = {}
    for run, value in stored.items() if isinstance(stored, dict) else ():
        figures = RunClientFigures.from_json(value)
        if figures is not None and str(run).isdigit():
            found[int(run)] = figures
    return found


def cpu_utils_of(provenance: dict[str, Any], benchmark: str) -> dict[str, dict[str, float]]:
    """A benchmark's runs as ``{variant: {run: cpu_util}}``: the layout a session export
    carries (``ImportedBenchmark.client_load``); the loop figures stay in the job's provenance."""
    stored = stored_at(provenance, KEY, benchmark)
    found: dict[str, dict[str, float]] = {}
    for variant, runs in stored.items() if isinstance(stored, dict) else ():
        for run, value in runs.items() if isinstance(runs, dict) else ():
            figures = RunClientFigures.from_json(value)
            if figures is not None and figures.cpu_util is not None:
                found.setdefault(variant, {})[run] = figures.cpu_util
    return found


def read_stall_p99_ms(stalls_s: Sequence[float | None]) -> float | None:
    """p99 over a run's requests of their ``read_stall_s``, ms (None when none was measured)."""
    from arena.common import stats  # NumPy: the provenance layout alone needs none

    known = [stall for stall in stalls_s if stall is not None]
    return stats.percentile(known, 99) * 1000 if known else None
