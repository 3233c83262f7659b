"""Fault injection: a sample measured is a sample stored, exactly once.

Controller, agents and the simulated engine run as separate processes; faults are real:
SIGKILL of the agent or the controller, a TCP proxy that cuts agent↔controller traffic, the
engine killed mid-benchmark, the controller's disk full for a while. Every test checks stored
samples against generated samples, duplicates and the job's final state.
"""

import json
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from arena.client.api import ArenaClient, JobInfo
from arena.common.settings import DEV_USER_TOKEN
from tests.databases import rows
from tests.prerequisites import require
from tests.support import CuttableProxy, Processes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PROMPTS = 120
SUITE = f"""
name: faults
models:
  - name: sim-faults
    engine: sim
engines:
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
FAST_LIVENESS = {"ARENA_HEARTBEAT_INTERVAL_S": "0.5", "ARENA_LEASE_TTL_S": "8"}


@pytest.fixture
def arena(tmp_path: Path, database_url: str | None) -> Iterator[Processes]:
    processes = Processes(tmp_path, database_url)
    try:
        yield processes
    finally:
        processes.stop_all()


def wait_until(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def the_job(client: ArenaClient, run_id: str) -> JobInfo:
    return client.run(run_id).jobs[0]


def stored(arena: Processes, job_id: str, attempt: int) -> tuple[int, int]:
    """(rows, distinct sequence numbers) stored for one job attempt."""
    [counts] = rows(
        arena.database,
        "SELECT COUNT(*), COUNT(DISTINCT seq) FROM samples"
        " WHERE job_id = :job AND attempt = :attempt",
        job=job_id,
        attempt=attempt,
    )
    return counts


def spooled_last_seq(arena: Processes, agent: str, job_id: str, attempt: int) -> int:
    """How many samples the agent generated (committed to its spool) for a job attempt."""
    with sqlite3.connect(arena.workdir / f"{agent}-state" / "spool.db") as db:
        row = db.execute(
            "SELECT last_seq FROM streams WHERE job_id = ? AND attempt = ? AND stream = 'samples'",
            (job_id, attempt),
        ).fetchone()
    return int(row[0]) if row else 0


def ended_samples(arena: Processes, agent: str, job_id: str) -> int:
    """The agent's own count of samples generated for a job, from its 'job ended' log."""
    for line in arena.log(agent).splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "job ended" and event.get("job_id") == job_id:
                assert event["acked"] == event["samples"]
                return int(event["samples"])
    raise AssertionError("no 'job ended' line")


def start(arena: Processes, agent_controller: str | None = None) -> tuple[ArenaClient, str]:
    arena.start_controller(env=FAST_LIVENESS)
    arena.start_agent("agent-1", controller=agent_controller)
    client = ArenaClient(arena.address, DEV_USER_TOKEN)
    wait_until(lambda: client.agents(), 30, "the agent to register")
    run_id, _ = client.submit(SUITE, "faults.yaml")
    wait_until(lambda: the_job(client, run_id).samples >= 20, 60, "samples to flow")
    return client, run_id


def finish(client: ArenaClient, run_id: str) -> JobInfo:
    wait_until(lambda: client.run(run_id).finished, 150, "the run to finish")
    return the_job(client, run_id)


def row(
    fault: str, times: int, generated: int, counts: tuple[int, int], recovery_s: float, job: JobInfo
) -> dict[str, Any]:
    rows, distinct = counts
    return {
        "fault": fault,
        "times": times,
        "generated": generated,
        "stored": rows,
        "duplicates": rows - distinct,
        "recovery s": round(recovery_s, 1),
        "job": f"{job.state} (attempt {job.attempt})",
    }


def test_agent_killed_mid_run(arena: Processes, report: list[dict[str, Any]]) -> None:
    client, run_id = start(arena)
    job = the_job(client, run_id)
    arena.kill9("agent-1")
    generated = spooled_last_seq(arena, "agent-1", job.job_id, 1)
    restarted = time.monotonic()
    arena.start_agent("agent-1")
    wait_until(lambda: the_job(client, run_id).attempt == 2, 60, "the job to be handed back")
    recovery = time.monotonic() - restarted
    final = finish(client, run_id)
    assert final.state == "succeeded" and final.attempt == 2
    first = stored(arena, job.job_id, 1)
    assert first == (generated, generated)  # the dead attempt's samples: all there, once
    assert stored(arena, job.job_id, 2) == (PROMPTS, PROMPTS)
    report.append(row("agent SIGKILL + restart", 1, generated, first, recovery, final))
    report.append(row("  (its retry)", 0, PROMPTS, stored(arena, job.job_id, 2), 0, final))
    # the orphaned simulated engine of the killed agent was stopped by the restarted one
    assert not [
        p
        for p in psutil.process_iter(["cmdline"])
        if "sim-faults" in " ".join(p.info["cmdline"] or [])
    ]
    client.close()


def test_controller_killed_mid_run(arena: Processes, report: list[dict[str, Any]]) -> None:
    client, run_id = start(arena)
    job = the_job(client, run_id)
    before = stored(arena, job.job_id, 1)[0]
    arena.kill9("controller")
    time.sleep(3)  # the agent goes on measuring into its spool
    arena.start_controller(env=FAST_LIVENESS)
    restarted = time.monotonic()
    wait_until(lambda: stored(arena, job.job_id, 1)[0] > before, 60, "uploads to resume")
    recovery = time.monotonic() - restarted
    final = finish(client, run_id)
    assert final.state == "succeeded" and final.attempt == 1
    counts = stored(arena, job.job_id, 1)
    assert counts == (PROMPTS, PROMPTS)
    report.append(row("controller SIGKILL + restart", 1, PROMPTS, counts, recovery, final))
    client.close()


def test_network_cut_shorter_than_the_lease(arena: Processes, report: list[dict[str, Any]]) -> None:
    arena.start_controller(env=FAST_LIVENESS)
    with CuttableProxy(arena.port) as proxy:
        client, run_id = start_via(arena, proxy)
        job = the_job(client, run_id)
        for _ in range(2):
            proxy.set_cut(True)
            wait_until(lambda: client.agents()[0].status == "disconnected", 10, "disconnected")
            time.sleep(2)
            proxy.set_cut(False)
            restored = time.monotonic()
            seen = stored(arena, job.job_id, 1)[0]

            def resumed(seen: int = seen) -> bool:
                return stored(arena, job.job_id, 1)[0] > seen

            wait_until(resumed, 30, "resumed")
        recovery = time.monotonic() - restored
        final = finish(client, run_id)
    assert final.state == "succeeded" and final.attempt == 1  # disconnected is not lost
    counts = stored(arena, job.job_id, 1)
    assert counts == (PROMPTS, PROMPTS)
    report.append(row("network cut 3-4 s (< lease)", 2, PROMPTS, counts, recovery, final))
    client.close()


def start_via(arena: Processes, proxy: CuttableProxy) -> tuple[ArenaClient, str]:
    arena.start_agent("agent-1", controller=f"127.0.0.1:{proxy.port}")
    client = ArenaClient(arena.address, DEV_USER_TOKEN)
    wait_until(lambda: client.agents(), 30, "the agent to register")
    run_id, _ = client.submit(SUITE, "faults.yaml")
    wait_until(lambda: the_job(client, run_id).samples >= 20, 60, "samples to flow")
    return client, run_id


def test_network_cut_longer_than_the_lease(arena: Processes, report: list[dict[str, Any]]) -> None:
    arena.start_controller(env=FAST_LIVENESS)
    with CuttableProxy(arena.port) as proxy:
        client, run_id = start_via(arena, proxy)
        job = the_job(client, run_id)
        proxy.set_cut(True)
        wait_until(lambda: the_job(client, run_id).state == "queued", 30, "the lease to expire")
        proxy.set_cut(False)
        restored = time.monotonic()
        wait_until(
            lambda: (
                the_job(client, run_id).attempt == 2 and the_job(client, run_id).state == "running"
            ),
            60,
            "the retry",
        )
        recovery = time.monotonic() - restored
        final = finish(client, run_id)
    assert final.state == "succeeded" and final.attempt == 2
    counts = stored(arena, job.job_id, 2)
    assert counts == (PROMPTS, PROMPTS)
    assert "lease lost" in arena.log("agent-1") or "job cancelled" in arena.log("agent-1")
    report.append(row("network cut > lease (requeued)", 1, PROMPTS, counts, recovery, final))
    client.close()


def test_engine_killed_mid_run(arena: Processes, report: list[dict[str, Any]]) -> None:
    client, run_id = start(arena)
    job = the_job(client, run_id)
    [engine] = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "sim-faults" in " ".join(p.info["cmdline"] or [])
    ]
    engine.kill()
    final = finish(client, run_id)
    assert final.state == "failed"
    assert "killed by SIGKILL" in final.message
    generated = ended_samples(arena, "agent-1", job.job_id)
    counts = stored(arena, job.job_id, 1)
    assert counts == (generated, generated)
    report.append(row("engine SIGKILL mid-benchmark", 1, generated, counts, 0.0, final))
    client.close()


@pytest.fixture
def small_disk(tmp_path: Path, backend: str) -> Iterator[Path]:
    if backend == "postgres":
        pytest.skip("fills the disk under the SQLite file; PostgreSQL's disk is its server's")
    mount = tmp_path / "data"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    require(result.returncode == 0, f"a tmpfs mount (root): {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_controller_disk_full_for_a_while(
    arena: Processes, small_disk: Path, report: list[dict[str, Any]]
) -> None:
    client, run_id = start(arena)
    job = the_job(client, run_id)
    filler = small_disk / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
    time.sleep(4)
    full_seen = "storage unavailable" in arena.log("controller")
    filler.unlink()
    freed = time.monotonic()
    seen = stored(arena, job.job_id, 1)[0]
    wait_until(
        lambda: stored(arena, job.job_id, 1)[0] > seen or client.run(run_id).finished,
        60,
        "uploads to resume",
    )
    recovery = time.monotonic() - freed
    final = finish(client, run_id)
    assert full_seen, "the disk never filled up"
    assert final.state == "succeeded" and final.attempt == 1
    counts = stored(arena, job.job_id, 1)
    assert counts == (PROMPTS, PROMPTS)
    report.append(row("controller disk full ~4 s", 1, PROMPTS, counts, recovery, final))
    client.close()
