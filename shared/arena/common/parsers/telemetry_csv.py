"""``NN-telemetry.csv``: GPU power, temperature, SM clock, utilisation and memory every 10 s.

Columns ``elapsed_s,power_w,temp_c,sm_mhz,gpu_util,mem_used_mb``. nvidia-smi writes ``[N/A]``
(or leaves a cell empty) for a value it cannot read: the row is kept, the value becomes ``None``
and the gap is reported (``gaps``: per column, how many rows and the first line). A cell that is
neither a number nor that marker is an error in its row: the row is skipped and named, the rest
of the file still counts.
"""

import csv
import io
import math
from dataclasses import dataclass, field

from arena.common.parsers import ParseError
from arena.common.schemas.imported import TelemetrySample

COLUMNS = ("elapsed_s", "power_w", "temp_c", "sm_mhz", "gpu_util", "mem_used_mb")
NOT_AVAILABLE = ("", "[n/a]", "n/a", "[not supported]")


@dataclass
class Telemetry:
    samples: list[TelemetrySample] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    """Columns with unreadable (``[N/A]``, empty) cells: kept as no value, reported."""


def _value(cell: str, column: str) -> float | None:
    text = cell.strip()
    if text.lower() in NOT_AVAILABLE:
        return None
    try:
        value = float(text)
    except ValueError as error:
        raise ParseError(f"{column} {text!r} is not a number") from error
    if not math.isfinite(value):
        raise ParseError(f"{column} {text!r} is not a finite number")
    return value


def parse_telemetry(text: str) -> Telemetry:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ParseError("empty file")
    header = [cell.strip() for cell in rows[0]]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise ParseError(f"header lacks {', '.join(missing)}")
    positions = {column: header.index(column) for column in COLUMNS}
    telemetry = Telemetry()
    missing_at: dict[str, list[int]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) != len(header):
                raise ParseError(f"{len(row)} cells where the header has {len(header)}")
            values = {column: _value(row[i], column) for column, i in positions.items()}
            if values["elapsed_s"] is None:
                raise ParseError("elapsed_s is empty")
            telemetry.samples.append(TelemetrySample.model_validate(values))
        except ParseError as error:
            telemetry.problems.append(f"line {line}: {error}")
            continue
        for column, value in values.items():
            if value is None:
                missing_at.setdefault(column, []).append(line)
    telemetry.gaps = [
        f"{column}: {len(lines)} row(s) without a value (first line {lines[0]}), kept as empty"
        for column, lines in missing_at.items()
    ]
    return telemetry
