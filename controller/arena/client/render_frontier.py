"""Tables and csv rows of ``arenactl capacity`` and ``arenactl pareto``."""

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from arena.client.output import Rows
from arena.common.analysis.capacity import CapacityRow
from arena.common.analysis.pareto import ParetoPoint

CAPACITY_COLUMNS = (
    "run",
    "job",
    "model",
    "engine",
    "hardware",
    "simulated",
    "benchmark",
    "source",
    "p95 TTFT under s",
    "rate req/s",
    "achieved req/s",
    "p95 TTFT ms",
    "out tok/s",
    "status",
    "note",
)
PARETO_COLUMNS = (
    "run",
    "job",
    "model",
    "engine",
    "hardware",
    "simulated",
    "benchmark",
    "variant",
    "out tok/s",
    "tok/s per user",
    "gpus",
    "out tok/s per GPU",
    "mean W",
    "out tok/s per W",
    "valid",
    "frontier",
)


def capacity_rows(rows: Sequence[CapacityRow]) -> Rows:
    return Rows(CAPACITY_COLUMNS, [_capacity_cells(row) for row in rows])


def _capacity_cells(row: CapacityRow) -> list[object]:
    point = row.point
    return [
        row.run_id,
        row.job_id,
        row.model,
        row.engine,
        row.hardware,
        row.simulated,
        row.benchmark,
        row.source,
        row.limit_ms / 1000,
        point.configured_rps if point else None,
        point.achieved_rps if point else None,
        point.ttft_p95_ms if point else None,
        point.output_tps if point else None,
        row.status,
        row.note,
    ]


def capacity_table(rows: Sequence[CapacityRow]) -> Table:
    table = Table(title="Capacity under p95 TTFT limits (configured steps, no interpolation)")
    for column in ("run", "model", "hardware", "source", "p95 TTFT under"):
        table.add_column(column)
    for column in ("rate req/s", "achieved req/s", "p95 TTFT ms", "out tok/s"):
        table.add_column(column, justify="right")
    table.add_column("note")
    for row in rows:
        point = row.point
        rate = f"{point.configured_rps:g}" if point else row.status
        label = row.model + (" (simulated)" if row.simulated else "")
        table.add_row(
            escape(row.run_id),
            escape(label),
            escape(row.hardware or ""),
            row.source,
            f"{row.limit_ms / 1000:g} s",
            rate,
            _number(point.achieved_rps if point else None, 3),
            _number(point.ttft_p95_ms if point else None, 1),
            _number(point.output_tps if point else None, 1),
            escape(row.note),
        )
    return table


def pareto_rows(points: Sequence[ParetoPoint]) -> Rows:
    return Rows(PARETO_COLUMNS, [_pareto_cells(point) for point in points])


def _pareto_cells(p: ParetoPoint) -> list[object]:
    return [
        p.run_id,
        p.job_id,
        p.model,
        p.engine,
        p.hardware,
        p.simulated,
        p.benchmark,
        p.variant,
        p.output_tps,
        p.user_tps,
        p.gpus,
        p.output_tps_per_gpu,
        p.mean_power_w,
        p.output_tps_per_w,
        p.valid,
        p.frontier,
    ]


def pareto_table(points: Sequence[ParetoPoint]) -> Table:
    table = Table(title="Output tokens/s against tokens/s per user (* frontier)")
    for column in ("", "model", "hardware", "benchmark", "variant"):
        table.add_column(column)
    for column in ("out tok/s", "tok/s per user", "per GPU", "per W"):
        table.add_column(column, justify="right")
    table.add_column("note")
    for p in sorted(points, key=lambda p: (p.benchmark, p.simulated, -p.output_tps)):
        notes = [note for note, on in (("simulated", p.simulated), ("invalid", not p.valid)) if on]
        table.add_row(
            "*" if p.frontier else "",
            escape(p.model),
            escape(p.hardware or ""),
            escape(p.benchmark),
            escape(p.variant),
            _number(p.output_tps, 1),
            _number(p.user_tps, 1),
            _number(p.output_tps_per_gpu, 1),
            _number(p.output_tps_per_w, 2),
            ", ".join(notes),
        )
    return table


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:,.{digits}f}"
