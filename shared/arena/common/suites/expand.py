"""Scheduling decisions as pure functions: suite → jobs, and which agent may run which job.

Shared (no store, no controller imports) so that ``arenactl validate`` expands a suite exactly as
the controller will.
"""

import uuid
from dataclasses import dataclass

from arena.common.schemas.engine import EngineProfile, SimulatedEngine
from arena.common.schemas.job import JobSpec
from arena.common.schemas.suite import (
    Benchmark,
    ClosedLoopBenchmark,
    ModelSpec,
    ResolvedSuite,
    Target,
)
from arena.common.schemas.trust import TrustTier
from arena.common.suites.variants import expected_requests


@dataclass(frozen=True)
class AgentFacts:
    """What selectors can look at."""

    name: str
    labels: dict[str, str]
    gpu_name: str
    vram_gb: float
    cpu_arch: str
    trust: TrustTier = TrustTier.COMMUNITY


def matches(target: Target, agent: AgentFacts) -> bool:
    """Every selector the target sets must hold; an empty target matches any agent."""
    if target.agent is not None and target.agent != agent.name:
        return False
    if any(agent.labels.get(key) != value for key, value in target.labels.items()):
        return False
    if target.gpu_name is not None and target.gpu_name.lower() not in agent.gpu_name.lower():
        return False
    if target.min_vram_gb is not None and agent.vram_gb < target.min_vram_gb:
        return False
    if target.tier is not None and target.tier != agent.trust:
        return False
    return target.cpu_arch is None or target.cpu_arch == agent.cpu_arch


def expand(resolved: ResolvedSuite, run_id: str) -> list[JobSpec]:
    """One job per (target, model): one engine lifetime running all benchmarks × runs."""
    spec = resolved.spec
    return [
        JobSpec(
            job_id=f"job-{uuid.uuid4().hex[:12]}",
            run_id=run_id,
            suite=spec.name,
            target=target.name,
            model=model,
            engine=spec.engines[model.engine],
            benchmarks=[
                exact_for_random_weights(bench, model, spec.engines[model.engine])
                for bench in resolved.benchmarks
            ],
            runs=spec.runs,
            seed=spec.seed,
            notes=resolved.simulated_data,
        )
        for target in spec.targets
        for model in spec.models
    ]


def exact_for_random_weights(
    bench: Benchmark, model: ModelSpec, engine: EngineProfile
) -> Benchmark:
    """A random-weight model's end token is noise, not the model deciding to stop: its closed
    loop asks for exactly ``tg`` tokens unless the benchmark or the suite chose ``exact_tg``.
    Answers cut short at random changed the batch for the rest and spread runs of the same
    benchmark by 5-13 % on an H100 (docs/results/llama-1.1b). Only where the engine takes
    ``ignore_eos``: elsewhere the results could not be what the flag says."""
    if (
        not model.random_weights
        or not isinstance(bench, ClosedLoopBenchmark)
        or "exact_tg" in bench.model_fields_set  # the benchmark's or the suite's own choice
        or not getattr(engine, "accepts_ignore_eos", True)
    ):
        return bench
    return bench.model_copy(update={"exact_tg": True})


def job_requests(job: JobSpec) -> int:
    return sum(expected_requests(bench, job.runs) for bench in job.benchmarks)


def is_simulated(job: JobSpec) -> bool:
    return isinstance(job.engine, SimulatedEngine)
