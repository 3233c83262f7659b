"""What every arenactl command shares: the consoles, the client from settings, the error exit.

Controller address and token: ``--controller``/``--token`` flags, then ``ARENACTL_CONTROLLER``/
``ARENACTL_TOKEN``, then the TOML file (``--config`` or ``ARENACTL_CONFIG_FILE``, default
``~/.config/arena/arenactl.toml``), then the loopback defaults.
"""

import sys
from pathlib import Path
from typing import NoReturn

import click
from pydantic_settings import SettingsConfigDict
from rich.console import Console
from rich.markup import escape

from arena.client.api import ArenaClient
from arena.client.output import TerminalConsole
from arena.common.errors import ArenaError
from arena.common.settings import DEV_USER_TOKEN, ArenaSettings
from arena.common.status import exit_code
from arena.common.transport import ClientTls

DEFAULT_CONFIG = Path("~/.config/arena/arenactl.toml").expanduser()


class CtlSettings(ArenaSettings):
    model_config = SettingsConfigDict(env_prefix="ARENACTL_", extra="forbid")

    controller: str = "127.0.0.1:50051"
    token: str = DEV_USER_TOKEN
    ca_file: Path | None = None
    """The arena CA or the controller's own certificate; needed beyond loopback."""
    cert_file: Path | None = None
    key_file: Path | None = None
    """arenactl's client certificate and key, for a controller that requires mutual TLS."""
    server_name: str | None = None
    insecure: bool = False
    """Plain text beyond loopback (never for a real deployment)."""

    @property
    def tls(self) -> ClientTls:
        return ClientTls(
            self.ca_file, self.cert_file, self.key_file, self.server_name, self.insecure
        )


console = TerminalConsole(width=None if Console().is_terminal else 200)  # pipes, CI: wide tables
errors = TerminalConsole(stderr=True)


def client_for(ctx: click.Context) -> ArenaClient:
    flags = {k: v for k, v in ctx.find_root().obj.items() if v is not None}
    if "config_file" not in flags and DEFAULT_CONFIG.exists():
        flags["config_file"] = DEFAULT_CONFIG
    settings = CtlSettings(**flags)
    return ArenaClient(settings.controller, settings.token, settings.tls)


def fail(error: ArenaError, code: int | None = None) -> NoReturn:
    """Print the error and exit with ``code``, or with the error table's code for its class.
    Commands raise; the root group (``arena.client.exits``) calls this."""
    errors.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    sys.exit(code if code is not None else exit_code(error))


def fail_without_extra(error: ImportError, extras: str, purpose: str) -> NoReturn:
    """Raise the error naming the extras to install (``"agent,controller"``), when a command's
    optional packages are missing."""
    raise ArenaError(
        f"{purpose} and needs arena[{extras}] ({error.name} is missing): "
        f"pip install 'arena[{extras}]'"
    ) from error
