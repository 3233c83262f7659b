"""What a suite file turns into, computed locally with the controller's own expansion: the
answer of ``arenactl validate`` and ``arenactl submit --dry-run``."""

from arena.common.schemas.admission import JobAdmission
from arena.common.schemas.base import ArenaModel
from arena.common.schemas.suite import ResolvedSuite
from arena.common.suites.expand import expand, is_simulated, job_requests


class PlannedJob(ArenaModel):
    target: str
    model: str
    engine: str
    runtime: str
    benchmarks: list[str]
    runs: int
    requests_expected: int
    simulated: bool


class Plan(ArenaModel):
    file: str
    suite: str
    jobs: list[PlannedJob]
    notes: list[str]
    admission: list[JobAdmission] | None = None
    """Per job, in the order of ``jobs``: which registered agents would take it and which
    refuse it (their owners' policies), as the controller answered; ``None`` when it was not
    asked or could not be reached (a note says which)."""


def plan(resolved: ResolvedSuite, file: str) -> Plan:
    jobs = [
        PlannedJob(
            target=job.target,
            model=job.model.name,
            engine=job.model.engine,
            runtime=job.engine.runtime,
            benchmarks=[bench.id for bench in job.benchmarks],
            runs=job.runs,
            requests_expected=job_requests(job),
            simulated=is_simulated(job),
        )
        for job in expand(resolved, run_id="dry-run")
    ]
    return Plan(file=file, suite=resolved.spec.name, jobs=jobs, notes=resolved.simulated_data)
