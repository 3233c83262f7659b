"""A run as the controller reports it while it goes on: built by the store, carried over the
wire and shown by arenactl (its results are ``arena.common.schemas.results.RunResults``)."""

from collections.abc import Iterable
from enum import StrEnum

from arena.common.schemas.base import ArenaModel
from arena.common.schemas.job import JobInfo, JobState


class RunState(StrEnum):
    """A run's state, derived from its jobs' states (``of``); a run without jobs is empty."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EMPTY = "empty"

    @property
    def finished(self) -> bool:
        return self not in (RunState.QUEUED, RunState.RUNNING)

    @classmethod
    def of(cls, job_states: Iterable[str]) -> "RunState":
        """Finished once every job is: failed if one failed, else cancelled if one was; running
        while one is leased or running or some have succeeded; queued before that."""
        states = {JobState(state) for state in job_states}
        if not states:
            return cls.EMPTY
        if all(state.terminal for state in states):
            for final in (JobState.FAILED, JobState.CANCELLED):
                if final in states:
                    return cls(final.value)
            return cls.SUCCEEDED
        if states & {JobState.LEASED, JobState.RUNNING} or JobState.SUCCEEDED in states:
            return cls.RUNNING
        return cls.QUEUED


class RunHeader(ArenaModel):
    """What names a run wherever it is shown: in its progress and in its results."""

    run_id: str
    suite: str
    state: RunState


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
        return self.run.state.finished
