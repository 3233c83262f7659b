"""Whether an agent's policy admits a job's engine: one rule, read by both sides.

The controller reads it to lease a job only to agents that would accept it and to tell a
submitter which agents refuse a suite (``arenactl validate``); the agent reads it again before it
starts anything, and adds what only the box can check (a local image's digest, that a model path
exists). Each refusal is a sentence a person can act on.
"""

import fnmatch
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from arena.common.schemas.engine import (
    ArgValue,
    DockerEngine,
    EngineProfile,
    ExternalEngine,
    ProcessEngine,
)
from arena.common.schemas.policy import AgentPolicy, ChoiceArg, FloatArg, IntArg, Recipe
from arena.common.schemas.suite import ModelSpec

REFUSED = "refused by this agent's policy"
"""How every refusal reads in a job's message."""


def refusals(policy: AgentPolicy, engine: EngineProfile, model: ModelSpec) -> list[str]:
    """Why the policy refuses this engine for this model; empty when it admits it."""
    if engine.runtime not in policy.runtimes:
        allowed = ", ".join(policy.runtimes) or "none"
        return [f"runtime {engine.runtime} is not allowed (allowed: {allowed})"]
    problems = _model_problems(policy, model)
    if isinstance(engine, DockerEngine):
        problems += _docker_problems(policy, engine)
    elif isinstance(engine, ProcessEngine):
        problems += _process_problems(policy, engine, model)
    elif isinstance(engine, ExternalEngine):
        problems += _external_problems(policy, engine)
    if isinstance(engine, DockerEngine | ProcessEngine):
        exposed = set(policy.expose_env)
        problems += [
            f"secret {engine_var} reads ${host_var}, which the policy does not expose"
            for engine_var, host_var in engine.secrets.items()
            if host_var not in exposed
        ]
    return problems


def _model_problems(policy: AgentPolicy, model: ModelSpec) -> list[str]:
    if model.tokenizer is None or within_models_dir(policy, model.tokenizer):
        return []
    return [f"tokenizer {model.tokenizer!r} is not under the policy's models_dir"]


def within_models_dir(policy: AgentPolicy, path: str) -> bool:
    """Whether ``path`` names something under ``models_dir`` (lexically: the agent also
    resolves links before it opens anything)."""
    if policy.models_dir is None:
        return False
    candidate = PurePosixPath(path)
    if not candidate.is_absolute():
        candidate = PurePosixPath(policy.models_dir) / candidate
    if ".." in candidate.parts:
        return False
    return candidate.is_relative_to(policy.models_dir)


def split_image(image: str) -> tuple[str, str | None]:
    """``repo[:tag][@sha256:…]`` → (repository, digest or None)."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name, digest or None


def _docker_problems(policy: AgentPolicy, engine: DockerEngine) -> list[str]:
    repository, digest = split_image(engine.image)
    rules = [
        rule for rule in policy.docker.images if fnmatch.fnmatchcase(repository, rule.repository)
    ]
    if not rules:
        allowed = ", ".join(rule.repository for rule in policy.docker.images) or "none"
        return [f"image {repository} is not allowed (allowed: {allowed})"]
    if any(rule.digest is None or rule.digest == digest for rule in rules):
        return []
    return [f"image {engine.image} must be pinned to the digest the policy lists for {repository}"]


def _process_problems(policy: AgentPolicy, engine: ProcessEngine, model: ModelSpec) -> list[str]:
    recipe = policy.process.recipes.get(engine.recipe)
    if recipe is None:
        allowed = ", ".join(policy.process.recipes) or "none"
        return [f"process recipe {engine.recipe} is not allowed (allowed: {allowed})"]
    problems = [
        f"env {name} may not be set for recipe {engine.recipe}"
        for name in engine.env
        if name not in recipe.env
    ]
    try:
        recipe_values(recipe, {**engine.args, **model.engine_args})
    except ValueError as error:
        problems.append(f"recipe {engine.recipe}: {error}")
    if model.name.startswith("-"):
        problems.append(f"model name {model.name!r} would read as an option")
    if any("model_path" in word for word in recipe.command) and not within_models_dir(
        policy, model.name
    ):
        problems.append(f"model {model.name!r} is not under the policy's models_dir")
    return problems


def recipe_values(recipe: Recipe, given: dict[str, ArgValue]) -> dict[str, ArgValue]:
    """The recipe's arguments filled from ``given`` and its defaults, each checked against its
    declared type and range; raises ValueError naming the first one at fault."""
    unknown = sorted(set(given) - set(recipe.args))
    if unknown:
        raise ValueError(f"unknown args {', '.join(unknown)} (known: {', '.join(recipe.args)})")
    values: dict[str, ArgValue] = {}
    for name, declared in recipe.args.items():
        value = given.get(name, declared.default)
        if value is None:
            raise ValueError(f"{name} is required")
        values[name] = _typed(name, declared, value)
    return values


def _typed(name: str, declared: IntArg | FloatArg | ChoiceArg, value: ArgValue) -> ArgValue:
    if isinstance(declared, ChoiceArg):
        if value not in declared.choices:
            raise ValueError(f"{name} must be one of {', '.join(declared.choices)}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    if isinstance(declared, IntArg) and not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number")
    if not declared.min <= value <= declared.max:
        raise ValueError(f"{name} must be within {declared.min}..{declared.max}")
    return value


def _external_problems(policy: AgentPolicy, engine: ExternalEngine) -> list[str]:
    problems = []
    if not host_allowed(policy, engine.url):
        allowed = ", ".join(policy.external.hosts) or "none"
        problems.append(f"endpoint {urlsplit(engine.url).netloc} is not allowed ({allowed})")
    if engine.api_key_env and engine.api_key_env not in policy.expose_env:
        problems.append(f"api_key_env {engine.api_key_env} is not a variable the policy exposes")
    return problems


def host_allowed(policy: AgentPolicy, url: str) -> bool:
    """``host`` entries admit any port of that host; ``host:port`` entries that port only."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    for entry in policy.external.hosts:
        allowed = urlsplit(f"//{entry.lower()}")
        if allowed.hostname == host and (allowed.port is None or allowed.port == port):
            return True
    return False
