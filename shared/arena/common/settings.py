"""The settings order every Arena program follows: flags > environment > TOML file > defaults.

Flags arrive as init arguments (only those the user gave); the environment uses the
``ARENA_`` prefix; the TOML file is named by ``--config`` or ``ARENA_CONFIG_FILE``.
"""

from pathlib import Path

from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from arena.common.logging import LogFormat

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
