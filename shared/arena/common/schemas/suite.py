"""The suite file: which models, on which engines, on which hardware, running which benchmarks.

A suite names either a built-in benchmark set (``suite: arena-v1``) or its own ``benchmarks``;
the loader (``arena.common.suites.loader``) resolves it into a ``ResolvedSuite`` whose
benchmarks are concrete, already scaled by ``quick``, and ready to expand into jobs.
"""

import math
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from arena.common.schemas.base import ArenaModel
from arena.common.schemas.engine import ArgValue, EngineProfile
from arena.common.schemas.trust import TrustTier

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
PositiveInt = Annotated[int, Field(gt=0)]


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

    @model_validator(mode="after")
    def _dataset_needs(self) -> "OpenLoopBenchmark":
        if self.dataset == "random" and (self.input_len is None or self.output_len is None):
            raise ValueError("the random dataset needs input_len and output_len")
        return self

    def prompts_for_rate(self, rate: float) -> int:
        if math.isinf(rate):
            return self.num_prompts
        return max(self.num_prompts, math.ceil(rate * self.min_duration_s))


Benchmark = Annotated[ClosedLoopBenchmark | OpenLoopBenchmark, Field(discriminator="kind")]


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
    """A built-in benchmark set: ``arena-v1`` or ``arena-v2``."""
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
