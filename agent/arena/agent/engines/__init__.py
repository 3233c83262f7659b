"""Engine drivers: start an inference engine, prove it answers, stop it, say how it ran."""

from pathlib import Path

from arena.agent.engines.base import Engine
from arena.agent.engines.docker import DockerEngineDriver
from arena.agent.engines.external import ExternalEngineDriver
from arena.agent.engines.logs import EngineLog
from arena.agent.engines.process import ProcessEngineDriver
from arena.agent.engines.simulated import SimulatedEngineDriver
from arena.common.schemas.engine import DockerEngine, EngineProfile, ExternalEngine, ProcessEngine
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.suite import ModelSpec


def engine_for(
    profile: EngineProfile,
    model: ModelSpec,
    engine_log: EngineLog,
    *,
    state_dir: Path,
    agent_name: str,
    job_id: str,
    policy: AgentPolicy,
) -> Engine:
    if isinstance(profile, ExternalEngine):
        return ExternalEngineDriver(profile, policy)
    if isinstance(profile, DockerEngine):
        return DockerEngineDriver(profile, model, engine_log, agent_name, job_id, policy)
    if isinstance(profile, ProcessEngine):
        return ProcessEngineDriver(profile, model, engine_log, state_dir, policy)
    return SimulatedEngineDriver(profile, model, engine_log, state_dir)


def health_path(profile: EngineProfile) -> str:
    return "/health" if profile.runtime == "simulated" else profile.health_path


__all__ = ["Engine", "EngineLog", "engine_for", "health_path"]
