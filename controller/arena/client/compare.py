"""``arenactl compare``: how a comparison is shown. The computation is
``arena.common.analysis.compare``; this module draws its table and its rows for -o csv/md."""

from rich.console import Console
from rich.markup import escape

from arena.client.output import Rows
from arena.client.views import view_rows, view_table
from arena.common.analysis.compare import Comparison
from arena.common.metrics.validity import SPREAD_LIMIT_PCT
from arena.common.views.compare import compare_view


def show_comparison(console: Console, comparison: Comparison) -> None:
    """The table (mean ± std, ×ratio to the baseline, run-to-run spread), then the notes."""
    base = comparison.columns[comparison.baseline]
    title = (
        f"mean ± std; ×ratio = column / baseline ({comparison.baseline + 1}: {base.label}); "
        f"spread = run-to-run spread of the throughput, as show's spread % "
        f"(target ±{SPREAD_LIMIT_PCT:g} %)"
    )
    table = view_table(compare_view(comparison), comparison.rows, escape(title), title_left=True)
    console.print(table)
    if not comparison.rows:
        console.print("no benchmark variant was measured by two of these columns")
    for note in comparison.notes:
        console.print(f"[yellow]not comparable:[/] {escape(note.text)}", soft_wrap=True)


def comparison_rows(comparison: Comparison) -> Rows:
    """The view's rows; the notes by kind in a column, in full below a Markdown table."""
    rows = view_rows(compare_view(comparison), comparison.rows)
    return Rows(rows.columns, rows.rows, [note.text for note in comparison.notes])
