"""A run's jobs: ``arenactl jobs RUN`` / ``describe RUN`` and the run page's job table (whose
state, requests, tok/s, errors and position cells the page updates live, by ``data-field``)."""

from arena.common.schemas.job import JobInfo, JobProgress, JobState
from arena.common.views.view import MISSING, Column, View

JOB = Column[JobInfo]("job_id", "job", lambda j: j.job_id)
TARGET = Column[JobInfo]("target", "target", lambda j: j.target)
ENGINE = Column[JobInfo]("engine", "engine", lambda j: j.engine)
STATE = Column[JobInfo]("state", "state", lambda j: j.state, state=True)
ATTEMPT = Column[JobInfo]("attempt", "attempt", lambda j: j.attempt, 0)
MESSAGE = Column[JobInfo]("message", "message", lambda j: j.message)


def _model(job: JobInfo) -> str:
    return f"{job.model} (simulated)" if job.simulated else job.model


def _requests(job: JobInfo) -> str:
    """Stored of expected (an imported job expects none: nothing to count)."""
    if not job.requests_expected and not job.samples:
        return MISSING
    return f"{job.samples} / {job.requests_expected}"


def _running(job: JobInfo) -> bool:
    return job.state == JobState.RUNNING and job.progress is not None


def _tps(job: JobInfo) -> float | None:
    return job.progress.output_tokens_per_s if _running(job) and job.progress else None


def _position(job: JobInfo) -> str:
    p = job.progress
    if not _running(job) or p is None or not p.benchmark:
        return ""
    return f"{p.benchmark} {p.variant} run {p.run}"


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``: as long as it needs to be, no longer."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def time_text(progress: JobProgress) -> str:
    """Elapsed and the estimate of what is left, job then benchmark: "2m10s, ~6m left
    (01-chat ~40s)"; no estimate before the first request is done."""
    if not progress.benchmark:
        return ""
    text = duration(progress.elapsed_s)
    if progress.remaining_s is not None:
        text += f", ~{duration(progress.remaining_s)} left"
    if progress.benchmark_remaining_s is not None:
        text += f" ({progress.benchmark} ~{duration(progress.benchmark_remaining_s)})"
    return text


def _time(job: JobInfo) -> str:
    return time_text(job.progress) if _running(job) and job.progress else ""


JOBS: View[JobInfo] = View(
    "jobs",
    shown=[
        JOB,
        Column("model", "model", _model),
        ENGINE,
        TARGET,
        Column("agent", "agent", lambda j: j.agent or MISSING),
        ATTEMPT,
        STATE,
        Column("requests", "requests done", _requests),
        Column("tps", "output tok/s", _tps, 1),
        Column("errors", "errors", lambda j: j.progress.errors if j.progress else 0, 0),
        Column("position", "now running", _position),
        Column("time", "elapsed, left", _time),
        MESSAGE,
    ],
    export=[
        JOB,
        TARGET,
        Column("model", "model", lambda j: j.model),
        ENGINE,
        STATE,
        ATTEMPT,
        Column("agent", "agent", lambda j: j.agent),
        Column("samples", "samples", lambda j: j.samples),
        Column("requests_expected", "requests", lambda j: j.requests_expected),
        Column("simulated", "simulated", lambda j: j.simulated),
        MESSAGE,
    ],
)
"""In the controller's order. CSV rows start with the run's id (``arenactl jobs``)."""
