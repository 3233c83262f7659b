"""A job: one engine lifetime running its benchmarks × runs, as sent to an agent."""

from enum import StrEnum

from arena.common.schemas.base import ArenaModel
from arena.common.schemas.engine import EngineProfile
from arena.common.schemas.suite import Benchmark, ModelSpec


class JobState(StrEnum):
    """Explicit job state machine; ``ALLOWED`` lists every legal transition."""

    QUEUED = "queued"
    LEASED = "leased"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


ALLOWED: dict[JobState, frozenset[JobState]] = {
    # a queued job whose stored spec no longer validates fails where it waits
    JobState.QUEUED: frozenset({JobState.LEASED, JobState.FAILED, JobState.CANCELLED}),
    # a lease that expires puts the job back in the queue with attempt + 1
    JobState.LEASED: frozenset(
        {JobState.RUNNING, JobState.QUEUED, JobState.FAILED, JobState.CANCELLED}
    ),
    JobState.RUNNING: frozenset(
        {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.QUEUED}
    ),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}


class JobSpec(ArenaModel):
    job_id: str
    run_id: str
    suite: str
    target: str
    model: ModelSpec
    engine: EngineProfile
    benchmarks: list[Benchmark]
    runs: int
    seed: int
    notes: list[str] = []


class JobHeader(ArenaModel):
    """What names a job wherever it is shown: in its run's progress and in its results."""

    job_id: str
    target: str
    model: str
    engine: str
    """The engine profile's runtime (``vllm``, ``simulated``, ``imported``...)."""


class JobProgress(ArenaModel):
    """What an agent's heartbeat says of a job it runs: where it is and how fast it goes."""

    job_id: str
    attempt: int
    benchmark: str = ""
    """Empty until the first benchmark starts (the engine is starting)."""
    variant: str = ""
    run: int = 0
    """The benchmark variant's run going on, from 0."""
    requests_done: int = 0
    requests_total: int = 0
    errors: int = 0
    output_tokens_per_s: float = 0.0
    """Over the agent's last few seconds."""
    elapsed_s: float = 0.0
    """Since the job's first benchmark started (engine start-up not counted)."""
    remaining_s: float | None = None
    """Estimated time left for the job: its elapsed time × requests left ÷ requests done, so
    it refines as requests complete; None until one has."""
    benchmark_elapsed_s: float = 0.0
    benchmark_remaining_s: float | None = None
    """The same estimate for the benchmark going on, from its own requests."""
    completed_benchmarks: dict[str, int] = {}
    """Benchmarks that ran to their end, each with the samples numbered by then
    (``metrics.completion``): a job cancelled later keeps them."""


class JobInfo(JobHeader):
    """A job as the controller reports it while its run goes on: built by the store from the
    job's row, carried over the wire and shown by arenactl."""

    state: JobState
    attempt: int
    agent: str
    """Name of the agent holding or last holding the job; empty when none did."""
    message: str
    samples: int
    """Samples stored for the current attempt."""
    requests_expected: int
    progress: JobProgress | None
    """The agent's last heartbeat report for the job; ``None`` before the first."""
    simulated: bool
    flags: list[str] = []
    """Why the job's data is suspect: refused sample batches, a manifest that did not verify."""
    tier: str = ""
    """``official`` or ``community``: the trust of the agent that ran it (empty before a lease)."""
