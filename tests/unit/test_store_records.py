"""A stored record and its schema are one definition, and a database at the first revision
still opens, reads and serves the same results.

``tests/data/b8a3adc/`` holds what the code at commit b8a3adc (before samples and telemetry
readings became SQLModel bases of their tables) wrote in the first revision's tables: a database
it filled through a real job, and the results it served from it (``make.py`` there says how
they were made).
"""

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, SQLModel, select

from arena.common.metrics.box import BOX_KEYS
from arena.common.metrics.sanity import SampleColumns
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading
from arena.common.suites.expand import expand, job_requests
from arena.common.suites.loader import load_suite_text
from arena.controller.results.aggregation import compute_aggregates, store_computed
from arena.controller.results.runs import run_results
from arena.controller.store import models  # noqa: F401  (registers the tables)
from arena.controller.store.database import Database, connect
from arena.controller.store.jobs import get_job, samples_of, store_samples
from arena.controller.store.migrate import alembic_config
from arena.controller.store.models import AttemptItem, JobLogRow, JobRow, SampleRow, TelemetryRow
from arena.controller.store.runs import list_runs, run_detail
from arena.controller.store.telemetry import telemetry_of

OLD = Path(__file__).resolve().parent.parent / "data" / "b8a3adc"
KEYS = ["id", "job_id", "attempt", "seq"]

SUITE = """
name: records-test
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
targets:
  - name: any
runs: 1
benchmarks:
  - kind: closed_loop
    id: chat
    pp: [16]
    tg: [8]
    concurrency: [2]
"""


def at_first_revision(path: Path, *, has_tables: bool) -> None:
    """Build the first revision's tables in the database file, or, when b8a3adc's code made
    them (they are the first revision's), record that revision."""
    from alembic import command

    engine = connect(f"sqlite:///{path}")
    with engine.begin() as connection:
        config = alembic_config(connection)
        if has_tables:
            command.stamp(config, "0001")
        else:
            command.upgrade(config, "0001")
    engine.dispose()


def chunk_times_type(connection: sqlite3.Connection) -> str:
    columns = connection.execute("PRAGMA table_info(samples)").fetchall()
    [(kind, required)] = [(c[2], c[3]) for c in columns if c[1] == "chunk_times_s"]
    return f"{kind} NOT NULL" if required else str(kind)


def sample(index: int, **changes: object) -> RequestSample:
    fields: dict[str, object] = {
        "benchmark": "chat",
        "variant": "pp16/tg8/d0/c2",
        "run": 0,
        "index": index,
        "sent_s": 0.1 * index,
        "first_response_s": 0.1 * index + 0.05,
        "first_token_s": 0.1 * index + 0.05,
        "end_s": 0.1 * index + 0.3,
        "chunk_times_s": [0.1 * index + 0.05, 0.1 * index + 0.3],
        "prompt_tokens": 16,
        "completion_tokens": 8,
        "max_tokens": 8,
        "baseline_latency_s": 0.01,
    }
    return RequestSample.model_validate(fields | changes)


@pytest.mark.parametrize(
    ("row", "record"), [(SampleRow, RequestSample), (TelemetryRow, GpuReading)]
)
def test_a_row_is_its_record_plus_the_attempt_keys(
    row: type[SQLModel], record: type[BaseModel]
) -> None:
    assert list(AttemptItem.model_fields) == KEYS
    assert list(row.model_fields) == KEYS + list(record.model_fields)
    assert [column.name for column in row.__table__.columns] == list(row.model_fields)  # type: ignore[attr-defined]
    assert issubclass(row, record)


def test_a_log_line_shares_the_attempt_keys() -> None:
    assert list(JobLogRow.model_fields) == [*KEYS, "line"]


def test_the_record_validates_and_forbids_unknown_fields() -> None:
    good = sample(1).model_dump()
    with pytest.raises(ValidationError):
        RequestSample.model_validate(good | {"sent_s": "soon"})
    with pytest.raises(ValidationError):
        RequestSample.model_validate(good | {"latency_s": 0.2})
    with pytest.raises(ValidationError):
        RequestSample.model_validate({k: v for k, v in good.items() if k != "sent_s"})
    with pytest.raises(ValidationError):
        GpuReading.model_validate({"t_s": 0.0, "gpu": 0, "power": 300.0})
    with pytest.raises(ValidationError):
        GpuReading.model_validate({"t_s": 0.0, "gpu": "first"})


def test_a_table_row_does_not_validate_so_ingest_parses_with_the_record() -> None:
    """Why the store builds rows only from parsed records: SQLModel tables take anything."""
    row = SampleRow(job_id="j", attempt=1, seq=1, **(sample(1).model_dump() | {"sent_s": "soon"}))
    assert row.sent_s == "soon"  # type: ignore[comparison-overlap]


def _old_database(path: Path) -> None:
    """A database file at the first revision with rows as b8a3adc's code wrote them."""
    resolved = load_suite_text(SUITE, "records.yaml")
    spec = expand(resolved, "run-old")[0]
    at_first_revision(path, has_tables=False)
    connection = sqlite3.connect(path)
    connection.execute(
        "INSERT INTO agents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("agent-1", "old-agent", "{}", "{}", "{}", "", 0.0, "", 1.0, 2.0, False),
    )
    connection.execute(
        "INSERT INTO suites VALUES (?, ?, ?, ?, ?, ?)",
        (
            "suite-old",
            "records-test",
            "records.yaml",
            SUITE,
            json.dumps(resolved.model_dump(mode="json")),
            1.0,
        ),
    )
    connection.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?)",
        ("run-old", "suite-old", "records-test", 1.0, json.dumps(["an old note"])),
    )
    connection.execute(
        "INSERT INTO jobs (id, run_id, target, model, engine_runtime, spec, selector, state,"
        " ordinal, attempt, agent_id, lease_expires_at, acked_seq, logs_acked_seq,"
        " requests_expected, clock_origin_unix, progress, provenance, message, created_at,"
        " started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            spec.job_id,
            "run-old",
            spec.target,
            spec.model.name,
            spec.engine.runtime,
            json.dumps(spec.model_dump(mode="json")),
            json.dumps({"name": "any"}),
            "running",
            0,
            1,
            "agent-1",
            9e99,
            2,
            0,
            job_requests(spec),
            1.0,
            "{}",
            "{}",
            "",
            1.0,
            1.5,
        ),
    )
    connection.executemany(
        'INSERT INTO samples (job_id, attempt, seq, benchmark, variant, run, "index",'
        " scheduled_s, queued_s, sent_s, first_response_s, first_token_s, end_s, chunk_times_s,"
        " prompt_tokens, completion_tokens, max_tokens, error, baseline_latency_s)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                spec.job_id,
                1,
                1,
                "chat",
                "pp16/tg8/d0/c2",
                0,
                1,
                None,
                None,
                0.1,
                0.15,
                0.15,
                0.4,
                "[0.15, 0.4]",
                16,
                8,
                8,
                None,
                0.01,
            ),
            (
                spec.job_id,
                1,
                2,
                "chat",
                "pp16/tg8/d0/c2",
                0,
                2,
                None,
                None,
                0.2,
                None,
                None,
                0.3,
                "[]",
                None,
                None,
                8,
                "HTTP 500: boom",
                0.01,
            ),
        ],
    )
    connection.execute(
        "INSERT INTO telemetry (job_id, attempt, seq, t_s, gpu, power_w, energy_mj,"
        " gpu_util_pct, mem_util_pct, mem_used_mib, sm_mhz, mem_mhz, temp_c, throttle_mask,"
        " throttle_reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            spec.job_id,
            1,
            1,
            0.2,
            0,
            250.5,
            1000.0,
            90.0,
            None,
            1024.0,
            1800.0,
            None,
            60.0,
            4,
            '["sw_power_cap"]',
        ),
    )
    connection.commit()
    connection.close()


def test_a_database_made_before_opens_reads_and_takes_new_writes(tmp_path: Path) -> None:
    path = tmp_path / "arena.db"
    _old_database(path)
    db = Database(f"sqlite:///{path}")
    try:
        with Session(db.engine) as session:
            job_id = session.exec(select(JobRow.id)).one()
            job_row = get_job(session, job_id)
            stored = samples_of(session, job_row)
            assert stored == [
                sample(
                    1,
                    first_response_s=0.15,
                    first_token_s=0.15,
                    end_s=0.4,
                    chunk_times_s=[0.15, 0.4],
                    sent_s=0.1,
                ),
                sample(
                    2,
                    sent_s=0.2,
                    first_response_s=None,
                    first_token_s=None,
                    end_s=0.3,
                    chunk_times_s=[],
                    prompt_tokens=None,
                    completion_tokens=None,
                    error="HTTP 500: boom",
                ),
            ]
            assert all(type(one) is RequestSample for one in stored)
            assert telemetry_of(session, job_row) == [
                GpuReading(
                    t_s=0.2,
                    gpu=0,
                    power_w=250.5,
                    energy_mj=1000.0,
                    gpu_util_pct=90.0,
                    mem_used_mib=1024.0,
                    sm_mhz=1800.0,
                    temp_c=60.0,
                    throttle_mask=4,
                    throttle_reasons=["sw_power_cap"],
                )
            ]
            new = SampleColumns.of([sample(3)])
            assert store_samples(session.connection(), "agent-1", job_id, 1, 3, new) == (3, 1)
            assert store_computed(session, compute_aggregates(session, job_id)) > 0
            session.commit()
        assert db.run_sync(samples_of, db.run_sync(get_job, job_id))[-1] == sample(3)
        [run] = db.run_sync(list_runs, 10)
        assert (run.run_id, run.state, run.samples) == ("run-old", "running", 3)
        detail = db.run_sync(run_detail, "run-old")
        assert (detail.notes, detail.jobs[0].agent) == (["an old note"], "old-agent")
        results = db.run_sync(run_results, "run-old")
        [variant] = results.jobs[0].benchmarks[0].variants
        assert variant.key == "pp16/tg8/d0/c2"
        assert variant.metrics
    finally:
        db.close()
    with sqlite3.connect(path) as connection:
        assert chunk_times_type(connection) == "BLOB NOT NULL"  # 0004 packed them


def test_a_database_written_by_b8a3adc_serves_the_same_run(tmp_path: Path) -> None:
    path = tmp_path / "arena.db"
    with sqlite3.connect(path) as connection:
        connection.executescript((OLD / "arena.sql").read_text())
    at_first_revision(path, has_tables=True)
    expected = json.loads((OLD / "expected.json").read_text())
    run_id = expected["results"]["run_id"]
    db = Database(f"sqlite:///{path}")
    try:
        detail = db.run_sync(run_detail, run_id)
        # the suite file's name and text were added to the detail later; the rest is as served
        assert detail.suite_yaml and detail.suite_file
        new_fields: dict[str, Any] = {
            "suite_file": True,
            "suite_yaml": True,
            "jobs": {"__all__": {"flags", "tier"}},
        }
        served = detail.model_dump(mode="json", exclude=new_fields)
        # a job's progress became a schema (JobProgress) later: none reported is null, not {}
        assert [job.pop("progress") for job in served["jobs"]] == [None]
        assert [job.pop("progress") for job in expected["detail"]["jobs"]] == [{}]
        assert served == expected["detail"]
        results = db.run_sync(run_results, run_id).model_dump(mode="json")
        assert _judged(results) == [(False, 1 / 7, ["invalid: 1 of 7 requests failed (14% > 10%)"])]
        assert _served_then(results) == expected["results"]
        lenient = db.run_sync(run_results, run_id, 0.2).model_dump(mode="json")
        assert _judged(lenient) == [(True, 1 / 7, [])]  # the gate is the controller's setting
        job = db.run_sync(get_job, expected["detail"]["jobs"][0]["job_id"])
        stored = db.run_sync(samples_of, job)
        assert [(s.index, s.error, len(s.chunk_times_s)) for s in stored] == [
            *((i, None, 8) for i in range(6)),
            (6, "boom", 0),
        ]
        readings = db.run_sync(telemetry_of, job)
        assert [(r.power_w, r.throttle_reasons) for r in readings[:2]] == [
            (200.0, ["sw_power_cap"]),
            (201.0, ["sw_power_cap"]),
        ]
        # recomputing from the stored samples and readings gives the served numbers again
        db.run_sync(store_computed, db.run_sync(compute_aggregates, job.id))
        recomputed = _served_then(db.run_sync(run_results, run_id).model_dump(mode="json"))
        # what metrics version 3 adds from the same readings: the run's box figures
        assert box_figures(recomputed) == {"throttled_runs": 1.0, "gpu_power_mean_w": 204.0}
        assert recomputed == expected["results"]
    finally:
        db.close()


_JUDGED = ("valid", "failed_share", "flags")
"""Fields the results gained after b8a3adc: the validity verdict (``metrics.validity``)."""


def _judged(results: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(b[key] for key in _JUDGED) for j in results["jobs"] for b in j["benchmarks"]]


def box_figures(served: dict[str, Any]) -> dict[str, float]:
    """Remove the runs' box figures (``metrics.box``, metrics version 3) from served results;
    their means by key."""
    found = {}
    for job in served["jobs"]:
        for bench in job["benchmarks"]:
            for variant in bench["variants"]:
                for key in BOX_KEYS:
                    if key in variant["metrics"]:
                        found[key] = variant["metrics"].pop(key)["mean"]
    return found


def _served_then(results: dict[str, Any]) -> dict[str, Any]:
    """The results as b8a3adc served them: without the fields added since."""
    copy = json.loads(json.dumps(results))
    for job in copy["jobs"]:
        assert (job.pop("tier"), job.pop("flags")) == ("", [])  # no trust yet: the defaults
        assert job["hardware_detail"].pop("client_headroom") is None  # not measured then
        for bench in job["benchmarks"]:
            for key in _JUDGED:
                del bench[key]
            # what the benchmark declared and, for session benchmarks, their capacity
            assert (bench.pop("prefix_cache"), bench.pop("agent_capacity")) == ("off", None)
            assert bench.pop("partial") is False  # a succeeded job's benchmarks are whole
            assert bench.pop("exact_tg") is False  # answers ended where the model stopped
            for variant in bench["variants"]:
                del variant["spread_pct"], variant["not_meaningful"]
                variant["metrics"].pop("output_throughput", None)  # a closed loop's, since
    return copy
