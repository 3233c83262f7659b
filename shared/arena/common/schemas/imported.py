"""Results measured elsewhere (the reference tools' output folders), as Arena imports them.

``arenactl import`` parses a folder client-side into one ``ImportedRun`` per model and
precision profile and sends it to the controller, which stores it as a finished run. Metric
keys and variant keys are Arena's own (``arena.common.metrics``,
``arena.common.suites.variants``), so an imported benchmark compares column for column with
a measured one.
"""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from arena.common.schemas.base import ArenaModel
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import SessionBenchmark

SPARK_HARDWARE = "NVIDIA DGX Spark (GB10, 128 GB unified)"

GpuCount = Annotated[int, Field(ge=1, le=1024)]
"""GPUs of one box, as an import states them (per-GPU figures divide by it)."""
ClientLoads = dict[str, dict[str, Annotated[float, Field(ge=0.0, le=1024.0)]]]
"""Per load step, per run (``str(run)``): the busiest client core's utilisation."""
MAX_SPREAD_PCT = 1e6
"""The largest run-to-run spread an import may state (a run 10,000 times its mean)."""
SpreadPct = Annotated[float, Field(ge=0.0, le=MAX_SPREAD_PCT, allow_inf_nan=False)]
MAX_VERSION_CHARS = 256
EngineVersion = Annotated[str, Field(min_length=1, max_length=MAX_VERSION_CHARS)]


class ImportedStat(ArenaModel):
    """Mean ± population std of ``n`` values, as the tool reported them."""

    mean: float
    std: float
    n: int


class ImportedVariant(ArenaModel):
    key: str
    """Variant key: ``pp1024/tg1024/d0/c5`` (closed loop) or ``rate0.3`` (open loop)."""
    runs: int
    """Runs behind the numbers: the command's ``--runs`` (closed loop), 1 (open loop)."""
    metrics: dict[str, ImportedStat]
    spread_pct: SpreadPct | None = None
    """The measuring controller's run-to-run spread (``arena.validity`` of an Arena export);
    ``None``: the results layer estimates it from the spread metric's std / mean."""


class Provenance(ArenaModel):
    """Where and with what the numbers were measured (``meta.json``)."""

    image: str | None = None
    vllm_version: str | None = None
    llama_benchy_version: str | None = None
    driver: str | None = None
    vbios: str | None = None
    hardware_reported: str | None = None
    """The hardware text as the source wrote it; ``ImportedRun.hardware`` is Arena's name."""
    server_config: dict[str, Any] = {}
    generated_at: str | None = None
    quick: float | None = None
    """An arena export's ``quick`` factor (its numbers are not comparable with full runs);
    ``None``: full scale, or a source that does not say."""
    simulated: bool = False
    """An arena export's ``arena.simulated``, as the (editable) ``meta.json`` says."""
    engine: str | None = None
    """The engine that served the requests: an arena export's ``arena.engine_runtime``, or
    ``vllm`` where vLLM's image or version is recorded; ``None``: the source does not say."""
    engine_version: EngineVersion | None = None
    """The engine's version as the measuring agent read it (an Arena export's
    ``arena.engine_version``: llama.cpp's build, vLLM's version…)."""


class TelemetrySample(ArenaModel):
    """One row of ``NN-telemetry.csv``; a field the tool could not read is ``None``."""

    elapsed_s: float
    power_w: float | None = None
    temp_c: float | None = None
    sm_mhz: float | None = None
    gpu_util: float | None = None
    mem_used_mb: float | None = None


class CapacityPoint(ArenaModel):
    """The highest sweep step whose p95 TTFT stayed under a limit."""

    configured_rps: float
    achieved_rps: float | None = None
    ttft_p95_ms: float | None = None
    output_tps: float | None = None
    peak_concurrent: float | None = None


class SweepStep(ArenaModel):
    configured_rps: float
    achieved_rps: float | None = None
    completed: int | None = None
    total_requests: int | None = None
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None
    ttft_p99_ms: float | None = None
    output_tps: float | None = None
    peak_concurrent: float | None = None


class RateSweepSummary(ArenaModel):
    """``11-rate-sweep.json``: capacity under p95-TTFT limits and the steps it was read from."""

    capacity_by_slo_ms: dict[str, CapacityPoint | None]
    """Key: the p95 TTFT limit in ms (``"2000"``); ``None``: no step met the limit."""
    queue_knee_rps: float | None = None
    aborted_at_rps: float | None = None
    """The sweep stopped here (server failure): capacity is a lower bound."""
    steps: list[SweepStep] = []
    failed: str = ""
    """Why the sweep produced no step at all (from ``_runner.log``); its capacity is then no
    statement about the SLO."""
    excluded_rps: list[float] = []
    """Steps left out of capacity because too many of their requests failed."""


class ImportedBenchmark(ArenaModel):
    id: str
    """Benchmark id, e.g. ``01-chat``: the file name's stem, as in the built-in arena-v2 set."""
    title: str
    kind: Literal["closed_loop", "open_loop", "sessions"]
    tool: Literal["llama-benchy", "vllm-bench", "builtin", "llm-d"]
    """``builtin``: Arena's own generator (a session benchmark exported by ``arenactl
    export``); ``llm-d``: an llm-d Benchmark Report that another tool wrote."""
    commands: list[str] = []
    """The tool command lines exactly as recorded (none when the source kept none)."""
    variants: list[ImportedVariant]
    samples: list[RequestSample] = []
    """Per-request samples, when the source kept them (vLLM ``--save-detailed``)."""
    telemetry: list[TelemetrySample] = []
    session: SessionBenchmark | None = None
    """A session benchmark as it ran: its load, SLO tiers and attainment target (what its
    capacity is read with) and the prefix cache it declared."""
    engine_metrics: dict[str, float] = {}
    """The engine's own figures, where the source kept them (its prefix-cache hit rate)."""
    gpus: GpuCount | None = None
    """GPUs of the box that ran a session benchmark (its per-GPU capacity); ``None``: not
    known, per-GPU figures left out."""
    client_load: ClientLoads = {}
    """A session benchmark's client CPU figures per load step and run (``str(run)``), what its
    metrics are recomputed with (``metrics.client_load``)."""
    partial: bool = False
    """An Arena export's benchmark that ran only part of its variants or runs (its
    ``BenchmarkResult.partial``): shown and aggregated apart, as the measured one was."""
    accept_saturated_client: bool = False
    """The suite's ``accept_saturated_client`` for this benchmark, as an Arena export carries
    it: a saturated client is then a warning, not a verdict, as when it was measured."""
    exact_tg: bool = False
    """A closed loop whose every answer was exactly ``tg`` tokens (``exact_tg``), as an Arena
    export carries it: shown as the measured one was."""
    slot_flags: list[Annotated[str, Field(max_length=300)]] = Field([], max_length=2)
    """The measured job's llama.cpp slot warnings (``metrics.engine_slots``), as an Arena
    export carries them: an import cannot recompute them."""

    @field_validator("variants")
    @classmethod
    def _unique_variants(cls, variants: list[ImportedVariant]) -> list[ImportedVariant]:
        _refuse_repeats("variant keys", [variant.key for variant in variants])
        return variants


class ImportedRun(ArenaModel):
    """One model × precision profile folder."""

    key: str
    """``<family>/<model>/<profile>``: the identity a re-import replaces."""
    source: str
    """Folder path relative to the imported root."""
    content_hash: str
    """sha256 over the names and bytes of every file the import read."""
    model: str
    served_name: str | None = None
    profile: str
    hardware: str = SPARK_HARDWARE
    provenance: Provenance
    benchmarks: list[ImportedBenchmark]
    rate_sweep: RateSweepSummary | None = None

    @field_validator("benchmarks")
    @classmethod
    def _unique_benchmarks(cls, benchmarks: list[ImportedBenchmark]) -> list[ImportedBenchmark]:
        _refuse_repeats("benchmark ids", [benchmark.id for benchmark in benchmarks])
        return benchmarks


def _refuse_repeats(what: str, names: list[str]) -> None:
    """One stored row per benchmark variant: a repeated name is the sender's error."""
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"repeated {what}: {', '.join(repeated)}")


class ImportOrigin(ArenaModel):
    """What an imported job shows besides its metrics: source, provenance, commands, extras.
    One case of a result's origin (``arena.common.schemas.results.Origin``)."""

    kind: ClassVar[Literal["imported"]] = "imported"

    key: str
    source: str
    content_hash: str
    served_name: str | None
    profile: str
    provenance: Provenance
    commands: dict[str, list[str]]
    """Per benchmark id, the verbatim tool command lines."""
    rate_sweep: RateSweepSummary | None
    telemetry: dict[str, list[TelemetrySample]]
    """Per benchmark id, the telemetry rows recorded while it ran."""
    verified_by: str = ""
    """``agent NAME, key SHA256`` when the import's signed manifest verified against this
    controller's key registry; empty: unverified (left out of rankings unless asked for)."""

    @property
    def label(self) -> Literal["imported", "unverified"]:
        """``unverified``: nothing this controller trusts signed the numbers (not ranked)."""
        return "imported" if self.verified_by else "unverified"

    @property
    def unverified(self) -> bool:
        return not self.verified_by

    @property
    def engine_version(self) -> str | None:
        """The version the measuring agent read, else vLLM's reported one, else the image."""
        p = self.provenance
        return p.engine_version or p.vllm_version or p.image

    @classmethod
    def of(cls, run: ImportedRun) -> "ImportOrigin":
        return cls(
            key=run.key,
            source=run.source,
            content_hash=run.content_hash,
            served_name=run.served_name,
            profile=run.profile,
            provenance=run.provenance,
            commands={b.id: b.commands for b in run.benchmarks if b.commands},
            rate_sweep=run.rate_sweep,
            telemetry={b.id: b.telemetry for b in run.benchmarks if b.telemetry},
        )
