"""Arena's simulated engine, run as a child process exactly like a real process engine: as a
recipe of Arena's own, with the same scrubbed environment and folder as the owner's recipes.

It runs as the agent's own user: it is Arena's code, and the suite gives it nothing but
validated numbers and the model's name as one argument, so no job can make it read a file.
(The owner's ``process.user`` often cannot even execute the agent's interpreter, which lives
where the agent was installed.)"""

import sys
from pathlib import Path
from typing import Any

from arena.agent.engines.logs import EngineLog
from arena.agent.engines.process import ProcessEngineDriver
from arena.agent.engines.sandbox import EngineUser, agent_user
from arena.common.schemas.engine import ProcessEngine, SimulatedEngine
from arena.common.schemas.policy import AgentPolicy, ProcessPolicy, Recipe
from arena.common.schemas.suite import ModelSpec

RECIPE = "arena-simulated"


def simulated_process(profile: SimulatedEngine) -> tuple[ProcessEngine, AgentPolicy]:
    """The process engine and the one-recipe policy that starts it. The profile's numbers are
    validated floats, so they are written into the recipe as they are."""
    command = [
        sys.executable,
        "-m",
        "arena.agent.simulated.server",
        "--port",
        "{port}",
        "--model-name",
        "{served_model_name}",
        "--prefill-tokens-per-s",
        str(profile.prefill_tokens_per_s),
        "--decode-step-ms",
        str(profile.decode_step_ms),
        "--decode-step-ms-per-seq",
        str(profile.decode_step_ms_per_seq),
        "--max-batch",
        str(profile.max_batch),
        "--startup-s",
        str(profile.startup_s),
        "--prefix-cache" if profile.prefix_cache else "--no-prefix-cache",
        "--prefix-cache-blocks",
        str(profile.prefix_cache_blocks),
        "--prefix-cache-block-size",
        str(profile.prefix_cache_block_size),
        "--decode-drift-pct-per-s",
        str(profile.decode_drift_pct_per_s),
    ]
    own = AgentPolicy(
        runtimes=["process"],
        process=ProcessPolicy(recipes={RECIPE: Recipe(command=command)}),
    )
    engine = ProcessEngine(
        runtime="process", recipe=RECIPE, startup_timeout_s=60 + profile.startup_s
    )
    return engine, own


class SimulatedEngineDriver(ProcessEngineDriver):
    def __init__(
        self,
        profile: SimulatedEngine,
        model: ModelSpec,
        engine_log: EngineLog,
        state_dir: Path,
    ) -> None:
        engine, own = simulated_process(profile)
        super().__init__(engine, model, engine_log, state_dir, own)
        self.simulated_profile = profile

    def runs_as(self, policy: AgentPolicy) -> EngineUser:
        return agent_user()

    def provenance(self) -> dict[str, Any]:
        return super().provenance() | {
            "runtime": "simulated",
            "simulated": True,
            "engine_version": "arena-simulated",
            "parameters": self.simulated_profile.model_dump(),
        }
