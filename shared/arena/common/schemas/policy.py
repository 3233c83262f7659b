"""An agent's policy: what its owner lets suites run on the box.

A suite is code that runs on someone else's machine. The box owner writes this file (the agent
reads it at start, ``ARENA_POLICY_FILE``); a suite can only pick among what it allows. The
defaults are the safe ones for a community box: Arena's simulated engine, Docker images only
from the list here (none until the owner adds some), no process engines, no external endpoints,
no host variables passed to engines.
"""

import re
import string
from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from arena.common.schemas.base import ArenaModel

Runtime = Literal["simulated", "docker", "process", "external"]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]

BUILTIN_PLACEHOLDERS = frozenset({"model", "model_path", "port", "served_model_name"})
"""Filled by the agent, never by the suite: ``{model}`` is the model name as one word,
``{model_path}`` the model's file or folder resolved under ``models_dir``."""


class ImageRule(ArenaModel):
    """Images a Docker engine may start: a repository pattern, optionally pinned to a digest."""

    repository: str = Field(min_length=1, max_length=255, pattern=r"^[a-z0-9*?._/:-]+$")
    """Shell-style pattern on the image's repository, without tag or digest:
    ``vllm/vllm-openai``, ``ghcr.io/acme/*``."""
    digest: str | None = Field(None, pattern=r"^sha256:[0-9a-f]{64}$")
    """When set, the suite's image must be pinned to this digest (``repo@sha256:…``) and the
    image the agent starts must have it."""


class IntArg(ArenaModel):
    type: Literal["int"]
    min: int
    max: int
    default: int | None = None


class FloatArg(ArenaModel):
    type: Literal["float"]
    min: float
    max: float
    default: float | None = None


class ChoiceArg(ArenaModel):
    type: Literal["choice"]
    choices: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(min_length=1)
    default: str | None = None


RecipeArg = Annotated[IntArg | FloatArg | ChoiceArg, Field(discriminator="type")]


class Recipe(ArenaModel):
    """A process engine the owner allows: a fixed argument list whose placeholders are typed.

    Each word of ``command`` is passed as one argument (no shell runs it); a word may hold
    placeholders (``--ctx-size={ctx_size}``): the built-in ones, or the recipe's ``args``, whose
    values a suite sets within the declared type and range.
    """

    command: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(min_length=1)
    args: dict[Identifier, RecipeArg] = {}
    env: list[EnvName] = []
    """Variables a suite's ``env`` may set for this engine (none by default)."""

    @field_validator("command")
    @classmethod
    def _absolute_program(cls, command: list[str]) -> list[str]:
        if not PurePosixPath(command[0]).is_absolute() or "{" in command[0]:
            raise ValueError(f"the program must be an absolute path, not {command[0]!r}")
        return command

    @model_validator(mode="after")
    def _placeholders_known(self) -> "Recipe":
        for word in self.command:
            for name in placeholders(word):
                if name not in BUILTIN_PLACEHOLDERS and name not in self.args:
                    raise ValueError(f"command names {{{name}}}, which is not in args")
        if not any("port" in placeholders(word) for word in self.command):
            raise ValueError("the command must contain {port}")
        return self


class DockerPolicy(ArenaModel):
    images: list[ImageRule] = []
    """No image runs until the owner lists it."""
    cpus: Annotated[float, Field(gt=0)] | None = None
    """CPU limit of an engine container (``docker run --cpus``); none: all of the box's."""
    memory: Annotated[str, Field(pattern=r"^[0-9]+[kmg]?$")] | None = None
    """Memory limit of an engine container (``64g``); none: no limit beyond the box's."""
    pids_limit: Annotated[int, Field(ge=64)] = 4096


class ProcessPolicy(ArenaModel):
    user: str = Field("nobody", min_length=1, max_length=64)
    """The unprivileged user process engines run as; the agent (root) switches to it."""
    recipes: dict[Identifier, Recipe] = {}


class ExternalPolicy(ArenaModel):
    hosts: list[Annotated[str, Field(min_length=1, max_length=261)]] = []
    """Endpoints the agent may benchmark: ``host`` (any port) or ``host:port``."""


class AgentPolicy(ArenaModel):
    runtimes: list[Runtime] = ["simulated", "docker"]
    models_dir: str | None = None
    """Where model files live: mounted read-only into engine containers (at the same path),
    the only place ``{model_path}`` and a model's ``tokenizer`` may point into."""
    docker: DockerPolicy = DockerPolicy()
    process: ProcessPolicy = ProcessPolicy()
    external: ExternalPolicy = ExternalPolicy()
    expose_env: list[EnvName] = []
    """The agent's variables an engine may receive (a suite's ``secrets:``) and an external
    endpoint's ``api_key_env`` may name. Nothing else of the agent's environment reaches an
    engine."""

    @field_validator("models_dir")
    @classmethod
    def _absolute_models_dir(cls, path: str | None) -> str | None:
        if path is not None and not PurePosixPath(path).is_absolute():
            raise ValueError(f"models_dir must be an absolute path, not {path!r}")
        return path

    def summary(self) -> str:
        """One line for listings: what a submitter may ask of this box."""
        parts = []
        for runtime in self.runtimes:
            if runtime == "docker":
                allowed = ", ".join(
                    rule.repository + ("@" + rule.digest[:19] if rule.digest else "")
                    for rule in self.docker.images
                )
                parts.append(f"docker: {allowed or 'no images'}")
            elif runtime == "process":
                parts.append(f"process: {', '.join(self.process.recipes) or 'no recipes'}")
            elif runtime == "external":
                parts.append(f"external: {', '.join(self.external.hosts) or 'no hosts'}")
            else:
                parts.append(runtime)
        if self.expose_env:
            parts.append(f"env: {', '.join(self.expose_env)}")
        return "; ".join(parts) or "nothing"


_PLACEHOLDER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def placeholders(word: str) -> list[str]:
    """The placeholder names in one template word (``{{`` and ``}}`` are literal braces)."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(word):
        if name is None:
            continue
        if not _PLACEHOLDER.fullmatch(name) or spec or conversion:
            raise ValueError(f"{word!r}: a placeholder is a plain name, like {{port}}")
        names.append(name)
    return names
