"""submit → schedule → two agents → samples streamed → stored → aggregated → shown.

Controller and agents run as separate processes talking gRPC over loopback, with the simulated
engine started by each agent as a child process: the whole arena, as on real machines.
"""

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from arena.client.api import ArenaClient
from arena.common.settings import DEV_USER_TOKEN
from tests.databases import rows
from tests.support import BIN, Processes

pytestmark = pytest.mark.slow

# decode 20 ms/step for one sequence: 50 tok/s per request at c=1
SUITE = """
name: e2e
models:
  - name: sim-small
    engine: sim
engines:
  sim:
    runtime: simulated
    prefill_tokens_per_s: 20000
    decode_step_ms: 20
    decode_step_ms_per_seq: 0
targets:
  - name: box-a
    agent: agent-a
  - name: box-b
    agent: agent-b
runs: 2
benchmarks:
  - kind: closed_loop
    id: chat
    title: Chat
    pp: [64]
    tg: [32]
    concurrency: [1, 4]
  - kind: open_loop
    id: office
    title: Office
    input_len: 64
    output_len: 16
    num_prompts: 12
    request_rate: [8]
    burstiness: 0.7
    max_concurrency: 4
"""
# closed: 2 runs × (1 + 4) requests; open: 2 runs × 12 prompts
EXPECTED_PER_JOB = 2 * 5 + 2 * 12


@pytest.fixture
def arena(tmp_path: Path, database_url: str | None) -> Iterator[Processes]:
    processes = Processes(tmp_path, database_url)
    try:
        processes.start_controller()
        processes.start_agent("agent-a", "--label", "site=lab")
        processes.start_agent("agent-b")
        yield processes
    finally:
        processes.stop_all()


def wait_for_agents(client: ArenaClient, count: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len([a for a in client.agents() if a.status == "online"]) == count:
            return
        time.sleep(0.2)
    raise AssertionError(f"agents did not register: {client.agents()}")


def test_two_agents_run_a_suite_end_to_end(arena: Processes, tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    with ArenaClient(arena.address, DEV_USER_TOKEN) as client:
        wait_for_agents(client, 2)
        run_id, job_ids = client.submit(SUITE, str(suite))
        assert len(job_ids) == 2

        # samples arrive while the jobs are still running, not only at the end
        streamed_early = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            detail = client.run(run_id)
            if detail.finished:
                break
            running = [j for j in detail.jobs if j.state == "running"]
            if any(0 < j.samples < EXPECTED_PER_JOB for j in running):
                streamed_early = True
            time.sleep(0.2)
        assert detail.run.state == "succeeded", (detail, arena.log("agent-a"), arena.log("agent-b"))
        assert streamed_early
        assert {job.agent for job in detail.jobs} == {"agent-a", "agent-b"}
        assert all(job.samples == EXPECTED_PER_JOB for job in detail.jobs)

        results = client.results(run_id)
    [stored] = rows(
        arena.database, "SELECT COUNT(*), COUNT(DISTINCT job_id || '/' || seq) FROM samples"
    )
    assert stored == (2 * EXPECTED_PER_JOB, 2 * EXPECTED_PER_JOB)  # all stored, no duplicates

    for job in results.jobs:
        assert job.simulated and job.state == "succeeded"
        assert job.hardware and job.hardware.startswith("CPU")
        chat, office = job.benchmarks
        c1 = {v.key: v for v in chat.variants}["pp64/tg32/d0/c1"]
        assert c1.runs == 2
        # the simulated engine decodes one token per 20 ms step: ~50 tok/s for one request
        assert c1.metrics["tg_throughput"].mean == pytest.approx(50, rel=0.25)
        [rate] = office.variants
        assert rate.metrics["completed"].mean == 12
        assert rate.metrics["median_tpot_ms"].mean == pytest.approx(20, rel=0.3)
        # the agent's measured client load travelled with the job and was used for the flag
        client_cpu_util = rate.metrics["client_cpu_util"].mean
        assert client_cpu_util is not None and 0 < client_cpu_util < 1
        assert rate.metrics["client_saturated"].n == 2


def test_arenactl_watch_and_show_print_the_results(arena: Processes, tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.replace("runs: 2", "runs: 1"))
    ctl = [str(BIN / "arenactl"), "--controller", arena.address]
    with ArenaClient(arena.address, DEV_USER_TOKEN) as client:
        wait_for_agents(client, 2)
    watched = subprocess.run(
        [*ctl, "submit", str(suite), "--watch"], capture_output=True, text=True, timeout=180
    )
    assert watched.returncode == 0, watched.stderr
    assert "SIMULATED" in watched.stdout
    assert "pp64/tg32/d0/c4" in watched.stdout and "rate8" in watched.stdout
    runs = json.loads(
        subprocess.run(
            [*ctl, "runs", "-o", "json"], capture_output=True, text=True, check=True
        ).stdout
    )
    assert runs[0]["state"] == "succeeded" and runs[0]["samples"] == 2 * (5 + 12)
    agents = json.loads(
        subprocess.run(
            [*ctl, "agents", "-o", "json"], capture_output=True, text=True, check=True
        ).stdout
    )
    assert {a["name"] for a in agents} == {"agent-a", "agent-b"}
    assert {a["labels"].get("site") for a in agents} == {"lab", None}


LONG_SUITE = """
name: long
models:
  - name: sim-slow
    engine: sim
engines:
  sim:
    runtime: simulated
    decode_step_ms: 50
targets:
  - name: box-a
    agent: agent-a
runs: 3
benchmarks:
  - kind: closed_loop
    id: long-output
    pp: [16]
    tg: [2000]
    concurrency: [2]
"""


def wait_for_state(client: ArenaClient, run_id: str, state: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.run(run_id).jobs[0].state == state:
            return
        time.sleep(0.1)
    raise AssertionError(f"job never reached {state}: {client.run(run_id)}")


def engine_processes(model: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "arena.agent.simulated.server" in cmdline and model in cmdline:
            found.append(process)
    return found


def test_cancel_stops_the_agent_and_the_next_job_still_runs(arena: Processes) -> None:
    with ArenaClient(arena.address, DEV_USER_TOKEN) as client:
        wait_for_agents(client, 2)
        long_run, _ = client.submit(LONG_SUITE, "long.yaml")
        wait_for_state(client, long_run, "running", 30)
        time.sleep(1.0)  # requests in flight
        assert client.cancel(long_run) == 1
        cancelled_at = time.monotonic()
        # the agent hears it on its next heartbeat (2 s) and stops tools and engine
        deadline = time.monotonic() + 15
        while "job cancelled" not in arena.log("agent-a") and time.monotonic() < deadline:
            time.sleep(0.1)
        stop_s = time.monotonic() - cancelled_at
        assert "job cancelled" in arena.log("agent-a")
        assert stop_s < 5, stop_s
        deadline = time.monotonic() + 10
        while engine_processes("sim-slow") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not engine_processes("sim-slow"), "the simulated engine was not stopped"
        assert client.run(long_run).run.state == "cancelled"

        next_run, _ = client.submit(SUITE.replace("runs: 2", "runs: 1"), "next.yaml")
        deadline = time.monotonic() + 120
        while not client.run(next_run).finished and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.run(next_run).run.state == "succeeded"


def test_drain_finishes_the_current_job_and_takes_no_new_one(arena: Processes) -> None:
    two_jobs = LONG_SUITE.replace("tg: [2000]", "tg: [100]").replace(
        "  - name: sim-slow\n    engine: sim\n",
        "  - name: sim-slow\n    engine: sim\n  - name: sim-second\n    engine: sim\n",
    )
    with ArenaClient(arena.address, DEV_USER_TOKEN) as client:
        wait_for_agents(client, 2)
        run_id, _ = client.submit(two_jobs, "two.yaml")
        wait_for_state(client, run_id, "running", 30)
        client.drain("agent-a")
        deadline = time.monotonic() + 90
        while client.run(run_id).jobs[0].state == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # give a draining agent every chance to take the second job
        first, second = client.run(run_id).jobs
        assert first.state == "succeeded"
        assert second.state == "queued"
        assert [a.draining for a in client.agents() if a.name == "agent-a"] == [True]
        client.cancel(run_id)
