"""Agent configuration: flags > environment (``ARENA_``) > TOML file > defaults."""

import socket
from pathlib import Path

from pydantic import Field, field_validator

from arena.common.settings import DEV_AGENT_TOKEN, ArenaSettings
from arena.common.transport import ClientTls


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
    """A static agent token: the legacy/dev path. An enrolled agent uses the credential in
    ``state_dir/credential.json`` instead (docs/security.md)."""
    ca_file: Path | None = None
    """The arena CA, or the controller's own certificate (pinned); needed beyond loopback."""
    cert_file: Path | None = None
    key_file: Path | None = None
    """This agent's certificate and key, for a controller that requires mutual TLS."""
    server_name: str | None = None
    """The name in the controller's certificate, when it differs from the address dialled."""
    insecure: bool = False
    """Plain text beyond loopback (never for a real deployment)."""
    credential_max_age_s: float = Field(30 * 86400.0, gt=0)
    """An enrolled agent asks for a new credential at start once its own is this old."""
    name: str = Field(default_factory=socket.gethostname)
    """Unique per box; a restarted agent with the same name takes its old identity back."""
    labels: dict[str, str] = {}
    lease_wait_s: float = Field(10.0, gt=0)
    upload_batch: int = Field(200, ge=1, le=5000)
    upload_interval_s: float = Field(0.5, gt=0)
    flush_timeout_s: float = Field(300.0, gt=0)
    state_dir: Path = Path(".arena/agent")
    """The credential, signing key, spool of unacknowledged samples and logs, and the engines
    the agent started: kept 0700, the agent's alone."""
    policy_file: Path | None = None
    """The owner's policy: which runtimes, images, process recipes, endpoints and host
    variables suites may use on this box (docs/engines.md). None: the safe defaults (Arena's
    simulated engine; Docker only for images a policy lists, so none)."""
    telemetry_interval_s: float = Field(1.0, gt=0, le=60)
    """Seconds between GPU telemetry readings (NVML) while a job runs."""
    client_workers: int = Field(1, ge=1, le=64)
    """Client processes for each open-loop run of the built-in generator. One drives thousands
    of requests/s; more help only where one core cannot keep up and the box has cores spare
    (the engine needs its own)."""

    calibrate_client: bool = True
    """Measure this box's client headroom at start (≈ 3 s against a local server, shown in
    ``arenactl agents``; every job then records its share of it). Off for tests that start
    many agents; nothing is cached between starts."""

    min_free_disk_mb: int = Field(1024, ge=0)
    """Below this much free space next to the spool, the agent takes no new job (it never
    drops samples)."""

    @field_validator("controller")
    @classmethod
    def _addresses(cls, value: str) -> str:
        return ",".join(controller_addresses(value))

    @property
    def tls(self) -> ClientTls:
        return ClientTls(
            self.ca_file, self.cert_file, self.key_file, self.server_name, self.insecure
        )
