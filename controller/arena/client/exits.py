"""The one place an Arena error ends ``arenactl``: commands raise, the root group catches.

``error: <message>`` goes to stderr and the exit code is the error table's
(``arena.common.status``): 2 for a request refused as given (a bad suite file, field or
argument), 1 for anything else. A command that ends for a reason of its own (its results shown
but invalid, nothing imported) exits itself.
"""

from typing import Any

import click

from arena.client.lazy import LazyGroup


class ArenactlGroup(LazyGroup):
    """The root group: lazy commands, and every ArenaError they raise turned into an exit."""

    def invoke(self, ctx: click.Context) -> Any:
        from arena.common.errors import ArenaError  # not for --version, which ends before

        try:
            return super().invoke(ctx)
        except ArenaError as error:
            from arena.client.context import fail  # the consoles and the table: on an error only

            fail(error)
