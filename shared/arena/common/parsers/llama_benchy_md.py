"""llama-benchy's markdown report (``--format md``) and the command line that produced it.

The table has one row per phase: a ``pp`` row (prompt processing: the throughputs and the
latencies ttfr, est_ppt, e2e_ttft) followed by a ``tg`` row (generation: throughputs and
peaks), for each pp/tg/depth/concurrency combination in llama-benchy's loop order. Arena keeps
one variant per combination, so the two rows are joined. Each cell is ``mean ± std``.
"""

import re
import shlex
from dataclasses import dataclass, field

from arena.common.parsers import ParseError
from arena.common.schemas.imported import ImportedStat, ImportedVariant

DEFAULT_RUNS = 3
"""llama-benchy's own default for ``--runs``, used when the report kept no command."""

COMMAND_BLOCK = re.compile(r"## Command\s*```[a-z]*\n(?P<command>.+?)\n```", re.S)
TEST_NAME = re.compile(
    r"^(?P<phase>pp|tg)(?P<tokens>\d+)(?: @ d(?P<depth>\d+))?(?: \(c(?P<c>\d+)\))?$"
)
CELL = re.compile(
    r"^(?P<mean>-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)(?:\s*±\s*(?P<std>\d+(?:\.\d+)?(?:e[+-]?\d+)?))?$"
)
VERSION = re.compile(r"llama-benchy \((?P<version>[^)]+)\)")

PP_COLUMNS = {
    "t/s (total)": "pp_throughput",
    "t/s": "pp_throughput",
    "t/s (req)": "pp_req_throughput",
    "ttfr (ms)": "ttfr",
    "est_ppt (ms)": "est_ppt",
    "e2e_ttft (ms)": "e2e_ttft",
}
TG_COLUMNS = {
    "t/s (total)": "tg_throughput",
    "t/s": "tg_throughput",
    "t/s (req)": "tg_req_throughput",
    "peak t/s": "peak_throughput",
    "peak t/s (req)": "peak_req_throughput",
}
"""Header text → Arena's metric key (``arena.common.metrics.closed_loop``), per row phase."""


@dataclass(frozen=True)
class BenchyCommand:
    text: str
    pp: list[int]
    tg: list[int]
    depth: list[int]
    concurrency: list[int]
    runs: int
    latency_mode: str | None
    model: str | None


@dataclass(frozen=True)
class TableRow:
    test: str
    phase: str
    tokens: int
    depth: int
    concurrency: int
    values: dict[str, tuple[float, float]]
    """Metric key → (mean, std) for the non-empty cells."""


@dataclass
class BenchyReport:
    command: BenchyCommand | None
    rows: list[TableRow]
    version: str | None
    problems: list[str] = field(default_factory=list)
    """Rows that could not be read, each named; the other rows still count."""


def _options(words: list[str]) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    current: list[str] = []
    for word in words:
        if word.startswith("--"):
            name, _, value = word[2:].partition("=")
            current = options.setdefault(name, [])
            if value:
                current.append(value)
        else:
            current.append(word)
    return options


def _integers(options: dict[str, list[str]], name: str, default: list[int]) -> list[int]:
    values = options.get(name)
    if not values:
        return default
    try:
        return [int(value) for value in values]
    except ValueError as error:
        raise ParseError(
            f"command: --{name} {' '.join(values)} is not a list of integers"
        ) from error


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def parse_command(text: str) -> BenchyCommand:
    """The llama-benchy options of a command line (wrappers such as ``uvx`` are skipped)."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise ParseError(f"command: {error}") from error
    start = next((i for i, word in enumerate(words) if "llama-benchy" in word), None)
    if start is None:
        raise ParseError("command: no llama-benchy invocation")
    options = _options(words[start + 1 :])
    runs = _integers(options, "runs", [DEFAULT_RUNS])
    return BenchyCommand(
        text=text,
        pp=_integers(options, "pp", [2048]),
        tg=_integers(options, "tg", [32]),
        depth=_integers(options, "depth", [0]),
        concurrency=_integers(options, "concurrency", [1]),
        runs=runs[0],
        latency_mode=_first(options.get("latency-mode")),
        model=_first(options.get("model")),
    )


def command_line(text: str) -> str | None:
    """The verbatim command under ``## Command``, if the report kept one."""
    block = COMMAND_BLOCK.search(text)
    return block.group("command").strip() if block else None


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _row(header: list[str], cells: list[str]) -> TableRow:
    if len(cells) != len(header):
        raise ParseError(f"{len(cells)} cells where the header has {len(header)}")
    named = dict(zip(header, cells, strict=True))
    test = named.get("test", "")
    match = TEST_NAME.match(test)
    if match is None:
        raise ParseError(f"test name {test!r} not understood")
    phase = match.group("phase")
    columns = PP_COLUMNS if phase == "pp" else TG_COLUMNS
    values: dict[str, tuple[float, float]] = {}
    for column, key in columns.items():
        cell = named.get(column, "")
        if not cell:
            continue
        number = CELL.match(cell)
        if number is None:
            raise ParseError(f"row {test!r}, column {column!r}: {cell!r} is not 'mean ± std'")
        values[key] = (float(number.group("mean")), float(number.group("std") or 0.0))
    return TableRow(
        test=test,
        phase=phase,
        tokens=int(match.group("tokens")),
        depth=int(match.group("depth") or 0),
        concurrency=int(match.group("c") or 1),
        values=values,
    )


def parse_report(text: str) -> BenchyReport:
    """The command and every readable table row; unreadable rows become ``problems``."""
    line = command_line(text)
    command = parse_command(line) if line is not None else None
    version = VERSION.search(text)
    report = BenchyReport(command, [], version.group("version") if version else None)
    header: list[str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.lstrip().startswith("|"):
            continue
        cells = _cells(raw)
        if header is None:
            if "test" in cells:
                header = cells
            continue
        if all(set(cell) <= set(":-") for cell in cells):
            continue  # the alignment row
        try:
            report.rows.append(_row(header, cells))
        except ParseError as error:
            report.problems.append(f"table line {number}: {error}")
    if header is None:
        raise ParseError("no llama-benchy results table (a row with a 'test' column)")
    return report


def _single(values: list[int] | None) -> int | None:
    return values[0] if values is not None and len(values) == 1 else None


def variants(report: BenchyReport) -> tuple[list[ImportedVariant], list[str]]:
    """One variant per pp/tg/depth/concurrency, joining each pp row with its tg row.

    A tg row belongs to the pp row just before it with the same depth and concurrency; when a
    partner row is missing (a broken row), a command with a single pp or tg value fills in.
    Rows that still have no partner are returned as problems.
    """
    problems: list[str] = []
    command = report.command
    runs = command.runs if command else DEFAULT_RUNS
    joined: dict[tuple[int, int, int, int], dict[str, tuple[float, float]]] = {}
    pending: dict[tuple[int, int], TableRow] = {}

    def add(pp: int | None, tg: int | None, row: TableRow, *rows: TableRow) -> None:
        if pp is None or tg is None:
            problems.append(f"row {row.test!r}: no matching pp/tg row, skipped")
            return
        values = joined.setdefault((pp, tg, row.depth, row.concurrency), {})
        for each in (*rows, row):
            values.update(each.values)

    for row in report.rows:
        slot = (row.depth, row.concurrency)
        if row.phase == "pp":
            if slot in pending:
                orphan = pending.pop(slot)
                add(orphan.tokens, _single(command.tg if command else None), orphan)
            pending[slot] = row
        else:
            partner = pending.pop(slot, None)
            if partner is not None:
                add(partner.tokens, row.tokens, row, partner)
            else:
                add(_single(command.pp if command else None), row.tokens, row)
    for orphan in pending.values():
        add(orphan.tokens, _single(command.tg if command else None), orphan)
    found = [
        ImportedVariant(
            key=f"pp{pp}/tg{tg}/d{depth}/c{c}",
            runs=runs,
            metrics={
                key: ImportedStat(mean=mean, std=std, n=runs) for key, (mean, std) in values.items()
            },
        )
        for (pp, tg, depth, c), values in joined.items()
    ]
    return found, problems
