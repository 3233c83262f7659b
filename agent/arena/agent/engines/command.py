"""Turn an engine profile into an exact argv and environment, secrets kept out of the record.

A container's command comes from the suite (it runs inside the container); a process engine's
from the owner's recipe (it runs on the box), filled with values the recipe's types admit.
"""

import os
import shlex
import string
from collections.abc import Mapping
from dataclasses import dataclass

from arena.common.errors import EngineError, PolicyError
from arena.common.policy import REFUSED, recipe_values
from arena.common.schemas.engine import ArgValue, DockerEngine, ProcessEngine
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.suite import ModelSpec

REDACTED = "***"


@dataclass(frozen=True)
class LaunchSpec:
    argv: list[str]
    env: dict[str, str]
    """What the engine gets, secrets included: never log or store this."""
    recorded_env: dict[str, str]
    """The same with secret values redacted: what provenance keeps."""
    served_model_name: str

    @property
    def command_line(self) -> str:
        return shlex.join(self.argv)


def render_command(template: str, values: Mapping[str, ArgValue]) -> list[str]:
    """Split like a shell would, then fill each word; an unknown placeholder is an error."""
    return render_words(shlex.split(template), values)


def render_words(words: list[str], values: Mapping[str, ArgValue]) -> list[str]:
    """Fill each word; a word that is one placeholder set to "" adds no argument."""
    argv = []
    for word in words:
        try:
            filled = string.Formatter().vformat(word, (), _Strict(values))
            if filled or not _lone_placeholder(word):  # "{flags}" set to "" adds no argument
                argv.append(filled)
        except KeyError as error:
            known = ", ".join(sorted(values))
            raise EngineError(
                f"command template names {{{error.args[0]}}}, which is not set (known: {known})"
            ) from None
    return argv


def _lone_placeholder(word: str) -> bool:
    return word.startswith("{") and word.endswith("}") and word.count("{") == 1


class _Strict(dict[str, ArgValue]):
    def __missing__(self, key: str) -> ArgValue:
        raise KeyError(key)


def launch_spec(
    profile: DockerEngine | ProcessEngine,
    model: ModelSpec,
    port: int,
    policy: AgentPolicy,
    environ: Mapping[str, str] = os.environ,
) -> LaunchSpec:
    served = profile.served_model_name or model.name
    given = {**profile.args, **model.engine_args}
    builtins: dict[str, ArgValue] = {
        "model": model.name,
        "port": port,
        "served_model_name": served,
    }
    if isinstance(profile, ProcessEngine):
        recipe = policy.process.recipes.get(profile.recipe)
        if recipe is None:
            raise PolicyError(f"{REFUSED}: process recipe {profile.recipe} is not allowed")
        try:
            values = {**recipe_values(recipe, given), **builtins}
        except ValueError as error:
            raise PolicyError(f"{REFUSED}: recipe {profile.recipe}: {error}") from None
        if policy.models_dir is not None:
            values["model_path"] = os.path.join(policy.models_dir, model.name)
        argv = render_words(recipe.command, values)
    else:
        argv = render_command(profile.command, {**given, **builtins})
    secrets = {}
    for engine_var, agent_var in profile.secrets.items():
        if agent_var not in policy.expose_env:
            raise PolicyError(
                f"{REFUSED}: secret {engine_var} reads ${agent_var}, which the policy does not "
                "expose"
            )
        if agent_var not in environ:
            raise EngineError(
                f"secret {engine_var} needs ${agent_var} in the agent's environment, "
                "which is not set"
            )
        secrets[engine_var] = environ[agent_var]
    return LaunchSpec(
        argv=argv,
        env={**profile.env, **secrets},
        recorded_env={**profile.env, **dict.fromkeys(secrets, REDACTED)},
        served_model_name=served,
    )
