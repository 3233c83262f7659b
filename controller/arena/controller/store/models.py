"""Tables. All times are float Unix seconds; JSON columns hold pydantic-shaped documents.

The schema's history lives in ``migrations/``: a change here needs a revision there
(docs/database.md says how).
"""

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading
from arena.common.schemas.trust import TrustTier
from arena.controller.store.columns import PackedFloats


class AgentRow(SQLModel, table=True):
    __tablename__ = "agents"

    id: str = Field(primary_key=True)
    name: str = Field(index=True, unique=True)
    hardware: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    labels: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    versions: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    gpu_name: str = ""
    vram_gb: float = 0.0
    cpu_arch: str = ""
    registered_at: float
    last_seen_at: float
    draining: bool = False
    policy: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """The owner's policy (``AgentPolicy``) it last registered with; none for an agent that
    registered before policies existed, which reads as the safe defaults."""
    tier: TrustTier = Field(default=TrustTier.OFFICIAL, sa_type=String)
    """Its trust tier (a plain string column); jobs take it at lease time."""
    public_key: str = ""
    """Hex of the ed25519 key bound at first registration; it verifies the agent's manifests."""


class SuiteRow(SQLModel, table=True):
    __tablename__ = "suites"

    id: str = Field(primary_key=True)
    name: str = Field(index=True)
    filename: str
    source_yaml: str
    resolved: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    submitted_at: float


class RunRow(SQLModel, table=True):
    __tablename__ = "runs"

    id: str = Field(primary_key=True)
    suite_id: str = Field(foreign_key="suites.id", index=True)
    suite_name: str
    created_at: float
    notes: list[str] = Field(sa_column=Column(JSON, nullable=False))


class JobRow(SQLModel, table=True):
    __tablename__ = "jobs"

    id: str = Field(primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True)
    target: str
    model: str
    engine_runtime: str
    spec: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    selector: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(index=True)
    ordinal: int = 0
    """Position in the suite's expansion: jobs of one run are leased in this order."""
    attempt: int = 0
    agent_id: str | None = Field(default=None, index=True)
    lease_expires_at: float | None = None
    acked_seq: int = 0
    """Highest contiguous sample sequence stored for the current attempt."""
    logs_acked_seq: int = 0
    requests_expected: int = 0
    clock_origin_unix: float | None = None
    progress: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    provenance: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    message: str = ""
    created_at: float
    leased_at: float | None = None
    """When the current attempt was leased: before its RUNNING report, a sample's times must
    fit between this and now."""
    started_at: float | None = None
    finished_at: float | None = None
    tier: TrustTier | None = Field(default=None, sa_type=String)
    """The trust tier of the agent that leased the current attempt; none before a lease."""
    flags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """Why the job's data is suspect: refused sample batches, an unsigned manifest."""
    manifest: str = ""
    """The signed provenance manifest of the finished attempt (canonical JSON), as sent."""
    signature: str = ""
    """Hex of the manifest's ed25519 signature, verified against the agent's key on ingest."""
    signer_key: str = ""
    """Hex of the key that signed it (the agent's key may be reset later)."""
    metrics_version: int | None = None
    """The metric definitions' version its aggregates were computed with
    (``results.aggregation.METRICS_VERSION``); None on a succeeded measured job: pending."""


ROW_ID = BigInteger().with_variant(Integer(), "sqlite")
"""Streamed rows outnumber 2³¹ over a busy arena's life: BIGINT on PostgreSQL; SQLite's
INTEGER primary key is already 64-bit (and only INTEGER is its row id)."""


class AttemptItem(SQLModel):
    """The keys of one item a job attempt streams: stored exactly once per (job, attempt, seq).

    Listed as the last base of a table so that its columns come first, as they always have.
    """

    id: int | None = Field(default=None, primary_key=True, sa_type=ROW_ID)
    job_id: str = Field(foreign_key="jobs.id", index=True)
    attempt: int
    seq: int


# The records' pydantic ConfigDict and SQLModel's config type differ only in type (mypy).
class SampleRow(RequestSample, AttemptItem, table=True):  # type: ignore[misc]
    """One measured request: ``RequestSample``'s fields under an attempt's keys, its chunk
    times a packed column."""

    __tablename__ = "samples"
    __table_args__ = (
        UniqueConstraint("job_id", "attempt", "seq"),
        # one sample per request of an attempt: a repeat in a later batch is refused
        Index(
            "ix_samples_request",
            *("job_id", "attempt", "benchmark", "variant", "run", "index"),
            unique=True,
        ),
    )

    chunk_times_s: list[float] = Field(default_factory=list, sa_type=PackedFloats, nullable=False)


SUMMARY_RUN = -1
"""``AggregateRow.run`` of the summary over a variant's runs (a measured run is 0, 1, …)."""


class AggregateRow(SQLModel, table=True):
    """Metrics of one benchmark variant: per run (``run`` ≥ 0) or over runs (``run`` = -1)."""

    __tablename__ = "aggregates"
    __table_args__ = (UniqueConstraint("job_id", "benchmark", "variant", "run"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="jobs.id", index=True)
    benchmark: str
    variant: str
    run: int
    kind: str
    metrics: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class JobLogRow(AttemptItem, table=True):
    """One line of the engine's output."""

    __tablename__ = "job_logs"
    __table_args__ = (UniqueConstraint("job_id", "attempt", "seq"),)

    line: str


class ToolResultRow(SQLModel, table=True):
    """What a reference tool (llama-benchy, vllm bench serve) produced for one benchmark of one
    attempt: its command lines and result files verbatim, and its metrics in Arena's keys."""

    __tablename__ = "tool_results"
    __table_args__ = (UniqueConstraint("job_id", "attempt", "benchmark"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="jobs.id", index=True)
    attempt: int
    benchmark: str
    tool: str
    command: str
    """One command line per tool invocation, newline-separated."""
    output: str
    metrics: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    """{variant key: {metric: {mean, std, n}}}."""


class TelemetryRow(GpuReading, AttemptItem, table=True):  # type: ignore[misc]  # as SampleRow
    """One GPU's reading at one tick: ``GpuReading``'s fields under an attempt's keys; ``t_s``
    is on the job's clock, like the samples'."""

    __tablename__ = "telemetry"
    __table_args__ = (UniqueConstraint("job_id", "attempt", "seq"),)

    throttle_reasons: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)


class EnergyRow(SQLModel, table=True):
    """Power and energy figures of one benchmark of a finished job (``EnergyFigures``)."""

    __tablename__ = "energy"
    __table_args__ = (UniqueConstraint("job_id", "benchmark"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="jobs.id", index=True)
    benchmark: str
    figures: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class EnrolmentRow(SQLModel, table=True):
    """A token an operator hands to new agents; exchanged for a credential at most ``uses_left``
    times before ``expires_at``. Only the token's hash is kept."""

    __tablename__ = "enrolments"

    id: str = Field(primary_key=True)
    token_hash: str = Field(index=True, unique=True)
    labels: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    """The labels an agent enrolled with this token may claim."""
    uses_left: int
    expires_at: float
    created_at: float
    created_by: str


class CredentialRow(SQLModel, table=True):
    """One secret of an agent or a user, stored as its hash. A name may hold several while a
    rotation's grace period runs; revoking a name revokes them all."""

    __tablename__ = "credentials"

    id: str = Field(primary_key=True)
    token_hash: str = Field(index=True, unique=True)
    kind: str = Field(index=True)
    """``agent`` or ``user``."""
    name: str = Field(index=True)
    """The agent name (bound to it: no other credential can register under it) or user name."""
    role: str
    """A user's role (viewer, submitter, admin); ``agent`` for agents."""
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """An agent's labels from its enrolment: the most it may claim at registration."""
    fingerprint: str = ""
    """An agent's hardware fingerprint at enrolment; a registration with other hardware is
    refused."""
    created_at: float
    expires_at: float | None = None
    """Set when the credential is rotated away: it keeps working until then."""
    revoked_at: float | None = None


class ImportRow(SQLModel, table=True):
    """What makes a job an imported one: the source folder's results, measured elsewhere. Its
    ``jobs`` row is the job as it ran (the engine its meta names, succeeded, no agent); the
    numbers live in ``aggregates`` (run = -1) and, where the source kept them, ``samples``."""

    __tablename__ = "imports"

    job_id: str = Field(primary_key=True, foreign_key="jobs.id")
    key: str = Field(index=True)
    """``<family>/<model>/<profile>``: the identity a re-import replaces."""
    hardware: str
    """Arena's name for the hardware the source names (or the signing agent registered)."""
    origin: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    """``ImportOrigin``: source, content hash, provenance, commands, rate sweep, telemetry."""
    benchmarks: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    """The benchmarks and their variants in the source's order (``ImportedBenchmarkHeader``)."""


class RunOwnerRow(SQLModel, table=True):
    """Who submitted a run: a submitter may cancel only its own runs."""

    __tablename__ = "run_owners"

    run_id: str = Field(primary_key=True, foreign_key="runs.id")
    owner: str = Field(index=True)


class AgentKeyRow(SQLModel, table=True):
    """Every signing key an agent has registered with: the controller's key registry. A reset
    key stays here, so results it signed still verify (``arenactl keyring export``)."""

    __tablename__ = "agent_keys"

    agent_id: str = Field(primary_key=True, foreign_key="agents.id")
    public_key: str = Field(primary_key=True, index=True)
    """Hex of the raw ed25519 public key."""
    first_seen_at: float
