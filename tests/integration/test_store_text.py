"""Text the store is sent arrives whole on either backend, except NUL, which PostgreSQL's
text cannot hold: an engine's log line or a message with one is kept, NUL replaced."""

import time

import pytest

from arena.common.metrics.sanity import SampleColumns
from arena.common.schemas.job import JobState
from arena.controller.store.database import Database
from arena.controller.store.jobs import (
    get_job,
    lease_job,
    report_status,
    samples_of,
    store_logs,
    store_samples,
)
from arena.controller.store.reads import log_lines
from tests.store_data import agents, sample, submit

pytestmark = pytest.mark.backends  # the store on SQLite and on PostgreSQL


def test_nul_and_unicode_in_text(store_url: str, backend: str) -> None:
    db = Database(store_url)
    try:
        db.run_sync(submit, 1)
        [agent] = db.run_sync(agents, 1)
        job = db.run_sync(lease_job, agent, time.time(), 300.0)
        assert job is not None
        lines = ["plain", "bin\x00ary", "ünïcødé ✓ 🚀"]
        assert db.run_sync(store_logs, agent, job.id, 1, 1, lines) == 3
        db.run_sync(report_status, agent, job.id, 1, JobState.RUNNING, message="a\x00b", now=1.0)
        failed = sample(1).model_copy(update={"error": "HTTP 500: \x00"})
        assert db.run_on_connection(
            store_samples, agent, job.id, 1, 1, SampleColumns.of([failed])
        ) == (1, 1)

        nul = "\x00" if backend == "sqlite" else "\ufffd"
        _, stored = db.run_sync(log_lines, job.id, 0, 0)
        assert [line for _, line in stored] == ["plain", f"bin{nul}ary", "ünïcødé ✓ 🚀"]
        assert db.run_sync(get_job, job.id).message == f"a{nul}b"
        [back] = db.run_sync(samples_of, db.run_sync(get_job, job.id))
        assert back.error == f"HTTP 500: {nul}"
    finally:
        db.close()
