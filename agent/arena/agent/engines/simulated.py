"""Arena's simulated engine, run as a child process exactly like a real process engine."""

import shlex
import sys
from pathlib import Path
from typing import Any

from arena.agent.engines.logs import EngineLog
from arena.agent.engines.process import ProcessEngineDriver
from arena.common.schemas.engine import ProcessEngine, SimulatedEngine
from arena.common.schemas.suite import ModelSpec


def simulated_process(profile: SimulatedEngine) -> ProcessEngine:
    command = [
        sys.executable, "-m", "arena.agent.simulated.server", "--port", "{port}",
        "--model-name", "{served_model_name}",
        "--prefill-tokens-per-s", str(profile.prefill_tokens_per_s),
        "--decode-step-ms", str(profile.decode_step_ms),
        "--decode-step-ms-per-seq", str(profile.decode_step_ms_per_seq),
        "--max-batch", str(profile.max_batch),
        "--startup-s", str(profile.startup_s),
    ]  # fmt: skip
    return ProcessEngine(
        runtime="process", command=shlex.join(command), startup_timeout_s=60 + profile.startup_s
    )


class SimulatedEngineDriver(ProcessEngineDriver):
    def __init__(
        self, profile: SimulatedEngine, model: ModelSpec, engine_log: EngineLog, state_dir: Path
    ) -> None:
        super().__init__(simulated_process(profile), model, engine_log, state_dir)
        self.simulated_profile = profile

    def provenance(self) -> dict[str, Any]:
        return super().provenance() | {
            "runtime": "simulated",
            "simulated": True,
            "engine_version": "arena-simulated",
            "parameters": self.simulated_profile.model_dump(),
        }
