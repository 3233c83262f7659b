"""The energy figures' output tokens count the requests the metrics count as succeeded
(``open_loop.succeeded``: no error, completed, a first token), on either backend."""

import time

import pytest

from arena.common.metrics.open_loop import succeeded
from arena.common.metrics.sanity import SampleColumns
from arena.common.metrics.tokens import output_tokens
from arena.controller.store.database import Database
from arena.controller.store.jobs import get_job, lease_job, store_samples
from arena.controller.store.telemetry import benchmark_windows
from tests.store_data import agents, sample, submit

pytestmark = pytest.mark.backends


def test_output_tokens_count_only_succeeded_requests(store_url: str) -> None:
    db = Database(store_url)
    try:
        db.run_sync(submit, 1)
        [agent] = db.run_sync(agents, 1)
        job = db.run_sync(lease_job, agent, time.time(), 300.0)
        assert job is not None
        samples = [
            sample(0),
            sample(1).model_copy(update={"first_token_s": None, "chunk_times_s": []}),
            sample(2).model_copy(update={"error": "HTTP 500"}),
        ]
        stored = db.run_on_connection(store_samples, agent, job.id, 1, 1, SampleColumns.of(samples))
        assert stored == (3, 3)
        windows = db.run_sync(benchmark_windows, db.run_sync(get_job, job.id))
        expected = sum(output_tokens(s) for s in samples if succeeded(s))
        assert windows["chat"][2] == expected == 8
    finally:
        db.close()
