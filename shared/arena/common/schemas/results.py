"""Results as the controller serves them and arenactl shows them."""

from typing import Any, ClassVar, Literal

from arena.common.schemas.agent import HardwareInfo
from arena.common.schemas.base import ArenaModel
from arena.common.schemas.imported import (
    ImportOrigin,
    Provenance,
    RateSweepSummary,
    TelemetrySample,
)
from arena.common.schemas.job import JobHeader, JobState
from arena.common.schemas.run import RunHeader


class MetricStat(ArenaModel):
    """Mean ± population std of ``n`` values: one per run, or, for llama-benchy's per-request
    metrics, one per request of every run (its own pooling)."""

    mean: float | None
    std: float | None
    n: int


class VariantResult(ArenaModel):
    key: str
    runs: int
    """Runs that produced samples."""
    metrics: dict[str, MetricStat]
    spread_pct: float | None = None
    """Run-to-run spread of the benchmark's throughput in % (``metrics.validity``)."""
    not_meaningful: list[str] = []
    """Metric keys whose values are no measurement here (e.g. pp t/s after a role-only first
    chunk); shown and exported as such."""


class EnergyFigures(ArenaModel):
    """Power and energy over one benchmark's window (formulas in docs/telemetry.md)."""

    window_s: float
    """First request sent → last completion (measured runs), or the telemetry file's span
    (imported runs)."""
    gpus: int
    readings: int
    """Telemetry ticks inside the window."""
    output_tokens: int | None
    mean_power_w: float | None
    peak_power_w: float | None
    energy_j: float | None
    energy_source: str
    """``energy counter`` (NVML's own meter), ``integrated power`` or ``none``."""
    integrated_energy_j: float | None = None
    counter_energy_j: float | None = None
    counter_discrepancy_pct: float | None = None
    """(integrated − counter) / counter × 100."""
    joules_per_output_token: float | None = None
    output_tokens_per_s_per_w: float | None = None
    note: str = ""
    """What could not be derived, and why."""


class LoadStep(ArenaModel):
    """One measured load step of a session benchmark (a variant): its load and, per SLO tier,
    the share of its sessions that met the tier (mean over runs)."""

    variant: str
    load: float
    """Concurrent users, or sessions started per second (``AgentCapacity.unit``)."""
    runs: int
    sessions: int
    """Sessions judged, all runs together."""
    attainment_pct: dict[str, float | None]
    """Tier name → % of sessions meeting it."""
    passed: dict[str, bool]
    """Tier name → attainment ≥ the benchmark's target."""


class AgentCapacity(ArenaModel):
    """How many concurrent agents (or sessions per second) the box served within each SLO
    tier: the largest *measured* step that passed, never an interpolation."""

    unit: Literal["users", "sessions/s"]
    target_pct: float
    """The attainment a step needs, e.g. 95."""
    tiers: list[str]
    """In the benchmark's order; the first drove the search."""
    capacity: dict[str, float | None]
    """Tier → the largest passing step's load below the lowest failing one; ``None`` when no
    measured step passed (or the benchmark is invalid)."""
    steps: list[LoadStep]
    """In load order."""
    gpus: int | None = None
    per_gpu: dict[str, float | None] = {}
    mean_power_w: float | None = None
    """Mean GPU power over the benchmark (its energy figures); ``None`` without telemetry."""
    per_kw: dict[str, float | None] = {}
    note: str = ""

    def lower_bound(self, tier: str) -> bool:
        """Whether ``tier``'s capacity is the highest measured step: nothing above it was
        measured (``analysis.agents`` puts a capacity below the lowest failing step), so the
        box may serve more; every view writes it "or more"."""
        load = self.capacity.get(tier)
        return load is not None and load == max((step.load for step in self.steps), default=None)


class BenchmarkResult(ArenaModel):
    id: str
    title: str
    kind: str
    variants: list[VariantResult]
    engine_metrics: dict[str, float] = {}
    """What the engine itself measured during the benchmark (its Prometheus counters and
    histograms), shown beside the client's numbers so that a disagreement is visible."""
    tool: str = "builtin"
    """Who generated the load: Arena's generator, ``llama-benchy`` or ``vllm-bench``."""
    command: str = ""
    """A reference tool's command line(s), verbatim, one per invocation."""
    tool_metrics: dict[str, dict[str, MetricStat]] = {}
    """The tool's own numbers per variant, as its result files gave them (for vllm-bench these
    sit beside Arena's, which are computed from the same requests)."""
    energy: EnergyFigures | None = None
    """Power and energy while the benchmark ran; ``None`` without GPU telemetry."""
    valid: bool = True
    """False when more than the controller's ``max_error_rate`` of its requests failed: a
    ranking or a capacity figure must leave it out."""
    failed_share: float | None = None
    """Failed requests / all requests, where counted."""
    flags: list[str] = []
    """Why numbers of this benchmark should not be read at face value, one line each."""
    prefix_cache: str = "off"
    """What the benchmark declared (``on``/``off``); an ``off`` one whose engine reported hits
    is flagged and invalid (``metrics.validity``)."""
    exact_tg: bool = False
    """A closed-loop benchmark that sent ``ignore_eos`` with every request (``exact_tg``), so
    every answer was exactly ``tg`` tokens: not the reference methodology's setting."""
    agent_capacity: AgentCapacity | None = None
    """Session benchmarks: the capacity read off their measured load steps."""
    partial: bool = False
    """The benchmark completed but its job then failed or was cancelled: its figures are
    whole, the job's are not. Shown and aggregated apart (status ``partial``), never ranked
    or counted as a capacity."""


class Measured(ArenaModel):
    """The other case of a result's origin: Arena ran the engine, so the job's own provenance,
    samples and GPU readings say how; it carries nothing from a source folder (no profile,
    published sweep, tool telemetry or commands), which lets code read either case alike."""

    kind: ClassVar[Literal["measured"]] = "measured"
    label: ClassVar[Literal["measured"]] = "measured"
    unverified: ClassVar[bool] = False
    source: ClassVar[str] = ""
    profile: ClassVar[str] = ""
    engine_version: ClassVar[str | None] = None
    """In the job's own provenance (``engine_version``)."""
    provenance: ClassVar[Provenance | None] = None
    commands: ClassVar[dict[str, list[str]]] = {}
    rate_sweep: ClassVar[RateSweepSummary | None] = None
    telemetry: ClassVar[dict[str, list[TelemetrySample]]] = {}


MEASURED = Measured()

Origin = Measured | ImportOrigin
"""Where a result's numbers come from: measured by Arena, or imported (``arenactl import``).
Branch on ``origin.kind`` where the two differ; read the shared fields where they do not."""


class JobResult(JobHeader):
    agent: str | None
    hardware: str | None
    simulated: bool
    state: JobState
    message: str
    benchmarks: list[BenchmarkResult]
    imported: ImportOrigin | None = None
    """Set for results measured elsewhere and imported (``arenactl import``); read ``origin``."""
    provenance: dict[str, Any] = {}
    """How the engine ran: command, image digest, version, environment (secrets redacted),
    start-up time, sanity answer."""
    hardware_detail: HardwareInfo | None = None
    """The full fingerprint of the agent that ran the job, as it registered."""
    telemetry: str = ""
    """Whether the job had GPU telemetry (``no GPU telemetry (…)`` when it had none)."""
    tier: str = ""
    """``official`` or ``community`` (the agent's trust when it leased the job); empty for
    imported results."""
    flags: list[str] = []
    """Why the job's data is suspect: refused sample batches, an unsigned or broken manifest."""

    @property
    def origin(self) -> Origin:
        """Measured or imported: the one place that tells them apart."""
        return MEASURED if self.imported is None else self.imported


class RunResults(RunHeader):
    notes: list[str]
    jobs: list[JobResult]
