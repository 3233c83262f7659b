"""What every view across stored results shares: picking jobs by name, and naming the job a
row or a point comes from."""

from typing import Any

from arena.common.schemas.base import ArenaModel
from arena.common.schemas.results import JobResult


def contains(text: str | None, part: str | None) -> bool:
    """The ``--model``/``--hardware``/``--benchmark`` rule: no filter, or a case-insensitive
    substring of the name (a job without the name never matches a filter)."""
    return part is None or part.casefold() in (text or "").casefold()


class JobRef(ArenaModel):
    """The job a row of a view comes from."""

    run_id: str
    job_id: str
    model: str
    engine: str
    hardware: str | None
    simulated: bool


def job_ref(run_id: str, job: JobResult) -> dict[str, Any]:
    """``JobRef``'s fields for ``job``, to build a row that extends it."""
    return {
        "run_id": run_id,
        "job_id": job.job_id,
        "model": job.model,
        "engine": job.engine,
        "hardware": job.hardware,
        "simulated": job.simulated,
    }
