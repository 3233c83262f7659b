"""Which benchmarks of a job ran to their end, carried from agent to controller in provenance.

A job that fails or is cancelled on its second benchmark still measured its first in full:
the controller computes metrics for the benchmarks listed here and marks them partial
(``BenchmarkResult.partial``), so they are shown and aggregated apart, never ranked as whole.
Layout: ``provenance["completed_benchmarks"] = [benchmark id, ...]`` in the order they ended.
An agent that predates the list sends none: its failed jobs keep no metrics, as before.
"""

from typing import Any

KEY = "completed_benchmarks"

PARTIAL = "partial"
"""The status of a partial benchmark's rows in aggregates and capacity tables: shown and
pooled with its like, never with whole jobs' rows, never ranked or counted."""

PARTIAL_FLAG = "partial: its job {state} after this benchmark completed; shown apart, never ranked"
"""The flag of a partial benchmark (``{state}``: failed or cancelled)."""


def put_completed(provenance: dict[str, Any], benchmark: str) -> None:
    provenance.setdefault(KEY, []).append(benchmark)


def completed_of(provenance: dict[str, Any]) -> set[str]:
    """The ids the agent reported complete (none from an older agent or a malformed value)."""
    listed = provenance.get(KEY)
    if not isinstance(listed, list):
        return set()
    return {item for item in listed if isinstance(item, str)}
