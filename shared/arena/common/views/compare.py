"""How a compared value reads on every surface (``arenactl compare``, the dashboard's compare
page, the report's hardware compare)."""

from functools import partial

from arena.common.analysis.compare import Column as CompareColumn
from arena.common.analysis.compare import CompareRow, Comparison
from arena.common.schemas.results import MetricStat
from arena.common.views.view import MISSING, Column, View


def _number(value: float, scale: float) -> str:
    """Two decimals, or four significant digits for numbers under 1 (J/token); ``scale`` (the
    mean) picks the style so that a mean and its std read alike."""
    return f"{value:,.4g}" if abs(scale) < 1 else f"{value:,.2f}"


def compared(value: MetricStat | None) -> str:
    """``mean ± std`` (the std only over more than one value)."""
    if value is None or value.mean is None:
        return MISSING
    text = _number(value.mean, value.mean)
    if value.n > 1 and value.std is not None:
        text += f" ± {_number(value.std, value.mean)}"
    return text


BENCHMARK = Column[CompareRow]("benchmark", "benchmark", lambda r: r.benchmark)
VARIANT = Column[CompareRow]("variant", "variant", lambda r: r.variant)


def _metric(row: CompareRow) -> str:
    return f"{row.label} ({row.unit})"


def spread(value: float | None) -> str:
    """A run-to-run spread as ``show`` words it in its flags (``±11.6 %``); empty if none."""
    return "" if value is None else f"±{value:.1f} %"


def _shown(row: CompareRow, index: int, baseline: int) -> str:
    """``mean ± std``, ``×ratio`` to the baseline after every other column's value, and the
    run-to-run spread on the throughput row (``spread ±11.6 %``)."""
    text = compared(row.values[index])
    ratio = row.ratios[index]
    if index != baseline and ratio is not None and text != MISSING:
        text += f" ×{ratio:.2f}"
    if text != MISSING and (found := spread(row.spreads[index])):
        text += f" (spread {found})"
    return text


def _mean(row: CompareRow, index: int) -> float | None:
    value = row.values[index]
    return None if value is None else value.mean


def _std(row: CompareRow, index: int) -> float | None:
    value = row.values[index]
    return None if value is None else value.std


def _ratio(row: CompareRow, index: int) -> float | None:
    return row.ratios[index]


def _spread(row: CompareRow, index: int) -> float | None:
    return row.spreads[index]


def engine_line(job: CompareColumn) -> str:
    """The engine that ran and its version (``process b6123``, ``vllm 0.26.0``)."""
    return f"{job.engine} {job.engine_version or 'version unknown'}"


def source_line(job: CompareColumn) -> str:
    """Measured, imported, unverified or simulated, and a ``quick`` run's factor."""
    return job.source + (f" · quick {job.quick:g}" if job.quick is not None else "")


def _row_notes(comparison: Comparison, row: CompareRow) -> str:
    """The kinds of note that bear on a row: every column-wide one, and its benchmark's."""
    kinds = [note.kind for note in comparison.notes if note.benchmark in (None, row.benchmark)]
    return "; ".join(dict.fromkeys(kinds))


def compare_view(comparison: Comparison) -> View[CompareRow]:
    """``arenactl compare``'s table and its ``-o csv|md`` rows: one column per compared job
    (``N. label``, ``(baseline)``, its engine and version, its source and ``quick`` factor),
    whose CSV columns are its mean, std, ratio and run-to-run spread in %.
    The pages draw the same comparison with the ``compare_table`` macro."""
    shown: list[Column[CompareRow]] = [BENCHMARK, VARIANT, Column("metric", "metric", _metric)]
    export: list[Column[CompareRow]] = [
        BENCHMARK,
        VARIANT,
        Column("metric", "metric", lambda r: r.metric),
        Column("unit", "unit", lambda r: r.unit),
    ]
    for i, job in enumerate(comparison.columns):
        baseline = " (baseline)" if i == comparison.baseline else ""
        header = f"{i + 1}. {job.label}{baseline}\n{engine_line(job)}\n{source_line(job)}"
        # digits=0: the text (mean ± std ×ratio) is right-aligned, as numbers are
        shown.append(
            Column(job.label, header, partial(_shown, index=i, baseline=comparison.baseline), 0)
        )
        export += [
            Column(f"{job.label} mean", header, partial(_mean, index=i)),
            Column(f"{job.label} std", header, partial(_std, index=i)),
            Column(f"{job.label} ratio", header, partial(_ratio, index=i)),
            Column(f"{job.label} spread %", header, partial(_spread, index=i)),
        ]
    export.append(Column("notes", "notes", partial(_row_notes, comparison)))
    return View("compare", shown, export)
