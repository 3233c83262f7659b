"""A succeeded job's metrics are computed after its success is committed, off the database
thread (``results.finishing``): the controller answers while they are computed, finds the ones
a stop left pending, and stores them with the metric definitions' version, which
``arena-controller reaggregate`` brings up to date."""

import asyncio
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from arena.client.api import ArenaClient
from arena.common.metrics.derive import run_metrics, summary
from arena.common.schemas.job import JobState
from arena.common.schemas.results import RunResults
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.results import aggregation, finishing
from arena.controller.results.aggregation import METRICS_VERSION, Aggregates
from arena.controller.results.finishing import JobFinisher
from arena.controller.results.runs import AGGREGATING, run_results
from arena.controller.server import Controller, main
from arena.controller.settings import ControllerSettings
from arena.controller.store.database import Database
from arena.controller.store.jobs import get_job
from arena.controller.web.reads import Reader
from tests.integration.test_protocol import address, registered, sample, submit
from tests.unit.test_store_records import OLD, _served_then, at_first_revision, box_figures


def _old_arena(data_dir: Path) -> tuple[str, str, dict[str, Any]]:
    """A data directory holding the database b8a3adc wrote (one succeeded job), brought to
    today's schema: (run id, job id, the results it served)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(data_dir / "arena.db") as connection:
        connection.executescript((OLD / "arena.sql").read_text())
    at_first_revision(data_dir / "arena.db", has_tables=True)
    Database(f"sqlite:///{data_dir / 'arena.db'}").close()
    expected = json.loads((OLD / "expected.json").read_text())
    return expected["results"]["run_id"], expected["detail"]["jobs"][0]["job_id"], expected


def _sql(data_dir: Path, statement: str, *args: Any) -> list[Any]:
    with sqlite3.connect(data_dir / "arena.db") as connection:
        return connection.execute(statement, args).fetchall()


def _version(data_dir: Path, job_id: str) -> int | None:
    [(version,)] = _sql(data_dir, "SELECT metrics_version FROM jobs WHERE id = ?", job_id)
    return int(version) if version is not None else None


def _results(data_dir: Path, run_id: str) -> RunResults:
    db = Database(f"sqlite:///{data_dir / 'arena.db'}")
    try:
        return db.run_sync(run_results, run_id)
    finally:
        db.close()


def test_jobs_that_succeeded_before_versions_carry_the_first(tmp_path: Path) -> None:
    _, job_id, _ = _old_arena(tmp_path)
    assert _version(tmp_path, job_id) == 1  # 0010: computed by version 1's definitions


def test_a_pending_job_says_its_metrics_are_being_computed(tmp_path: Path) -> None:
    run_id, job_id, _ = _old_arena(tmp_path)
    _sql(tmp_path, "UPDATE jobs SET metrics_version = NULL WHERE id = ?", job_id)
    _sql(tmp_path, "DELETE FROM aggregates")
    [job] = _results(tmp_path, run_id).jobs
    assert [bench.flags[0] for bench in job.benchmarks] == [AGGREGATING]


def test_reaggregate_recomputes_metrics_older_than_the_definitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id, job_id, expected = _old_arena(tmp_path)
    served = _served_then(_results(tmp_path, run_id).model_dump(mode="json"))
    assert served == expected["results"]
    # a changed definition (one more per-run metric) and its version bumped
    monkeypatch.setattr(
        aggregation, "run_metrics", lambda *args: {**run_metrics(*args), "new_metric": 1.0}
    )
    bumped = METRICS_VERSION + 1
    monkeypatch.setattr(aggregation, "METRICS_VERSION", bumped)
    monkeypatch.setattr("arena.controller.server.restrict_new_files", lambda: None)

    def reaggregate(*args: str) -> Any:
        return CliRunner().invoke(main, ["reaggregate", "--data-dir", str(tmp_path), *args])

    done = reaggregate()
    assert done.exit_code == 0, done.output
    assert f"[1/1] {run_id} {job_id}: " in done.output
    assert f"recomputed the metrics of 1 jobs in 1 runs (metrics version {bumped})" in done.output
    assert _version(tmp_path, job_id) == bumped
    per_run = _sql(tmp_path, "SELECT metrics FROM aggregates WHERE job_id = ? AND run >= 0", job_id)
    assert per_run and all(json.loads(m)["new_metric"] == 1.0 for (m,) in per_run)
    recomputed = _served_then(_results(tmp_path, run_id).model_dump(mode="json"))
    box = box_figures(recomputed)  # version 3 adds the runs' box figures from the telemetry
    assert box == {"throttled_runs": 1.0, "gpu_power_mean_w": 204.0}  # sw_power_cap, 200-208 W
    assert recomputed == served

    again = reaggregate()  # every job is current now
    assert "recomputed the metrics of 0 jobs in 0 runs" in again.output
    assert "of 1 jobs in 1 runs" in reaggregate(run_id).output  # named: recomputed anyway
    assert "of 1 jobs in 1 runs" in reaggregate("--all").output
    unknown = reaggregate("run-nope")
    assert unknown.exit_code == 2 and "no run 'run-nope'" in unknown.output


def _held_aggregation(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """(started, release): aggregation starts, then waits for ``release``."""
    started, release = threading.Event(), threading.Event()
    compute = JobFinisher._compute

    async def held(finisher: JobFinisher, job_id: str) -> Aggregates | None:
        started.set()
        assert await asyncio.to_thread(release.wait, 60)
        return await compute(finisher, job_id)

    monkeypatch.setattr(JobFinisher, "_compute", held)
    return started, release


@pytest.mark.backends
async def test_the_controller_answers_while_a_job_is_aggregated(
    controller: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = _held_aggregation(monkeypatch)
    try:
        run_id = await submit(controller)
        link = await registered(controller, "box-aggregating")
        lease = await link.lease(wait_s=1)
        assert lease is not None
        job = lease.job_id
        await link.report(job, 1, JobState.RUNNING, clock_origin_unix=1.0)
        await link.push_samples(job, 1, 1, [sample(0), sample(1)])
        await link.report(job, 1, JobState.SUCCEEDED, total_samples=2)  # committed, not held
        assert await asyncio.to_thread(started.wait, 60)
        await link.heartbeat([], draining=False)  # answered while the aggregation is held
        assert controller.db is not None
        stored = await controller.db.call(get_job, job)
        assert (stored.state, stored.metrics_version) == ("succeeded", None)
        monkeypatch.setattr(finishing, "SETTLE_S", 0.05)
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            waited_briefly = await asyncio.to_thread(client.results, run_id)
            assert [b.flags[0] for b in waited_briefly.jobs[0].benchmarks] == [AGGREGATING]
            monkeypatch.setattr(finishing, "SETTLE_S", 20.0)
            threading.Timer(0.5, release.set).start()
            waited = await asyncio.to_thread(client.results, run_id)  # waits for it
        [bench] = waited.jobs[0].benchmarks
        assert bench.variants and AGGREGATING not in bench.flags
        stored = await controller.db.call(get_job, job)
        assert stored.metrics_version == METRICS_VERSION
        await link.close()
    finally:
        release.set()


async def test_a_restart_aggregates_what_a_stop_left_pending(tmp_path: Path) -> None:
    data_dir = tmp_path / "controller"
    run_id, job_id, expected = _old_arena(data_dir)
    _sql(data_dir, "UPDATE jobs SET metrics_version = NULL WHERE id = ?", job_id)
    _sql(data_dir, "DELETE FROM aggregates")
    _sql(data_dir, "DELETE FROM energy")
    settings = ControllerSettings(listen="127.0.0.1:0", data_dir=data_dir)
    async with Controller(settings) as controller:
        assert controller.db is not None
        deadline = time.monotonic() + 60
        while (await controller.db.call(get_job, job_id)).metrics_version is None:
            assert time.monotonic() < deadline, "the pending job was not aggregated"
            await asyncio.sleep(0.05)
    assert _version(data_dir, job_id) == METRICS_VERSION
    results = _served_then(_results(data_dir, run_id).model_dump(mode="json"))
    assert box_figures(results)  # what version 3 adds; the rest as the old arena served it
    assert results == expected["results"]


def test_the_dashboard_shows_reaggregated_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard keeps a finished run's results until the run changes: metrics recomputed
    in place (the same row ids again) are such a change."""
    run_id, job_id, _ = _old_arena(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'arena.db'}")
    try:
        reader = Reader(db, ControllerSettings(data_dir=tmp_path))
        [before] = reader.results(run_id).jobs[0].benchmarks[0].variants
        monkeypatch.setattr(
            aggregation,
            "summary",
            lambda *args: {**(stats := summary(*args)), "new_metric": next(iter(stats.values()))},
        )
        monkeypatch.setattr(aggregation, "METRICS_VERSION", METRICS_VERSION + 1)
        db.run_sync(aggregation.store_computed, db.run_sync(aggregation.compute_aggregates, job_id))
        [after] = reader.results(run_id).jobs[0].benchmarks[0].variants
        assert "new_metric" not in before.metrics and "new_metric" in after.metrics
    finally:
        db.close()


def test_the_run_page_keeps_refreshing_while_a_finished_runs_metrics_are_computed(
    tmp_path: Path,
) -> None:
    """A run whose jobs are over but whose metrics are not stored yet says so, and the page
    reloads itself (data-aggregating) until the results are complete."""
    from fastapi.testclient import TestClient

    from arena.controller.web.app import create_app

    run_id, job_id, _ = _old_arena(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'arena.db'}")
    try:
        app = create_app(db, ControllerSettings(data_dir=tmp_path))
        with TestClient(app) as client:
            page = client.get(f"/runs/{run_id}").text
            assert 'data-finished="true" data-aggregating="false"' in page
            db.run_sync(_unversion, job_id)
            page = client.get(f"/runs/{run_id}").text
            assert 'data-finished="true" data-aggregating="true"' in page
            assert "computing its metrics" in page
    finally:
        db.close()


def _unversion(session: Any, job_id: str) -> None:
    job = get_job(session, job_id)
    job.metrics_version = None
    session.add(job)
    session.commit()
