"""Session benchmarks through the controller's store: samples stored as an agent's batches
are, aggregated per load step (the steps a search made, found in the samples), and served
with their capacity in agents; a cache-off control served from a warm cache is invalid and
gets no capacity."""

import time

import pytest
from sqlmodel import Session

from arena.common.metrics.sanity import SampleColumns
from arena.common.schemas.results import BenchmarkResult, JobResult
from arena.common.schemas.sample import RequestSample
from arena.common.suites.loader import load_suite_text
from arena.controller.results.aggregation import compute_aggregates, store_computed
from arena.controller.results.runs import run_results
from arena.controller.store.database import Database
from arena.controller.store.jobs import lease_job, store_samples
from arena.controller.store.runs import submit_run
from tests.store_data import agents

pytestmark = pytest.mark.backends  # the store on SQLite and on PostgreSQL

SUITE = """\
name: agentic-store
models:
  - name: m0
    engine: sim
engines:
  sim:
    runtime: simulated
runs: 2
benchmarks:
  - kind: sessions
    id: agents
    trace: {profile: coding, sessions: 4}
    search: {start: 1, max: 8}
    slo:
      - {name: fast, ttft_s: 0.5, output_tokens_per_s: 8}
      - {name: slow, ttft_s: 4, output_tokens_per_s: 1}
    attainment: 0.9
  - kind: sessions
    id: control
    trace: {profile: coding, sessions: 4}
    users: [2]
    prefix_cache: off
"""


def step_samples(bench: str, users: int, run: int, cached: int) -> list[RequestSample]:
    """``users`` sessions of two turns each, streaming at 10 tok/s; TTFT 0.1 s per user (the
    box slows down with load), so 0.8 s at 8 users misses the fast tier's 0.5 s."""
    ttft = 0.1 * users
    samples: list[RequestSample] = []
    for session in range(users):
        for number in range(2):
            sent = 10.0 * number
            chunks = [sent + ttft + 0.1 * k for k in range(5)]
            samples.append(
                RequestSample(
                    benchmark=bench,
                    variant=f"u{users}",
                    run=run,
                    index=len(samples),
                    scheduled_s=sent,
                    sent_s=sent,
                    first_response_s=chunks[0],
                    first_token_s=chunks[0],
                    end_s=chunks[-1],
                    chunk_times_s=chunks,
                    prompt_tokens=1000,
                    completion_tokens=5,
                    session=f"s{session}",
                    turn=number,
                    cached_tokens=cached if number else 0,
                )
            )
    return samples


def test_session_steps_are_aggregated_and_read_as_capacity(store_url: str) -> None:
    db = Database(store_url)
    try:
        with Session(db.engine) as session:
            resolved = load_suite_text(SUITE, "agentic.yaml")
            run_id, [job_id] = submit_run(session, resolved, SUITE, "agentic.yaml", time.time())
            [agent] = agents(session, 1)
            session.commit()
            assert lease_job(session, agent, time.time(), 1e9) is not None
            session.commit()
        batches = [
            step_samples("agents", users, run, 900) for users in (1, 2, 4, 8) for run in (0, 1)
        ]
        batches += [step_samples("control", 2, run, 600) for run in (0, 1)]
        seq = 1
        for batch in batches:
            columns = SampleColumns.of(batch)
            db.run_on_connection(store_samples, agent, job_id, 1, seq, columns)
            seq += len(batch)
        db.run_sync(store_computed, db.run_sync(compute_aggregates, job_id))
        [job] = db.run_sync(run_results, run_id).jobs
    finally:
        db.close()
    agents_bench, control = _benchmarks(job)

    assert [v.key for v in agents_bench.variants] == ["u1", "u2", "u4", "u8"]  # load order
    u4 = agents_bench.variants[2]
    assert u4.runs == 2 and u4.metrics["sessions"].mean == 4 and u4.metrics["turns"].mean == 8
    assert u4.metrics["ttft_first_mean_ms"].mean == pytest.approx(400)
    assert u4.metrics["cache_hit_pct"].mean == pytest.approx(45)  # 900 of 2000 per session
    assert u4.metrics["slo_fast_pct"].mean == 100 and u4.metrics["load"].mean == 4
    assert agents_bench.prefix_cache == "on" and agents_bench.valid

    capacity = agents_bench.agent_capacity
    assert capacity is not None and capacity.unit == "users" and capacity.target_pct == 90
    assert [(s.load, s.passed) for s in capacity.steps] == [
        (1.0, {"fast": True, "slow": True}),
        (2.0, {"fast": True, "slow": True}),
        (4.0, {"fast": True, "slow": True}),
        (8.0, {"fast": False, "slow": True}),
    ]
    assert capacity.capacity == {"fast": 4.0, "slow": 8.0}
    assert capacity.steps[3].sessions == 16 and capacity.steps[3].attainment_pct["fast"] == 0
    # the agent registered this box's GPUs (none here: no per-GPU figure, never "1 GPU")
    gpus = len(job.hardware_detail.gpus) if job.hardware_detail else 0
    if gpus:
        assert capacity.gpus == gpus and capacity.per_gpu["fast"] == 4.0 / gpus
    else:
        assert capacity.gpus is None and capacity.per_gpu == {}

    # the control declared the cache off, yet 30 % of its prompt tokens came from it
    assert control.prefix_cache == "off" and not control.valid
    assert any("served from a warm prefix cache (30.0 %" in flag for flag in control.flags)
    withheld = control.agent_capacity
    assert withheld is not None and withheld.capacity == {
        "interactive": None,
        "agent": None,
        "relaxed": None,
    }
    assert len(withheld.steps) == 1 and withheld.note.startswith("no capacity")


def _benchmarks(job: JobResult) -> tuple[BenchmarkResult, BenchmarkResult]:
    by_id = {bench.id: bench for bench in job.benchmarks}
    return by_id["agents"], by_id["control"]
