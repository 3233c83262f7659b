"""Results as the controller serves them and arenactl shows them."""

from shared.schemas.base import ArenaModel


class MetricStat(ArenaModel):
    """Mean ± population std over runs (``n`` runs had a value)."""

    mean: float | None
    std: float | None
    n: int


class VariantResult(ArenaModel):
    key: str
    runs: int
    metrics: dict[str, MetricStat]


class BenchmarkResult(ArenaModel):
    id: str
    title: str
    kind: str
    variants: list[VariantResult]


class JobResult(ArenaModel):
    job_id: str
    target: str
    model: str
    engine: str
    agent: str | None
    hardware: str | None
    simulated: bool
    state: str
    message: str
    benchmarks: list[BenchmarkResult]


class RunResults(ArenaModel):
    run_id: str
    suite: str
    state: str
    notes: list[str]
    jobs: list[JobResult]
