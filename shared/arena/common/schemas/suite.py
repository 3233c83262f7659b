"""The suite file: which models, on which engines, on which hardware, running which benchmarks.

A suite names either a built-in benchmark set (``suite: arena-v1``) or its own ``benchmarks``;
the loader (``arena.common.suites.loader``) resolves it into a ``ResolvedSuite`` whose
benchmarks are concrete, already scaled by ``quick``, and ready to expand into jobs.
"""

import math
from typing import Annotated, Literal, TypeVar

from pydantic import BeforeValidator, Field, field_validator, model_validator

from arena.common.schemas.base import ArenaModel
from arena.common.schemas.engine import ArgValue, EngineProfile
from arena.common.schemas.trust import TrustTier
from arena.common.traces.format import MAX_SESSIONS

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
PositiveInt = Annotated[int, Field(gt=0)]


def _on_off(value: object) -> object:
    """YAML 1.1 reads a bare ``on``/``off`` as a boolean: take both spellings."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return value


PrefixCache = Annotated[Literal["on", "off"], BeforeValidator(_on_off)]
"""Whether the benchmark means to measure with the engine's prefix cache. ``off`` (the
reference methodology) is checked: a benchmark whose engine reports cache hits beyond
``metrics.validity.WARM_CACHE_HIT_PCT`` is flagged "served from a warm prefix cache" and left
out of rankings."""


RunOrder = Literal["sequential", "shuffled"]
"""The order of a benchmark's (variant, run) pairs: ``sequential`` runs each variant's runs in
turn (every run of c1, then of c5…); ``shuffled`` runs the pairs in a random order seeded by the
suite's seed (``arena.common.suites.run_order``), so a GPU heating up over the benchmark does
not line up with concurrency or depth. The order used is recorded in the job's provenance."""


class ClosedLoopBenchmark(ArenaModel):
    """llama-benchy style: each run fires ``concurrency`` requests at once and waits for all."""

    kind: Literal["closed_loop"] = "closed_loop"
    id: Identifier
    title: str = ""
    description: str = ""
    pp: list[PositiveInt] = Field(min_length=1)
    """Prompt lengths in tokens."""
    tg: list[PositiveInt] = Field(min_length=1)
    """Generated tokens per request."""
    depth: list[Annotated[int, Field(ge=0)]] = [0]
    """Context tokens placed before the prompt (llama-benchy counts depth in tokens)."""
    concurrency: list[PositiveInt] = [1]
    history_turns: Annotated[int, Field(ge=0)] = 0
    """0 keeps llama-benchy's semantics (depth is one block of context). N > 0 splits the depth
    tokens over N earlier user/assistant turns: a true multi-turn conversation."""
    latency_mode: Literal["api", "generation", "none"] = "generation"
    warmup: bool = True
    tool: Literal["builtin", "llama-benchy"] = "builtin"
    """Who generates the load: Arena's generator, or llama-benchy run with the reference command."""
    prefix_cache: PrefixCache = "off"
    accept_saturated_client: bool = False
    """Keep the results valid even where the client was saturated (still flagged): for a
    benchmark that means to measure the client, or a box known to be shared."""
    run_order: RunOrder = "sequential"
    exact_tg: bool = False
    """Send ``ignore_eos`` with every request (warm-up included; llama-benchy's ``--exact-tg``)
    so every answer is exactly ``tg`` tokens: for random-weight models, which hit an end token
    at random, and for reproducible batches at concurrency > 1. The reference methodology
    leaves it off: real models stop where they stop."""

    @model_validator(mode="after")
    def _order_needs_builtin(self) -> "ClosedLoopBenchmark":
        return _builtin_order(self)


Ordered = TypeVar("Ordered", "ClosedLoopBenchmark", "OpenLoopBenchmark")


def _builtin_order(bench: Ordered) -> Ordered:
    """A reference tool runs its own loop in its own order: only Arena's generator shuffles."""
    if bench.run_order == "shuffled" and bench.tool != "builtin":
        raise ValueError(f"run_order: shuffled needs the built-in generator, not {bench.tool}")
    return bench


class OpenLoopBenchmark(ArenaModel):
    """vllm bench serve style: requests arrive on a seeded schedule whatever the server does."""

    kind: Literal["open_loop"] = "open_loop"
    id: Identifier
    title: str = ""
    description: str = ""
    dataset: Literal["random", "sharegpt"] = "random"
    dataset_path: str | None = None
    """ShareGPT V3 JSON file; without it the built-in synthetic stand-in is used (and labelled)."""
    input_len: PositiveInt | None = None
    output_len: PositiveInt | None = None
    """Random dataset: target lengths. ShareGPT: a fixed output length instead of the data's."""
    range_ratio: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    prefix_len: Annotated[int, Field(ge=0)] = 0
    num_prompts: PositiveInt
    request_rate: list[Annotated[float, Field(gt=0)]] = Field(min_length=1)
    """Requests per second; several values make a rate sweep; ``inf`` sends all at once."""
    burstiness: Annotated[float, Field(gt=0)] = 1.0
    max_concurrency: PositiveInt | None = None
    min_duration_s: Annotated[float, Field(ge=0)] = 0.0
    """Rate sweeps: each step gets at least ``rate × min_duration_s`` prompts."""
    percentiles: list[Annotated[float, Field(gt=0, le=100)]] = [50, 90, 95, 99]
    goodput_slo_ms: dict[Literal["ttft", "tpot", "e2el"], Annotated[float, Field(gt=0)]] = {}
    ignore_eos: bool | None = None
    """Default: forced on for the random dataset (as vLLM does), off for ShareGPT."""
    tool: Literal["builtin", "vllm-bench"] = "builtin"
    """Who generates the load: Arena's generator, or ``vllm bench serve`` (reference flags)."""
    prefix_cache: PrefixCache = "off"
    accept_saturated_client: bool = False
    """Keep the results valid even where the client was saturated (still flagged): for a
    benchmark that means to measure the client, or a box known to be shared."""
    run_order: RunOrder = "sequential"

    @model_validator(mode="after")
    def _dataset_needs(self) -> "OpenLoopBenchmark":
        if self.dataset == "random" and (self.input_len is None or self.output_len is None):
            raise ValueError("the random dataset needs input_len and output_len")
        return _builtin_order(self)

    def prompts_for_rate(self, rate: float) -> int:
        if math.isinf(rate):
            return self.num_prompts
        return max(self.num_prompts, math.ceil(rate * self.min_duration_s))


class SloTier(ArenaModel):
    """A session meets the tier when every one of its turns (sub-agents' included) succeeded,
    had TTFT ≤ ``ttft_s`` and streamed at ≥ ``output_tokens_per_s`` (per-user speed,
    (output tokens − 1) / (last − first output chunk))."""

    name: Identifier
    ttft_s: Annotated[float, Field(gt=0, le=3600)]
    output_tokens_per_s: Annotated[float, Field(ge=0, le=100_000)]


DEFAULT_SLO_TIERS: tuple[SloTier, ...] = (
    SloTier(name="interactive", ttft_s=1.0, output_tokens_per_s=30.0),
    SloTier(name="agent", ttft_s=3.0, output_tokens_per_s=20.0),
    SloTier(name="relaxed", ttft_s=10.0, output_tokens_per_s=10.0),
)
"""Defaults (docs/agentic.md says why these): the first tier of a benchmark's ``slo`` drives
its capacity search; the others are read off the same measured steps."""


class TraceSource(ArenaModel):
    """Where a session benchmark's sessions come from: exactly one of ``profile`` (Arena's
    seeded trace generator, ``arena.common.traces.profiles``) or ``path`` (a trace file on the
    agent's box, under its policy's ``models_dir``)."""

    profile: Literal["coding", "chat", "rag"] | None = None
    path: str | None = None
    format: Literal["arena", "mooncake"] = "arena"
    """``path``'s format: Arena's session trace (docs/traces.md) or Mooncake JSONL."""
    block_size: Annotated[int, Field(gt=0, le=4096)] | None = None
    """Tokens per hash block of a Mooncake file (its default: 512); an Arena trace names its
    own in its header line."""
    sessions: Annotated[int, Field(gt=0, le=MAX_SESSIONS)] | None = None
    """Sessions to generate (profile; default 64), or the first N of the file (default all)."""
    params: dict[str, float] = {}
    """Overrides of the profile's documented parameters (docs/traces.md)."""
    scale: Annotated[float, Field(gt=0, le=1)] = 1.0
    """``quick`` scaling applied to the trace once read or generated
    (``traces.profiles.scale``: token counts and think times × scale); the suite's ``quick``
    sets it."""

    @model_validator(mode="after")
    def _one_source(self) -> "TraceSource":
        if (self.profile is None) == (self.path is None):
            raise ValueError("trace: give exactly one of 'profile' or 'path'")
        if self.params and self.profile is None:
            raise ValueError("trace.params only apply to a generated 'profile'")
        if self.profile is not None and (self.format != "arena" or self.block_size is not None):
            raise ValueError("trace.format and trace.block_size apply to a trace file ('path')")
        if self.block_size is not None and self.format != "mooncake":
            raise ValueError(
                "trace.block_size applies to a Mooncake file; an Arena trace names its own"
            )
        return self


class LoadSearch(ArenaModel):
    """Capacity search: bracket (start, doubling) until a step misses the attainment target,
    then bisect between the last passing and the first failing step until they are within
    ``resolution``; every step is measured, none interpolated."""

    over: Literal["users", "session_rate"] = "users"
    start: Annotated[float, Field(gt=0)] = 1.0
    max: Annotated[float, Field(gt=0)] = 64.0
    resolution: Annotated[float, Field(gt=0)] = 1.0
    max_steps: Annotated[int, Field(ge=1, le=32)] = 8

    @model_validator(mode="after")
    def _range(self) -> "LoadSearch":
        if self.start > self.max:
            raise ValueError(f"search.start ({self.start:g}) must not exceed max ({self.max:g})")
        if self.over == "users" and self.max < 1:
            raise ValueError(f"a search over users needs max of at least 1, got {self.max:g}")
        return self


class SessionBenchmark(ArenaModel):
    """Multi-turn sessions (agents, chats, RAG): each turn re-sends the conversation so far.

    Load is one of: ``users`` (N concurrent users, each running sessions back to back: closed
    loop), ``session_rate`` (sessions start on a seeded Poisson/gamma schedule: open loop),
    ``search`` (capacity search over either) or ``replay_timestamps`` (the trace's own
    arrival times). Each load value is one variant (``u4``, ``srate0.5``, ``replay``); a search
    makes its variants as it goes. Every step lasts ``step_s``: sessions start until then and
    those started are run to their end.
    """

    kind: Literal["sessions"] = "sessions"
    id: Identifier
    title: str = ""
    description: str = ""
    trace: TraceSource
    users: list[PositiveInt] = []
    session_rate: list[Annotated[float, Field(gt=0)]] = []
    burstiness: Annotated[float, Field(gt=0)] = 1.0
    replay_timestamps: bool = False
    search: LoadSearch | None = None
    step_s: Annotated[float, Field(gt=0, le=86_400)] = 120.0
    prefix_cache: PrefixCache = "on"
    accept_saturated_client: bool = False
    """Keep the results valid even where the client was saturated (still flagged): for a
    benchmark that means to measure the client, or a box known to be shared."""
    history: Literal["engine", "trace"] = "engine"
    """Earlier answers re-sent as the engine produced them, or as synthesised text of the
    trace's lengths (then the engine cannot reuse its cached answer tokens)."""
    think_scale: Annotated[float, Field(ge=0, le=100)] = 1.0
    """Multiplies every think/tool time of the trace (0: none)."""
    slo: list[SloTier] = Field(default_factory=lambda: list(DEFAULT_SLO_TIERS), min_length=1)
    attainment: Annotated[float, Field(gt=0, le=1)] = 0.95
    """Share of a step's sessions that must meet the tier for the step to pass."""
    tool: Literal["builtin"] = "builtin"

    @model_validator(mode="after")
    def _one_load(self) -> "SessionBenchmark":
        given = [
            name
            for name, present in (
                ("users", bool(self.users)),
                ("session_rate", bool(self.session_rate)),
                ("search", self.search is not None),
                ("replay_timestamps", self.replay_timestamps),
            )
            if present
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one load: users, session_rate, search or replay_timestamps"
                + (f" (got {', '.join(given)})" if given else "")
            )
        names = [tier.name for tier in self.slo]
        if len(set(names)) != len(names):
            raise ValueError("slo tier names must be unique")
        return self


Benchmark = Annotated[
    ClosedLoopBenchmark | OpenLoopBenchmark | SessionBenchmark, Field(discriminator="kind")
]


class ModelSpec(ArenaModel):
    name: str = Field(min_length=1)
    """The model as the engine knows it (the ``model`` field of requests)."""
    engine: Identifier
    """Name of an engine profile in ``engines``."""
    tokenizer: str | None = None
    """Local tokenizer.json for exact prompt lengths; default: the server's ``/tokenize``."""
    revision: str | None = None
    """Model revision (a hub commit or tag), recorded with the results."""
    engine_args: dict[str, ArgValue] = {}
    """Overrides of the engine profile's template ``args`` for this model."""
    random_weights: bool = False
    """Random-weight test models cannot answer coherently: tools skip their coherence checks."""


class Target(ArenaModel):
    """Which agents may run the jobs: every given selector must match."""

    name: Identifier = "any"
    labels: dict[str, str] = {}
    gpu_name: str | None = None
    """Case-insensitive substring of the GPU name, e.g. ``H200`` or ``GB10``."""
    min_vram_gb: Annotated[float, Field(ge=0)] | None = None
    cpu_arch: str | None = None
    agent: str | None = None
    """A specific agent name."""
    tier: TrustTier | None = None
    """Only agents of this trust tier (``arenactl agents trust``), e.g. to replicate a result."""


class SuiteSpec(ArenaModel):
    """The suite file as the user writes it."""

    name: Identifier
    description: str = ""
    suite: str | None = None
    """A built-in benchmark set: ``arena-v1``, ``arena-v2`` or ``arena-agentic``."""
    only: list[str] = []
    """Run only these benchmark ids of the built-in set."""
    extras: list[str] = []
    """Optional extra benchmarks of the built-in set (e.g. ``04t-multi-turn-true``)."""
    benchmarks: list[Benchmark] = []
    models: list[ModelSpec] = Field(min_length=1)
    engines: dict[Identifier, EngineProfile] = Field(min_length=1)
    targets: list[Target] = [Target()]
    runs: Annotated[int, Field(ge=1, le=100)] = 3
    seed: int = 42
    run_order: RunOrder | None = None
    """Every closed- and open-loop benchmark's ``run_order`` where it sets none of its own."""
    exact_tg: bool | None = None
    """Every closed-loop benchmark's ``exact_tg`` where it sets none of its own (the built-in
    sets included)."""
    quick: Annotated[float, Field(gt=0, le=1)] | None = None
    """Shrink prompt counts and lengths by this factor and raise arrival rates by its inverse,
    keeping the offered token load; for demos, never for published numbers."""

    @model_validator(mode="after")
    def _check_references(self) -> "SuiteSpec":
        if self.suite is None and not self.benchmarks:
            raise ValueError("name a built-in 'suite' or give 'benchmarks'")
        for index, model in enumerate(self.models):
            if model.engine not in self.engines:
                known = ", ".join(sorted(self.engines))
                raise ValueError(
                    f"models[{index}].engine: unknown engine profile {model.engine!r} "
                    f"(defined: {known})"
                )
        ids = [b.id for b in self.benchmarks]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate benchmark ids: {', '.join(duplicates)}")
        return self

    @field_validator("targets")
    @classmethod
    def _unique_targets(cls, targets: list[Target]) -> list[Target]:
        names = [t.name for t in targets]
        if len(set(names)) != len(names):
            raise ValueError("target names must be unique")
        return targets


class ResolvedSuite(ArenaModel):
    """A suite after the loader: concrete benchmarks, scaled, validated against the built-ins."""

    spec: SuiteSpec
    benchmarks: list[Benchmark]
    simulated_data: list[str] = []
    """Notes on stand-in data used (e.g. the synthetic ShareGPT file), shown with the results."""
