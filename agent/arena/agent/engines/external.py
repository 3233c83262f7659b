"""An endpoint that is already running: nothing to start or stop, only to check.

The agent sends it requests and, when ``api_key_env`` is set, a variable of its own as the
bearer token: both only where the owner's policy allows (the host, and an exposed variable), so
no suite can make the box send its secrets to an address of the suite's choosing.
"""

import os
from typing import Any

from arena.agent.engines.base import wait_healthy
from arena.common.errors import PolicyError
from arena.common.policy import REFUSED, host_allowed
from arena.common.schemas.engine import ExternalEngine
from arena.common.schemas.policy import AgentPolicy

READY_TIMEOUT_S = 60.0


class ExternalEngineDriver:
    def __init__(self, profile: ExternalEngine, policy: AgentPolicy) -> None:
        if not host_allowed(policy, profile.url):
            raise PolicyError(f"{REFUSED}: endpoint {profile.url} is not an allowed host")
        if profile.api_key_env and profile.api_key_env not in policy.expose_env:
            raise PolicyError(
                f"{REFUSED}: api_key_env {profile.api_key_env} is not a variable the policy exposes"
            )
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
