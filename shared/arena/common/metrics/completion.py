"""Which benchmarks of a job ran to their end, carried from agent to controller in provenance
and in every heartbeat's progress (a job the user cancels sends no provenance).

A job that fails or is cancelled on its second benchmark still measured its first in full:
the controller computes metrics for the benchmarks listed here whose samples it holds in full,
and marks them partial (``BenchmarkResult.partial``), so they are shown and aggregated apart,
never ranked as whole.
Layout: ``{"completed_benchmarks": {benchmark id: samples numbered when it ended}}``: the
benchmark's samples are all stored once the job's acknowledged sequence reaches that number
(samples still in the agent's outbox when a cancellation came are never sent).
An agent that predates it sends none: its failed jobs keep no metrics, as before.
"""

from typing import Any

KEY = "completed_benchmarks"

PARTIAL = "partial"
"""The status of a partial benchmark's rows in aggregates and capacity tables: shown and
pooled with its like, never with whole jobs' rows, never ranked or counted."""

PARTIAL_FLAG = "partial: its job {state} after this benchmark completed; shown apart, never ranked"
"""The flag of a partial benchmark (``{state}``: failed or cancelled)."""


def put_completed(record: dict[str, Any], benchmark: str, samples_through: int) -> None:
    record.setdefault(KEY, {})[benchmark] = samples_through


def completed_of(record: dict[str, Any] | None, stored_through: int) -> set[str]:
    """The ids reported complete whose samples are all stored (sequence numbers up to
    ``stored_through``); none from an older agent or a malformed value."""
    listed = (record or {}).get(KEY)
    if not isinstance(listed, dict):
        return set()
    return {
        bench
        for bench, through in listed.items()
        if isinstance(bench, str) and isinstance(through, int) and through <= stored_through
    }
