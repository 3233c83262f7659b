"""What the controller tells Prometheus, and the HTTP route that serves it.

Counters and histograms are this process's own (the gRPC paths feed them); agents online and
jobs by state are read from the database at scrape time, so every controller sharing one
database reports the same values (aggregate them with ``max``, the counters with ``sum``).
"""

import time
from collections.abc import Iterator

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import Session, col, select

from arena.controller.store.database import Database
from arena.controller.store.models import AgentRow, JobRow

ACK_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _state_counts(session: Session, seen_since: float) -> tuple[int, dict[str, int]]:
    online = session.exec(
        select(func.count()).select_from(AgentRow).where(col(AgentRow.last_seen_at) >= seen_since)
    ).one()
    rows = session.exec(select(JobRow.state, func.count()).group_by(col(JobRow.state))).all()
    return online, {state: count for state, count in rows}


class StoreCollector(Collector):
    """Gauges read from the database when Prometheus scrapes."""

    def __init__(self, db: Database, online_window_s: float) -> None:
        self.db = db
        self.online_window_s = online_window_s

    def collect(self) -> Iterator[GaugeMetricFamily]:
        online, jobs = self.db.run_sync(_state_counts, time.time() - self.online_window_s)
        yield GaugeMetricFamily(
            "arena_agents_online",
            "Agents heard from within the lease TTL.",
            value=online,
        )
        by_state = GaugeMetricFamily("arena_jobs", "Jobs by state.", labels=["state"])
        for state, count in sorted(jobs.items()):
            by_state.add_metric([state], count)
        yield by_state


class ControllerMetrics:
    """One controller's metrics in their own registry (tests run several controllers)."""

    def __init__(self, db: Database, online_window_s: float) -> None:
        self.db = db
        self.registry = CollectorRegistry()
        self.samples_ingested = Counter(
            "arena_samples_ingested",
            "Request samples stored (new ones only; resent duplicates are not counted).",
            registry=self.registry,
        )
        self.ack_latency = Histogram(
            "arena_ack_latency_seconds",
            "Time from receiving an agent's batch to acknowledging it, by stream.",
            ["stream"],
            buckets=ACK_BUCKETS_S,
            registry=self.registry,
        )
        self.lease_expiries = Counter(
            "arena_lease_expiries",
            "Job leases that expired because their agent went silent.",
            registry=self.registry,
        )
        self.registry.register(StoreCollector(db, online_window_s))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def metrics_router(metrics: ControllerMetrics) -> APIRouter:
    """``GET /metrics`` in Prometheus's text format (``/healthz`` is the dashboard app's)."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return router
