"""``arenactl pareto`` and the dashboard's Pareto page; ``arenactl capacity``: one listing each
(the rate sweeps' ``CAPACITY`` and the session benchmarks' ``AGENT_CAPACITY``).

A metric column's CSV and Markdown name is its catalogue header: the names these exports
always had."""

from collections.abc import Iterable
from dataclasses import replace

from arena.common.analysis.agent_capacity import AgentCapacityRow
from arena.common.analysis.cache import CacheRow
from arena.common.analysis.capacity import CapacityRow
from arena.common.analysis.pareto import ParetoPoint
from arena.common.analysis.selection import JobRef
from arena.common.views.view import Column, View


def _labels(point: ParetoPoint) -> str:
    """Why a point stands apart: simulated, invalid, partial."""
    apart = (
        ("simulated", point.simulated),
        ("invalid", not point.valid),
        ("partial", point.partial),
    )
    return ", ".join(label for label, on in apart if on)


RUN = Column[JobRef]("run", "run", lambda r: r.run_id)
JOB = Column[JobRef]("job", "job", lambda r: r.job_id)
ENGINE = Column[JobRef]("engine", "engine", lambda r: r.engine)
HARDWARE = Column[JobRef]("hardware", "hardware", lambda r: r.hardware)
SIMULATED = Column[JobRef]("simulated", "simulated", lambda r: r.simulated)
BENCHMARK = Column[ParetoPoint | CapacityRow | AgentCapacityRow | CacheRow](
    "benchmark", "benchmark", lambda r: r.benchmark
)

POINT_MODEL = Column[ParetoPoint]("model", "model", lambda p: p.model, mark=_labels)
VARIANT = Column[ParetoPoint]("variant", "variant", lambda p: p.variant)
OUTPUT_TPS = Column[ParetoPoint].metric("output_tps", lambda p: p.output_tps)
USER_TPS = Column[ParetoPoint].metric("user_tps", lambda p: p.user_tps)
GPUS = Column[ParetoPoint].metric("gpus", lambda p: p.gpus, key="gpus")
PER_GPU = Column[ParetoPoint].metric("output_tps_per_gpu", lambda p: p.output_tps_per_gpu)
PER_W = Column[ParetoPoint].metric("output_tps_per_w", lambda p: p.output_tps_per_w)
FRONTIER = Column[ParetoPoint](
    "frontier", "", lambda p: "★" if p.frontier else "", data=lambda p: p.frontier
)

PARETO: View[ParetoPoint] = View(
    "pareto",
    shown=[
        FRONTIER,
        POINT_MODEL,
        HARDWARE,
        ENGINE,
        BENCHMARK,
        VARIANT,
        OUTPUT_TPS,
        USER_TPS,
        GPUS,
        PER_GPU,
        PER_W,
        RUN,
    ],
    export=[
        RUN,
        JOB,
        POINT_MODEL,
        ENGINE,
        HARDWARE,
        SIMULATED,
        BENCHMARK,
        VARIANT,
        OUTPUT_TPS,
        USER_TPS,
        GPUS,
        PER_GPU,
        Column[ParetoPoint].metric("mean_power_w", lambda p: p.mean_power_w),
        PER_W,
        Column("valid", "valid", lambda p: p.valid),
        FRONTIER,
    ],
)
"""One point per job and load level; ★ on the frontier."""


def shown_order(points: Iterable[ParetoPoint]) -> list[ParetoPoint]:
    """How tables and pages list the points: per benchmark, real before simulated, fastest
    first."""
    return sorted(points, key=lambda p: (p.benchmark, p.simulated, -p.output_tps))


def _point(field: str) -> Column[CapacityRow]:
    """A field of the sweep step that met the limit; None where none did."""
    return Column[CapacityRow].metric(
        field, lambda row: getattr(row.point, field) if row.point is not None else None
    )


ROW_MODEL = Column[JobRef](
    "model", "model", lambda r: r.model, mark=lambda r: "simulated" if r.simulated else ""
)
SOURCE = Column[CapacityRow]("source", "source", lambda r: r.source)
LIMIT = Column[CapacityRow].metric("limit_s", lambda r: r.limit_ms / 1000)
STEP = [
    _point("configured_rps"),
    _point("achieved_rps"),
    _point("ttft_p95_ms"),
    _point("output_tps"),
]
STATUS = Column[CapacityRow]("status", "status", lambda r: r.status)
NOTE = Column[CapacityRow | AgentCapacityRow]("note", "note", lambda r: r.note)

CAPACITY: View[CapacityRow] = View(
    "capacity",
    shown=[RUN, ROW_MODEL, HARDWARE, BENCHMARK, SOURCE, LIMIT, *STEP, STATUS, NOTE],
    export=[
        RUN,
        JOB,
        ROW_MODEL,
        ENGINE,
        HARDWARE,
        SIMULATED,
        BENCHMARK,
        SOURCE,
        LIMIT,
        *STEP,
        STATUS,
        NOTE,
    ],
)
"""One row per job and p95-TTFT limit: the highest configured rate under it."""


def by_sweep(rows: Iterable[CapacityRow]) -> list[dict[float, CapacityRow]]:
    """The pages' pivot: one entry per run, job and benchmark, its rows by limit (ms)."""
    sweeps: dict[tuple[str, str, str], dict[float, CapacityRow]] = {}
    for row in rows:
        sweeps.setdefault((row.run_id, row.job_id, row.benchmark), {})[row.limit_ms] = row
    return list(sweeps.values())


LOWER_BOUND = "or more"
"""The mark of a capacity no measured step above failed: the box may serve more."""

AGENT_STATUS = Column[AgentCapacityRow]("status", "status", lambda r: r.status)


def _loads(row: AgentCapacityRow) -> str:
    return ", ".join(f"{load:g}" for load in row.passed) or "none"


AGENT_COLUMNS: list[Column[AgentCapacityRow]] = [
    Column("prefix_cache", "prefix cache", lambda r: r.prefix_cache),
    Column("tier", "SLO tier", lambda r: r.tier),
    Column.metric("target_pct", lambda r: r.target_pct, key="target_pct"),
    Column.metric(
        "capacity",
        lambda r: r.capacity,
        key="capacity",
        mark=lambda r: LOWER_BOUND if r.lower_bound else "",
    ),
    Column("unit", "unit", lambda r: r.unit),
    Column.metric("capacity_per_gpu", lambda r: r.per_gpu, key="per_gpu"),
    Column.metric("capacity_per_kw", lambda r: r.per_kw, key="per_kw"),
    Column("steps", "steps", lambda r: r.steps, 0),
    Column("passed", "steps passed", _loads, data=lambda r: " ".join(f"{x:g}" for x in r.passed)),
]

AGENT_CAPACITY: View[AgentCapacityRow] = View(
    "agent_capacity",
    shown=[
        replace(RUN, wrap=False),  # ids stay whole; the hardware name wraps instead
        ROW_MODEL,
        HARDWARE,
        ENGINE,
        replace(BENCHMARK, wrap=False),
        *AGENT_COLUMNS,
        AGENT_STATUS,
    ],
    export=[
        RUN,
        JOB,
        ROW_MODEL,
        ENGINE,
        HARDWARE,
        SIMULATED,
        BENCHMARK,
        *AGENT_COLUMNS,
        Column("lower_bound", "lower bound", lambda r: r.lower_bound),
        Column.metric("gpus", lambda r: r.gpus, key="gpus"),
        Column("origin", "origin", lambda r: r.origin),
        AGENT_STATUS,
        NOTE,
    ],
)
"""One row per job, session benchmark and SLO tier: the most concurrent agents (or sessions/s)
a measured step served within the tier, per box, per GPU and per kW. Tables and pages show the
notes once under the listing (``agent_notes``: every tier of a benchmark shares them); CSV and
Markdown carry them per row."""


def agent_notes(rows: Iterable[AgentCapacityRow]) -> list[str]:
    """The notes under an agent capacity table: ``benchmark: note``, each once."""
    return list(dict.fromkeys(f"{row.benchmark}: {row.note}" for row in rows if row.note))
