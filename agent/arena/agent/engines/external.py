"""An endpoint that is already running: nothing to start or stop, only to check."""

import os
from typing import Any

from arena.agent.engines.base import wait_healthy
from arena.common.schemas.engine import ExternalEngine

READY_TIMEOUT_S = 60.0


class ExternalEngineDriver:
    def __init__(self, profile: ExternalEngine) -> None:
        self.profile = profile
        self.base_url = profile.url.rstrip("/").removesuffix("/v1")
        self.api_key = os.environ.get(profile.api_key_env) if profile.api_key_env else None
        self._ready_s: float | None = None

    async def start(self) -> None:
        return None

    async def wait_ready(self) -> None:
        self._ready_s = await wait_healthy(
            self.base_url, (self.profile.health_path, "/v1/models"), READY_TIMEOUT_S
        )

    async def check(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def provenance(self) -> dict[str, Any]:
        return {"runtime": "external", "url": self.base_url, "ready_after_s": self._ready_s}
