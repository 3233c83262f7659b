"""Controller configuration: flags > environment (``ARENA_``) > TOML file > defaults."""

from pathlib import Path

from pydantic import Field

from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN, ArenaSettings
from arena.common.suites.limits import SuiteLimits


class ControllerSettings(ArenaSettings):
    listen: str = "127.0.0.1:50051"
    """gRPC address; use 0.0.0.0:50051 to accept agents from other hosts."""
    data_dir: Path = Path(".arena")
    database_url: str | None = None
    """Any SQLAlchemy URL; default: a SQLite file (WAL) in ``data_dir``."""
    agent_tokens: list[str] = [DEV_AGENT_TOKEN]
    user_tokens: list[str] = [DEV_USER_TOKEN]
    heartbeat_interval_s: float = Field(2.0, gt=0)
    lease_ttl_s: float = Field(30.0, gt=0)
    max_attempts: int = Field(3, ge=1)
    max_error_rate: float = Field(0.10, ge=0, le=1)
    """A benchmark with a larger share of failed requests is shown invalid and left out of
    capacity (``arena.common.metrics.validity``)."""

    max_message_bytes: int = Field(64 * 1024 * 1024, gt=0)
    """Largest message any call may carry (gRPC refuses bigger ones with RESOURCE_EXHAUSTED);
    imports of whole result folders are the big ones."""
    max_agent_message_bytes: int = Field(8 * 1024 * 1024, gt=0)
    """Largest message an agent may send: its batches are a few hundred records."""
    agent_rate_per_s: float = Field(100.0, gt=0)
    """Calls per second each agent may make on average (a token bucket per agent id)."""
    agent_burst: int = Field(500, ge=1)
    """Calls an agent may make at once before its rate limit applies."""
    sample_clock_tolerance_s: float = Field(60.0, ge=0)
    """How far past the job's running time (as the controller saw it start) a sample's times may
    reach: covers the delay of the agent's RUNNING report, not clock drift (times are relative)."""
    limits: SuiteLimits = SuiteLimits()
    """Bounds a submitted suite must stay within, and that samples are checked against."""

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'arena.db'}"

    @property
    def uses_dev_tokens(self) -> bool:
        return DEV_AGENT_TOKEN in self.agent_tokens or DEV_USER_TOKEN in self.user_tokens
