"""Engine profiles: how the agent gets an OpenAI-compatible endpoint to benchmark.

``docker`` starts an engine image from a command template in the style of Spark Arena recipes
(``vllm serve {model} --port {port} --max-model-len {max_model_len}``): placeholders are filled
from ``model``, ``port``, ``served_model_name`` and ``args`` (defaults in the profile,
overridable per model with ``ModelSpec.engine_args``). ``process`` starts one of the recipes the
agent's owner allows (its policy, ``arena.common.schemas.policy``), with typed ``args``.
``external`` benchmarks an endpoint already running; ``simulated`` is Arena's own simulated
engine. Which of them a box accepts is its owner's decision, never the suite's.

Secrets are *names*: ``secrets: {HF_TOKEN: HF_TOKEN}`` passes the agent's ``$HF_TOKEN`` to the
engine as ``HF_TOKEN``, and ``api_key_env`` names the variable holding an external endpoint's
key. Their values never enter the suite, the database or a log: a suite that writes one
literally (an ``env`` entry named or shaped like a token, an ``api_key``) is refused.
"""

from typing import Annotated, Literal

from pydantic import Field, field_validator

from arena.common.redact import looks_secret
from arena.common.schemas.base import ArenaModel

PositiveInt = Annotated[int, Field(gt=0)]
ArgValue = str | int | float | bool
HealthPath = Annotated[str, Field(pattern=r"^/", max_length=1024)]
"""A path on the engine's own host: the agent appends it to the engine's address, so text
before the first ``/`` (``@other-host/``) would name another host the policy never listed."""


MAX_PREFIX_CACHE_BLOCKS = 1 << 20
"""A million blocks (16 M tokens at 16 a block) keeps the simulated cache's own memory near
150 MB even when a suite asks for the most."""
MAX_PREFIX_CACHE_BLOCK_SIZE = 4096


class SimulatedEngine(ArenaModel):
    """Arena's own simulated engine: predictable speed, every result labelled simulated."""

    runtime: Literal["simulated"]
    prefill_tokens_per_s: Annotated[float, Field(gt=0)] = 20000.0
    decode_step_ms: Annotated[float, Field(gt=0)] = 10.0
    """Time of one decode step for a batch of one."""
    decode_step_ms_per_seq: Annotated[float, Field(ge=0)] = 0.2
    """Extra time per additional sequence in the batch (continuous batching slows per step)."""
    max_batch: PositiveInt = 64
    startup_s: Annotated[float, Field(ge=0)] = 0.0
    prefix_cache: bool = False
    """Reuse the KV of earlier prompts (a block-hash LRU, as vLLM's automatic prefix caching):
    only uncached prompt tokens cost prefill time. Off by default, as in the reference
    methodology; the agentic suite turns it on."""
    prefix_cache_blocks: Annotated[int, Field(gt=0, le=MAX_PREFIX_CACHE_BLOCKS)] = 65536
    """Capacity of the cache in blocks (the simulated KV memory); least recently used blocks
    go first."""
    prefix_cache_block_size: Annotated[int, Field(gt=0, le=MAX_PREFIX_CACHE_BLOCK_SIZE)] = 16
    """Tokens per block: only whole blocks are cached and hit (vLLM's default is 16)."""
    decode_drift_pct_per_s: Annotated[float, Field(ge=0, le=1000)] = 0.0
    """Decode steps lengthen by this share of ``decode_step_ms`` (in %) per second the engine
    has run, like a GPU slowing as it heats: an engine whose speed moves between runs, to
    test that Arena says so. 0, the default, keeps the speed constant."""


class ExternalEngine(ArenaModel):
    """An endpoint that is already running; the agent only benchmarks it."""

    runtime: Literal["external"]
    url: str = Field(pattern=r"^https?://")
    api_key: str | None = None
    """Refused when set: a literal key would be stored with the run; use ``api_key_env``."""
    api_key_env: str | None = None
    """The agent's environment variable holding the endpoint's API key (sent as a bearer)."""
    health_path: HealthPath = "/health"
    accepts_ignore_eos: bool = True
    """vLLM and llama.cpp accept ``ignore_eos``; servers that refuse unknown request fields
    (``transformers serve``) need false, and outputs may then stop early at end-of-sequence."""

    @field_validator("api_key")
    @classmethod
    def _no_literal_key(cls, key: str | None) -> str | None:
        if key:
            raise ValueError(
                "a literal API key would be stored with the run and shown in its results: put "
                "it in the agent's environment and name the variable with api_key_env"
            )
        return key


class _LaunchedEngine(ArenaModel):
    """What a started engine (container or process) shares."""

    args: dict[str, ArgValue] = {}
    """Template values, e.g. ``{max_model_len: 32768}``; ``ModelSpec.engine_args`` overrides."""
    env: dict[str, str] = {}
    """Environment for the engine, e.g. the reference profile's prefix caching off."""
    secrets: dict[str, str] = {}
    """Engine variable → name of the agent's environment variable holding the value."""
    served_model_name: str | None = None
    health_path: HealthPath = "/health"
    startup_timeout_s: Annotated[float, Field(gt=0)] = 600.0
    """Large models take minutes to load."""
    gpus: Literal["all"] | Annotated[int, Field(ge=0)] | list[str] | None = None
    """All GPUs, a count, or device ids; none for CPU engines."""
    watchdog_health_failures: PositiveInt = 3
    """Consecutive failed health probes during a run that count as a hang."""
    accepts_ignore_eos: bool = True
    """vLLM and llama.cpp accept ``ignore_eos``; servers that refuse unknown request fields
    (``transformers serve``) need false, and outputs may then stop early at end-of-sequence."""

    @field_validator("env")
    @classmethod
    def _no_secret_values(cls, env: dict[str, str]) -> dict[str, str]:
        for name, value in env.items():
            if looks_secret(name, value):
                raise ValueError(
                    f"{name}: looks like a secret, which would be stored with the run; "
                    f"put it in the agent's environment and pass it with "
                    f"secrets: {{{name}: {name}}}"
                )
        return env


class DockerEngine(_LaunchedEngine):
    runtime: Literal["docker"]
    command: str = Field(min_length=1, max_length=16384)
    """Command template run inside the container; split like a shell would (no shell runs it),
    then each word filled."""
    image: str = Field(min_length=1, max_length=512)
    """The image; the agent's policy lists the repositories (and digests) it may start."""
    pull: Literal["missing", "always", "never"] = "missing"
    """``missing`` pulls only when the image is not local; ``never`` uses a local image only."""
    port: PositiveInt = 8000
    """The port the engine listens on inside the container; published on 127.0.0.1."""
    shm_size: str | None = Field(None, pattern=r"^[0-9]+[kmg]?$")

    @field_validator("command")
    @classmethod
    def _has_port(cls, command: str) -> str:
        if "{port}" not in command:
            raise ValueError("the command template must contain {port}")
        return command


class ProcessEngine(_LaunchedEngine):
    runtime: Literal["process"]
    recipe: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    """A recipe of the agent's policy: its fixed command, filled with ``args``."""
    port: Annotated[int, Field(ge=0, le=65535)] = 0
    """0 picks a free port on 127.0.0.1."""


EngineProfile = Annotated[
    SimulatedEngine | ExternalEngine | DockerEngine | ProcessEngine,
    Field(discriminator="runtime"),
]
ENGINE_MODELS = (SimulatedEngine, ExternalEngine, DockerEngine, ProcessEngine)
