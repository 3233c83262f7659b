"""Engine drivers: start an inference engine, prove it answers, stop it, say how it ran."""

from agent.engines.base import Engine
from agent.engines.external import ExternalEngineDriver
from agent.engines.simulated import SimulatedEngineDriver
from shared.schemas.suite import EngineProfile, ExternalEngine


def engine_for(profile: EngineProfile, model: str) -> Engine:
    if isinstance(profile, ExternalEngine):
        return ExternalEngineDriver(profile)
    return SimulatedEngineDriver(profile, model)


__all__ = ["Engine", "engine_for"]
