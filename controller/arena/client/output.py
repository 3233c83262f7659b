"""How every arenactl answer leaves the program: ``-o table|json|yaml|csv|md``.

Commands hand over the value (pydantic models), how to draw it for people, and, where the
answer is tabular, its rows; this module alone decides the format, so all commands agree.
"""

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from pydantic import BaseModel
from rich.console import Console
from rich.text import Text

from arena.common.text import printable

F = TypeVar("F", bound=Callable[..., Any])


class TerminalConsole(Console):
    """A console that shows control characters in what it prints as ``\\x1b`` and the like:
    names, labels and messages come from other people, and an escape sequence in one must not
    reach the terminal. Every string rich prints (table cells and titles included) passes here
    before layout, so columns stay aligned."""

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(printable(text, multiline=True), **options)


@dataclass(frozen=True)
class Rows:
    """A tabular answer for ``-o csv`` and ``-o md``: one header, then one list of cells per row;
    ``notes`` are printed as a list under a Markdown table (a CSV has no place for them: put
    what a program needs in a column)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    notes: Sequence[str] = ()


def output_option(*, tabular: bool = False) -> Callable[[F], F]:
    """``-o/--output``; csv and md (a Markdown table) only where the answer is a table."""
    formats = ["table", "json", "yaml", *(["csv", "md"] if tabular else [])]
    return click.option(
        "-o",
        "--output",
        type=click.Choice(formats),
        default="table",
        show_default=True,
        help="table for people; " + ", ".join(formats[1:]) + " for programs.",
    )


def plain(value: Any) -> Any:
    """Models (and lists and dicts of them) as JSON-compatible data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def emit(
    console: Console,
    output: str,
    value: Any,
    show: Callable[[], None],
    rows: Callable[[], Rows] | None = None,
) -> None:
    """Print ``value`` in the chosen format; ``show`` draws the table view."""
    if output == "json":
        console.print_json(json.dumps(plain(value)))
    elif output == "yaml":
        import yaml  # only for -o yaml: every command imports this module

        click.echo(yaml.safe_dump(plain(value), sort_keys=False, allow_unicode=True), nl=False)
    elif output == "csv":
        assert rows is not None, "csv is offered only with rows (output_option(tabular=True))"
        click.echo(to_csv(rows()), nl=False)
    elif output == "md":
        assert rows is not None, "md is offered only with rows (output_option(tabular=True))"
        click.echo(to_markdown(rows()), nl=False)
    else:
        show()


def to_csv(table: Rows) -> str:
    """Control characters in cells are shown escaped: a CSV is often read on a terminal."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows([_csv_cell(cell) for cell in row] for row in table.rows)
    return buffer.getvalue()


def to_markdown(table: Rows) -> str:
    """A GitHub-flavoured Markdown table, ``|`` in cells escaped."""
    lines = [table.columns, ["---"] * len(table.columns)]
    lines += [[str(_csv_cell(cell)).replace("|", "\\|") for cell in row] for row in table.rows]
    text = "".join("| " + " | ".join(str(cell) for cell in line) + " |\n" for line in lines)
    return text + "".join(f"\n- {note}" for note in table.notes) + ("\n" if table.notes else "")


def _csv_cell(cell: Any) -> Any:
    if cell is None:
        return ""
    if isinstance(cell, dict | list):
        return json.dumps(cell, sort_keys=True)
    if isinstance(cell, str):
        return printable(cell)
    return cell
