"""A listing's columns, defined once: what a cell holds, how it is shown, what it is called."""

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from arena.common.metrics.catalogue import metric
from arena.common.schemas.results import MetricStat

Row = TypeVar("Row", contravariant=True)
"""Contravariant: a column of a wider row type (``Ranked | Excluded``) serves a narrower one."""

MISSING = "—"
"""A value that is not there, on every surface (as ``Metric.text`` writes it)."""


def stat_text(stat: MetricStat, digits: int = 2) -> str:
    """``mean ± std`` (the std only over more than one value), as ``arenactl show`` prints."""
    if stat.mean is None:
        return MISSING
    if stat.n > 1 and stat.std is not None:
        return f"{stat.mean:,.{digits}f} ± {stat.std:,.{digits}f}"
    return f"{stat.mean:,.{digits}f}"


def when(unix: float) -> str:
    """A moment as every listing prints it: local time to the second."""
    return datetime.datetime.fromtimestamp(unix).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Cell:
    """One shown cell: its text, the raw value behind it (numbers only), a warning mark."""

    key: str
    text: str
    value: float | None
    numeric: bool
    mark: str
    state: bool
    metric: str
    """The catalogue key of a metric column (pages write it as ``data-metric``); else empty."""


@dataclass(frozen=True)
class Column(Generic[Row]):
    key: str
    """The column's name in CSV, Markdown and the page (``data-field``)."""
    header: str
    """Its heading in tables and pages."""
    value: Callable[[Row], object]
    digits: int | None = None
    """Decimals of a number (shown right-aligned, with thousands separators); None: text."""
    data: Callable[[Row], object] | None = None
    """The value written to CSV and Markdown, where it differs from the shown one."""
    mark: Callable[[Row], str] = field(default=lambda _: "")
    """A short warning shown after the value (``> 2 s``); empty: none."""
    state: bool = False
    """The value is a state (``running``, ``online``): pages draw it as a state badge."""
    metric_key: str = ""
    """The catalogue key of a metric column (``Column.metric``)."""
    wrap: bool = True
    """False: a terminal table keeps it on one line and narrows the other columns instead."""

    @classmethod
    def metric(
        cls,
        of: str,
        value: Callable[[Row], object],
        *,
        key: str = "",
        mark: Callable[[Row], str] = lambda _: "",
    ) -> "Column[Row]":
        """A column of the catalogue's metric ``of``: header and digits from the catalogue;
        its CSV name is ``key``, by default the header."""
        found = metric(of)
        return cls(key or found.header, found.header, value, found.digits, mark=mark, metric_key=of)

    @property
    def numeric(self) -> bool:
        return self.digits is not None

    def cell(self, row: Row) -> Cell:
        value = self.value(row)
        stat = value if isinstance(value, MetricStat) else None
        mean = stat.mean if stat is not None else value
        number = float(mean) if self.numeric and isinstance(mean, int | float) else None
        if mean is None:
            text = MISSING
        elif number is None:
            text = str(value)
        elif stat is not None:
            text = stat_text(stat, self.digits or 0)
        else:
            text = f"{number:,.{self.digits}f}"
        mark = self.mark(row)
        return Cell(self.key, text, number, self.numeric, mark, self.state, self.metric_key)

    def datum(self, row: Row) -> object:
        return (self.data or self.value)(row)


@dataclass(frozen=True)
class View(Generic[Row]):
    """A listing: the columns tables and pages show, and those CSV and Markdown carry (by
    default the same), each in its order."""

    name: str
    shown: Sequence[Column[Row]]
    export: Sequence[Column[Row]] | None = None

    @property
    def exported(self) -> Sequence[Column[Row]]:
        return self.shown if self.export is None else self.export

    @property
    def keys(self) -> list[str]:
        """The CSV and Markdown header."""
        return [column.key for column in self.exported]

    def cells(self, row: Row) -> list[Cell]:
        """The shown cells of one row (tables and pages)."""
        return [column.cell(row) for column in self.shown]

    def data(self, rows: Iterable[Row]) -> list[list[object]]:
        """The exported values of each row (CSV and Markdown, under ``keys``)."""
        exported = self.exported
        return [[column.datum(row) for column in exported] for row in rows]
