"""``arenactl compare``: how a comparison is shown. The computation is
``arena.common.analysis.compare``; this module draws its table and its rows for -o csv/md."""

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arena.client.output import Rows
from arena.common.analysis.compare import CompareRow, Comparison
from arena.common.schemas.results import MetricStat
from arena.common.views.compare import compared

SOURCE_STYLE = {
    "simulated": "magenta",
    "imported": "cyan",
    "unverified": "yellow",
    "measured": "green",
}


def _cell(value: MetricStat | None, ratio: float | None, baseline: bool) -> str:
    if value is None or value.mean is None:
        return f"[dim]{compared(value)}[/]"
    text = compared(value)
    if not baseline and ratio is not None:
        text += f" [bold]×{ratio:.2f}[/]"
    return text


def show_comparison(console: Console, comparison: Comparison) -> None:
    """The table (mean ± std, ×ratio to the baseline), then the notes."""
    base = comparison.columns[comparison.baseline]
    table = Table(
        title=f"mean ± std; ×ratio = column / baseline ({comparison.baseline + 1}: {base.label})",
        title_justify="left",
    )
    for name in ("benchmark", "variant", "metric"):
        table.add_column(name)
    for i, column in enumerate(comparison.columns, start=1):
        style = SOURCE_STYLE.get(column.source, "")
        marker = " (baseline)" if i - 1 == comparison.baseline else ""
        header = f"{i}. {escape(column.label)}{marker}\n[{style}]{column.source}[/]"
        table.add_column(header, justify="right")
    for row in comparison.rows:
        cells = [
            _cell(value, ratio, i == comparison.baseline)
            for i, (value, ratio) in enumerate(zip(row.values, row.ratios, strict=True))
        ]
        table.add_row(row.benchmark, row.variant, f"{row.label} ({row.unit})", *cells)
    console.print(table)
    if not comparison.rows:
        console.print("no benchmark variant was measured by two of these columns")
    for note in comparison.notes:
        console.print(f"[yellow]not comparable:[/] {escape(note.text)}", soft_wrap=True)


def _row_notes(comparison: Comparison, row: CompareRow) -> str:
    """The kinds of note that bear on a row: every column-wide one, and its benchmark's."""
    kinds = [note.kind for note in comparison.notes if note.benchmark in (None, row.benchmark)]
    return "; ".join(dict.fromkeys(kinds))


def comparison_rows(comparison: Comparison) -> Rows:
    """Per column: mean, std and ratio, named by the column's label; notes by kind, in full
    below a Markdown table."""
    columns = ["benchmark", "variant", "metric", "unit"]
    for column in comparison.columns:
        columns += [f"{column.label} mean", f"{column.label} std", f"{column.label} ratio"]
    body = []
    for row in comparison.rows:
        cells: list[object] = [row.benchmark, row.variant, row.metric, row.unit]
        for value, ratio in zip(row.values, row.ratios, strict=True):
            cells += [None, None, None] if value is None else [value.mean, value.std, ratio]
        body.append([*cells, _row_notes(comparison, row)])
    return Rows([*columns, "notes"], body, [note.text for note in comparison.notes])
