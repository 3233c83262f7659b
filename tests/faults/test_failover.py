"""Two controllers on one PostgreSQL database, four agents that know both: one controller is
killed with SIGKILL mid-suite, its agents move to the other, and every job still runs exactly
once with every sample stored exactly once."""

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arena.client.api import ArenaClient
from arena.common.settings import DEV_USER_TOKEN
from tests.databases import postgres_database, rows
from tests.faults.test_faults import FAST_LIVENESS, wait_until
from tests.support import Processes, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

JOBS = 8
PROMPTS = 80
SUITE = (
    "name: failover\nmodels:\n"
    + "".join(f"  - name: sim-failover-{i}\n    engine: sim\n" for i in range(JOBS))
    + f"""engines:
  sim:
    runtime: simulated
    decode_step_ms: 20
targets:
  - name: box
runs: 1
benchmarks:
  - kind: open_loop
    id: steady
    input_len: 16
    output_len: 20
    num_prompts: {PROMPTS}
    request_rate: [8]
"""
)


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[Processes, list[str]]]:
    with postgres_database() as url:
        arena = Processes(tmp_path, url)
        addresses = []
        try:
            for name in ("controller-a", "controller-b"):
                port = free_port()
                arena.start_controller(env=FAST_LIVENESS, name=name, port=port)
                addresses.append(f"127.0.0.1:{port}")
            yield arena, addresses
        finally:
            arena.stop_all()


def leases_logged(arena: Processes) -> Counter[str]:
    """How many times the controllers' logs say each job was leased."""
    leased: Counter[str] = Counter()
    for name in ("controller-a", "controller-b"):
        for line in arena.log(name).splitlines():
            if line.startswith("{") and (event := json.loads(line))["event"] == "job leased":
                leased[event["job_id"]] += 1
    return leased


def test_a_controller_killed_mid_suite(
    replicas: tuple[Processes, list[str]], report: list[dict[str, Any]]
) -> None:
    arena, (a, b) = replicas
    agents = [f"agent-{i}" for i in range(4)]
    for index, name in enumerate(agents):  # two agents start on each controller
        order = f"{a},{b}" if index % 2 == 0 else f"{b},{a}"
        arena.start_agent(name, controller=order, env=FAST_LIVENESS)
    client = ArenaClient(b, DEV_USER_TOKEN)
    wait_until(lambda: len(client.agents()) == 4, 30, "four agents to register")
    run_id, job_ids = client.submit(SUITE, "failover.yaml")
    wait_until(
        lambda: sum(j.samples >= 20 for j in client.run(run_id).jobs) >= 4,
        90,
        "four jobs to stream samples",
    )
    arena.kill9("controller-a")
    killed = time.monotonic()
    stored_then = rows(arena.database, "SELECT COUNT(*) FROM samples")[0][0]
    wait_until(
        lambda: rows(arena.database, "SELECT COUNT(*) FROM samples")[0][0] > stored_then,
        30,
        "uploads to go on through controller-b",
    )
    recovery = time.monotonic() - killed
    wait_until(lambda: client.run(run_id).finished, 240, "the suite to finish")
    detail = client.run(run_id)
    client.close()

    assert detail.run.state == "succeeded", [(j.job_id, j.state, j.message) for j in detail.jobs]
    assert sorted(j.job_id for j in detail.jobs) == sorted(job_ids)
    assert {j.attempt for j in detail.jobs} == {1}  # no job was ever handed out again
    assert leases_logged(arena) == Counter(job_ids)  # each job leased once, by either controller
    per_attempt = rows(
        arena.database,
        "SELECT job_id, attempt, COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq)"
        " FROM samples GROUP BY job_id, attempt",
    )
    assert sorted((job, attempt) for job, attempt, *_ in per_attempt) == sorted(
        (job_id, 1) for job_id in job_ids
    )
    for _, _, count, distinct, first, last in per_attempt:
        assert (count, distinct, first, last) == (PROMPTS, PROMPTS, 1, PROMPTS)  # contiguous
    [(total, distinct)] = rows(
        arena.database,
        "SELECT COUNT(*), COUNT(DISTINCT job_id || '/' || attempt || '/' || seq) FROM samples",
    )
    assert total == distinct == JOBS * PROMPTS
    moved = [name for name in agents if "trying the next" in arena.log(name)]
    assert moved, "no agent had to move to controller-b"
    report.append(
        {
            "fault": "1 of 2 controllers SIGKILL (PostgreSQL)",
            "times": 1,
            "generated": JOBS * PROMPTS,
            "stored": total,
            "duplicates": total - distinct,
            "recovery s": round(recovery, 1),
            "job": f"{JOBS} jobs succeeded once; {len(moved)} agents moved",
        }
    )
