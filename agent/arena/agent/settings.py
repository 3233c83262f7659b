"""Agent configuration: flags > environment (``ARENA_``) > TOML file > defaults."""

import socket
from pathlib import Path

from pydantic import Field, field_validator

from arena.common.settings import DEV_AGENT_TOKEN, ArenaSettings


def controller_addresses(addresses: str) -> list[str]:
    """``host:port[,host:port...]``: the controllers to try, in order."""
    found = [address.strip() for address in addresses.split(",") if address.strip()]
    if not found:
        raise ValueError(f"no controller address in {addresses!r}")
    return found


class AgentSettings(ArenaSettings):
    controller: str = "127.0.0.1:50051"
    """Controller gRPC address (host:port); agents dial out, so NAT is fine. Several
    controllers on one PostgreSQL database: their addresses, comma-separated; the agent moves
    to the next when one is unavailable."""
    token: str = DEV_AGENT_TOKEN
    name: str = Field(default_factory=socket.gethostname)
    """Unique per box; a restarted agent with the same name takes its old identity back."""
    labels: dict[str, str] = {}
    lease_wait_s: float = Field(10.0, gt=0)
    engine_start_timeout_s: float = Field(600.0, gt=0)
    """Large models take minutes to load."""
    upload_batch: int = Field(200, ge=1, le=5000)
    upload_interval_s: float = Field(0.5, gt=0)
    flush_timeout_s: float = Field(300.0, gt=0)
    state_dir: Path = Path(".arena/agent")
    """The spool of unacknowledged samples and logs, and the engines the agent started."""
    telemetry_interval_s: float = Field(1.0, gt=0, le=60)
    """Seconds between GPU telemetry readings (NVML) while a job runs."""
    client_workers: int = Field(1, ge=1, le=64)
    """Client processes for each open-loop run of the built-in generator. One drives thousands
    of requests/s; more help only where one core cannot keep up and the box has cores spare
    (the engine needs its own)."""

    min_free_disk_mb: int = Field(1024, ge=0)
    """Below this much free space next to the spool, the agent takes no new job (it never
    drops samples)."""

    @field_validator("controller")
    @classmethod
    def _addresses(cls, value: str) -> str:
        return ",".join(controller_addresses(value))
