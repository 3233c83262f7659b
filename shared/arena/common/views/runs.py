"""``arenactl runs`` and the dashboard's runs page: one listing."""

from arena.common.schemas.run import RunInfo
from arena.common.views.view import Column, View, when

RUN = Column[RunInfo]("run_id", "run", lambda r: r.run_id)
SUITE = Column[RunInfo]("suite", "suite", lambda r: r.suite)
STATE = Column[RunInfo]("state", "state", lambda r: r.state, state=True)
SAMPLES = Column[RunInfo]("samples", "samples", lambda r: r.samples, 0)

RUNS: View[RunInfo] = View(
    "runs",
    shown=[
        RUN,
        SUITE,
        STATE,
        Column("created", "created", lambda r: when(r.created_at_unix)),
        Column("jobs", "jobs done", lambda r: f"{r.jobs_done} / {r.jobs_total}"),
        SAMPLES,
    ],
    export=[
        RUN,
        SUITE,
        STATE,
        Column("created_at_unix", "created", lambda r: r.created_at_unix),
        Column("jobs_done", "jobs done", lambda r: r.jobs_done),
        Column("jobs_total", "jobs", lambda r: r.jobs_total),
        SAMPLES,
    ],
)
"""Newest first, as the controller lists them; the page updates state, jobs and samples live."""
