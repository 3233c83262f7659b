"""Controller configuration: flags > environment (``ARENA_``) > TOML file > defaults."""

from pathlib import Path

from pydantic import Field, field_validator

from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN, ArenaSettings
from arena.common.suites.limits import SuiteLimits
from arena.common.transport import host_of, is_loopback

DATABASE_FILE = "arena.db"
"""The SQLite file in ``data_dir`` when no ``database_url`` is set."""


class ControllerSettings(ArenaSettings):
    listen: str = "127.0.0.1:50051"
    """gRPC address; use 0.0.0.0:50051 to accept agents from other hosts."""
    data_dir: Path = Path(".arena")
    database_url: str | None = None
    """Any SQLAlchemy URL; default: a SQLite file (WAL) in ``data_dir``."""
    database_connections: int = Field(4, ge=1, le=64)
    """PostgreSQL: transactions run at once, each locking only the rows it changes (SQLite has
    one writer: they take turns)."""
    agent_tokens: list[str] = [DEV_AGENT_TOKEN]
    """Static agent tokens: the legacy/dev path (any holder may act as any agent that is not
    enrolled). Exposed controllers set ``[]`` and enrol agents (docs/security.md)."""
    user_tokens: list[str] = [DEV_USER_TOKEN]
    """Static user tokens, each with the admin role: the legacy/dev path, like agent_tokens."""
    admin_token: str | None = None
    """Bootstrap admin token: creates users and enrolment tokens on a fresh controller."""
    credential_grace_s: float = Field(3600.0, ge=0)
    """How long a rotated-away credential keeps working."""
    tls: bool = False
    """TLS on loopback too; beyond loopback it is always on unless ``insecure``."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    """The controller's certificate and key (PEM); default: a self-signed pair generated into
    ``data_dir/tls``."""
    tls_hostnames: list[str] = []
    """Extra names and addresses for the generated certificate (agents verify the one they dial)."""
    tls_client_ca: Path | None = None
    """Mutual TLS: accept only clients with a certificate from this CA (``arenactl ca``)."""
    insecure: bool = False
    """Allow plain text beyond loopback (logged loudly at every start)."""
    heartbeat_interval_s: float = Field(2.0, gt=0)
    lease_ttl_s: float = Field(30.0, gt=0)
    max_attempts: int = Field(3, ge=1)
    max_error_rate: float = Field(0.10, ge=0, le=1)
    """A benchmark with a larger share of failed requests is shown invalid and left out of
    capacity (``arena.common.metrics.validity``)."""
    accept_saturated_clients: bool = False
    """Keep every benchmark valid where its client was saturated (still flagged), as if each set
    ``accept_saturated_client``: for a controller whose agents share their boxes on purpose
    (a test machine). Off: a saturated client makes its benchmark invalid."""
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

    max_message_bytes: int = Field(64 * 1024 * 1024, gt=0)
    """Largest message any call may carry (gRPC refuses bigger ones with RESOURCE_EXHAUSTED);
    imports of whole result folders are the big ones."""
    max_agent_message_bytes: int = Field(8 * 1024 * 1024, gt=0)
    """Largest message an agent may send: its batches are a few hundred records."""
    max_user_message_bytes: int = Field(64 * 1024, gt=0)
    """Largest message a user call other than SubmitSuite and ImportResults may carry (ids,
    names, filters); SubmitSuite takes 2 MiB, ImportResults ``max_message_bytes``."""
    max_text_chars: int = Field(1024, gt=0)
    """Longest name, label, id or other one-line text a request field may hold."""
    max_list_limit: int = Field(1000, gt=0)
    """The largest ``limit`` or ``tail`` a listing accepts."""
    user_rate_per_s: float = Field(100.0, gt=0)
    """Calls per second each user may make on average (a token bucket per user)."""
    user_burst: int = Field(2000, ge=1)
    """Calls a user may make at once before its rate limit applies."""
    suite_workers: int = Field(2, ge=1, le=64)
    """Worker processes that parse submitted suites, off the event loop."""
    suite_budget_s: float = Field(10.0, gt=0)
    """Time one suite may take to parse and expand; its worker is killed past it."""
    submissions_per_user: int = Field(2, ge=1)
    """Suites one user may have being parsed at once."""
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
        return self.database_url or f"sqlite:///{self.data_dir / DATABASE_FILE}"

    @property
    def host(self) -> str:
        return host_of(self.listen)

    @property
    def uses_tls(self) -> bool:
        explicit = self.tls or self.tls_cert is not None or self.tls_client_ca is not None
        return explicit or not (is_loopback(self.host) or self.insecure)

    @property
    def uses_dev_tokens(self) -> bool:
        return DEV_AGENT_TOKEN in self.agent_tokens or DEV_USER_TOKEN in self.user_tokens
