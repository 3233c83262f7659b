"""A run as the controller reports it while it goes on: built by the store, carried over the
wire and shown by arenactl (its results are ``arena.common.schemas.results.RunResults``)."""

from arena.common.schemas.base import ArenaModel
from arena.common.schemas.job import JobInfo


class RunHeader(ArenaModel):
    """What names a run wherever it is shown: in its progress and in its results."""

    run_id: str
    suite: str
    state: str
    """Derived from its jobs' states (``arena.controller.store.runs.run_state``)."""


class RunInfo(RunHeader):
    created_at_unix: float
    jobs_total: int
    jobs_done: int
    samples: int
    """Samples stored for all its jobs, every attempt included."""


class RunDetail(ArenaModel):
    run: RunInfo
    jobs: list[JobInfo]
    notes: list[str]
    suite_file: str | None = None
    suite_yaml: str | None = None
    """The submitted suite file's name and text, verbatim (none for an imported run)."""

    @property
    def finished(self) -> bool:
        return self.run.state in ("succeeded", "failed", "cancelled", "empty")
