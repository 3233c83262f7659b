"""A listing (``arena.common.views``) as arenactl shows it: a rich table for people, the rows
of ``-o csv`` and ``-o md`` for programs."""

from collections.abc import Iterable
from typing import TypeVar

from rich.markup import escape
from rich.table import Table

from arena.client.output import Rows
from arena.common.views import View

Row = TypeVar("Row")


def view_table(
    view: View[Row], rows: Iterable[Row], title: str | None = None, *, title_left: bool = False
) -> Table:
    """``title_left``: the title left-aligned, read as the heading of what follows."""
    table = Table(title=title, title_justify="left" if title_left else "center")
    for column in view.shown:
        table.add_column(
            escape(column.header),
            justify="right" if column.numeric else "left",
            no_wrap=not column.wrap,
        )
    for row in rows:
        table.add_row(
            *(
                escape(cell.text) + (f" [red]{escape(cell.mark)}[/]" if cell.mark else "")
                for cell in view.cells(row)
            )
        )
    return table


def view_rows(view: View[Row], rows: Iterable[Row]) -> Rows:
    return Rows(view.keys, view.data(rows))
