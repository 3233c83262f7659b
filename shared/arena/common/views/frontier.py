"""``arenactl pareto`` and the dashboard's Pareto page; ``arenactl capacity``: one listing each.

The CSV and Markdown names are the headers the tables had before these views (``out tok/s``),
kept so existing exports read the same."""

from collections.abc import Iterable

from arena.common.analysis.capacity import CapacityRow
from arena.common.analysis.pareto import ParetoPoint
from arena.common.views.view import Column, View


def _simulated(simulated: bool) -> str:
    return "simulated" if simulated else ""


def _labels(point: ParetoPoint) -> str:
    """Why a point stands apart: simulated, invalid."""
    return ", ".join(
        label for label, on in (("simulated", point.simulated), ("invalid", not point.valid)) if on
    )


PARETO: View[ParetoPoint] = View(
    "pareto",
    [
        Column("run", "run", lambda p: p.run_id),
        Column("job", "job", lambda p: p.job_id),
        Column("model", "model", lambda p: p.model, mark=_labels),
        Column("engine", "engine", lambda p: p.engine),
        Column("hardware", "hardware", lambda p: p.hardware),
        Column("simulated", "simulated", lambda p: p.simulated),
        Column("benchmark", "benchmark", lambda p: p.benchmark),
        Column("variant", "variant", lambda p: p.variant),
        Column.metric("out tok/s", lambda p: p.output_tps, of="output_tps"),
        Column.metric("tok/s per user", lambda p: p.user_tps, of="user_tps"),
        Column.metric("gpus", lambda p: p.gpus),
        Column.metric("out tok/s per GPU", lambda p: p.output_tps_per_gpu, of="output_tps_per_gpu"),
        Column.metric("mean W", lambda p: p.mean_power_w, of="mean_power_w"),
        Column.metric("out tok/s per W", lambda p: p.output_tps_per_w, of="output_tps_per_w"),
        Column("valid", "valid", lambda p: p.valid),
        Column("frontier", "", lambda p: "★" if p.frontier else "", data=lambda p: p.frontier),
    ],
    show=[
        "frontier",
        "model",
        "hardware",
        "engine",
        "benchmark",
        "variant",
        "out tok/s",
        "tok/s per user",
        "gpus",
        "out tok/s per GPU",
        "out tok/s per W",
        "run",
    ],
    export=[
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
    ],
)
"""One point per job and load level; ★ on the frontier."""


def shown_order(points: Iterable[ParetoPoint]) -> list[ParetoPoint]:
    """How tables and pages list the points: per benchmark, real before simulated, fastest
    first."""
    return sorted(points, key=lambda p: (p.benchmark, p.simulated, -p.output_tps))


def _point(key: str, field: str) -> Column[CapacityRow]:
    """A field of the sweep step that met the limit; None where none did."""
    return Column.metric(
        key, lambda row: getattr(row.point, field) if row.point is not None else None, of=field
    )


CAPACITY: View[CapacityRow] = View(
    "capacity",
    [
        Column("run", "run", lambda r: r.run_id),
        Column("job", "job", lambda r: r.job_id),
        Column("model", "model", lambda r: r.model, mark=lambda r: _simulated(r.simulated)),
        Column("engine", "engine", lambda r: r.engine),
        Column("hardware", "hardware", lambda r: r.hardware),
        Column("simulated", "simulated", lambda r: r.simulated),
        Column("benchmark", "benchmark", lambda r: r.benchmark),
        Column("source", "source", lambda r: r.source),
        Column.metric("p95 TTFT under s", lambda r: r.limit_ms / 1000, of="limit_s"),
        _point("rate req/s", "configured_rps"),
        _point("achieved req/s", "achieved_rps"),
        _point("p95 TTFT ms", "ttft_p95_ms"),
        _point("out tok/s", "output_tps"),
        Column("status", "status", lambda r: r.status),
        Column("note", "note", lambda r: r.note),
    ],
    show=[
        "run",
        "model",
        "hardware",
        "benchmark",
        "source",
        "p95 TTFT under s",
        "rate req/s",
        "achieved req/s",
        "p95 TTFT ms",
        "out tok/s",
        "status",
        "note",
    ],
)
"""One row per job and p95-TTFT limit: the highest configured rate under it."""


def by_sweep(rows: Iterable[CapacityRow]) -> list[dict[float, CapacityRow]]:
    """The pages' pivot: one entry per run, job and benchmark, its rows by limit (ms)."""
    sweeps: dict[tuple[str, str, str], dict[float, CapacityRow]] = {}
    for row in rows:
        sweeps.setdefault((row.run_id, row.job_id, row.benchmark), {})[row.limit_ms] = row
    return list(sweeps.values())
