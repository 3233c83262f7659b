"""The settings order every Arena program follows: flags > environment > TOML file > defaults.

Flags arrive as init arguments (only those the user gave); the environment uses the
``ARENA_`` prefix; the TOML file is named by ``--config`` or ``ARENA_CONFIG_FILE``.
"""

import difflib
import os
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path

import structlog
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from arena.common.logging import LogFormat

log = structlog.get_logger(__name__)

SETTINGS_ENTRY_POINTS = "arena.settings"
"""The entry-point group where each program names its settings class (pyproject.toml): the
controller and the agent often share a box and its environment, so neither warns about the
other's variables. Each is loaded where its extra is installed; arena.common imports neither."""

DEV_AGENT_TOKEN = "arena-dev-agent-token"
DEV_USER_TOKEN = "arena-dev-user-token"
"""Tokens for a controller on loopback only; the controller refuses them on other addresses."""


class ArenaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARENA_", extra="forbid")

    config_file: Path | None = None
    log_level: str = "info"
    log_format: LogFormat = "console"
    """``json`` for one JSON object per line (log shippers); ``console`` for people."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = init_settings().get("config_file") or env_settings().get("config_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def _environment_names(settings: type[BaseSettings]) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix", "")).upper()
    return {f"{prefix}{name.upper()}" for name in settings.model_fields}


def _read_by_any_program() -> set[str]:
    names: set[str] = set()
    for entry in entry_points(group=SETTINGS_ENTRY_POINTS):
        try:
            names |= _environment_names(entry.load())
        except ImportError:  # that program's extra is not installed here
            continue
    return names


def misspelled_environment(
    settings: type[BaseSettings], environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """``ARENA_*`` names in ``environ`` that no Arena program reads but that look like one of
    ``settings``' (a misspelling, which pydantic ignores), each with the setting it resembles.
    Names like no setting at all are other tools' (``ARENA_VLLM_VENV``) and are left alone."""
    own = _environment_names(settings)
    unknown = [name for name in environ if name.startswith("ARENA_") and name not in own]
    if not unknown:  # the usual case: no other program's settings need loading
        return {}
    read = own | _read_by_any_program()
    found: dict[str, str] = {}
    for name in unknown:
        if name not in read:
            close = difflib.get_close_matches(name, own, n=1, cutoff=0.8)
            if close:
                found[name] = close[0]
    return found


def warn_misspelled_environment(settings: type[BaseSettings]) -> None:
    """Log a warning for each variable ``misspelled_environment`` finds; call it at start,
    after logging is configured."""
    for name, setting in sorted(misspelled_environment(settings).items()):
        log.warning("unknown_setting_ignored", variable=name, did_you_mean=setting)
