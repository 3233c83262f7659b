"""Controller configuration: flags > environment (``ARENA_``) > TOML file > defaults."""

from pathlib import Path

from pydantic import Field, field_validator

from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN, ArenaSettings


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
    models_file: Path | None = None
    """Quality scores and memory footprints for the dashboard's leaderboard, as ``arenactl rank
    --models`` reads them (``examples/models.yaml``)."""
    dashboard: str = "127.0.0.1:8080"
    """The web dashboard's HTTP address (``docs/dashboard.md``), or ``off``."""

    @field_validator("dashboard")
    @classmethod
    def _host_port_or_off(cls, value: str) -> str:
        if value.strip().lower() == "off":
            return "off"
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:8080) or 'off'")
        return value

    @property
    def dashboard_address(self) -> tuple[str, int] | None:
        """(host, port) of the dashboard; None when it is off."""
        if self.dashboard == "off":
            return None
        host, _, port = self.dashboard.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'arena.db'}"

    @property
    def uses_dev_tokens(self) -> bool:
        return DEV_AGENT_TOKEN in self.agent_tokens or DEV_USER_TOKEN in self.user_tokens
