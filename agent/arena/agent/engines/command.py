"""Turn an engine profile into an exact argv and environment, secrets kept out of the record."""

import os
import shlex
import string
from collections.abc import Mapping
from dataclasses import dataclass

from arena.common.errors import EngineError
from arena.common.schemas.engine import ArgValue, DockerEngine, ProcessEngine
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
    argv = []
    for word in shlex.split(template):
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
    environ: Mapping[str, str] = os.environ,
) -> LaunchSpec:
    served = profile.served_model_name or model.name
    values: dict[str, ArgValue] = {
        **profile.args,
        **model.engine_args,
        "model": model.name,
        "port": port,
        "served_model_name": served,
    }
    secrets = {}
    for engine_var, agent_var in profile.secrets.items():
        if agent_var not in environ:
            raise EngineError(
                f"secret {engine_var} needs ${agent_var} in the agent's environment, "
                "which is not set"
            )
        secrets[engine_var] = environ[agent_var]
    return LaunchSpec(
        argv=render_command(profile.command, values),
        env={**profile.env, **secrets},
        recorded_env={**profile.env, **dict.fromkeys(secrets, REDACTED)},
        served_model_name=served,
    )
