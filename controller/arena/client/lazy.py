"""A click group that imports a command's module only when that command is run.

``arenactl --version`` then loads no command at all, ``arenactl --help`` lists every command
from its summary without importing one, and ``arenactl runs`` loads only the module of
``runs``: the heavy libraries a few commands need (plotly, pyarrow) stay unloaded. Shell
completion of command names reads the summaries too.
"""

import importlib
from typing import TYPE_CHECKING, Any, NamedTuple

import click

if TYPE_CHECKING:  # loaded on a TAB only
    from click.shell_completion import CompletionItem


class LazyCommand(NamedTuple):
    target: str
    """Where the command is: ``"module:attribute"``."""
    summary: str
    """The first sentence of its help, which ``--help`` lists (a test keeps them equal)."""


class LazyGroup(click.Group):
    """Commands given as ``name -> LazyCommand``, imported on first use."""

    def __init__(self, *args: Any, lazy_commands: dict[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            self.add_command(self._load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's listing, with a command not yet loaded shown by its summary."""
        commands = self._listed(ctx)
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl(
                    [(name, command.get_short_help_str(limit)) for name, command in commands]
                )

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list["CompletionItem"]:
        """click's completions, command names with their summaries: a TAB loads no command."""
        from click.shell_completion import CompletionItem

        names = [
            CompletionItem(name, help=command.get_short_help_str())
            for name, command in self._listed(ctx)
            if name.startswith(incomplete)
        ]
        return names + click.Command.shell_complete(self, ctx, incomplete)

    def _listed(self, ctx: click.Context) -> list[tuple[str, click.Command]]:
        """The visible commands, each loaded one as it is and the others as their summary."""
        commands = [
            (
                name,
                self.commands.get(name)
                or click.Command(name, help=self.lazy_commands[name].summary),
            )
            for name in self.list_commands(ctx)
        ]
        return [(name, command) for name, command in commands if not command.hidden]

    def _load(self, cmd_name: str) -> click.Command:
        module_name, attribute = self.lazy_commands[cmd_name].target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy_commands[cmd_name].target} is not a click command")
        return command
