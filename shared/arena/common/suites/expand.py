"""Scheduling decisions as pure functions: suite → jobs, and which agent may run which job.

Shared (no store, no controller imports) so that ``arenactl validate`` expands a suite exactly as
the controller will.
"""

import uuid
from dataclasses import dataclass

from arena.common.schemas.engine import SimulatedEngine
from arena.common.schemas.job import JobSpec
from arena.common.schemas.suite import ResolvedSuite, Target
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
            benchmarks=resolved.benchmarks,
            runs=spec.runs,
            seed=spec.seed,
            notes=resolved.simulated_data,
        )
        for target in spec.targets
        for model in spec.models
    ]


def job_requests(job: JobSpec) -> int:
    return sum(expected_requests(bench, job.runs) for bench in job.benchmarks)


def is_simulated(job: JobSpec) -> bool:
    return isinstance(job.engine, SimulatedEngine)
