"""A click group that imports a command's module only when that command is asked for.

``arenactl --version`` then loads no command at all, and ``arenactl runs`` only the module of
``runs``: the heavy libraries a few commands need (SQLAlchemy, plotly, pyarrow) stay unloaded.
``--help`` and shell completion list the names without importing; a command's short help
loads its module.
"""

import importlib
from typing import Any

import click


class LazyGroup(click.Group):
    """Commands given as ``name -> "module:attribute"``, imported on first use."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            self.add_command(self._load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def _load(self, cmd_name: str) -> click.Command:
        module_name, attribute = self.lazy_commands[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
        return command
