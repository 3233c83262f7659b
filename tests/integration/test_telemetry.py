"""GPU telemetry end to end on loopback: a real job (simulated engine) with NVML's stand-in,
streamed through the spool to a real controller and SQLite, energy figures in the results and
in arenactl; a host without a GPU says so; the telemetry stream is fenced and contiguous."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink, Lease
from arena.agent.settings import AgentSettings
from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.common.errors import ConflictError
from arena.common.schemas.results import JobResult
from arena.common.schemas.telemetry import GpuReading
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.databases import rows
from tests.direct_job import address, lease_one_job, long_leases, run_leased
from tests.telemetry_nvml_double import FakeNvml

pytestmark = pytest.mark.backends  # the store on SQLite and on PostgreSQL

SUITE = """
name: telemetry-test
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
targets:
  - name: any
runs: 2
benchmarks:
  - kind: closed_loop
    id: chat
    pp: [64]
    tg: [32]
    concurrency: [2]
"""
WATTS = 250.0


@pytest.fixture
def controller_settings(tmp_path: Path, database_url: str | None) -> ControllerSettings:
    return long_leases(tmp_path / "controller", database_url)


async def leased(controller: Controller) -> tuple[ControllerLink, Lease, str]:
    return await lease_one_job(controller, SUITE, "gpu-box", probe())


async def run_job(controller: Controller, tmp_path: Path, nvml: FakeNvml) -> tuple[str, str]:
    link, lease, run_id = await leased(controller)
    settings = AgentSettings(state_dir=tmp_path / "agent", name="gpu-box", telemetry_interval_s=0.1)
    await run_leased(link, lease, settings, nvml)
    return run_id, lease.job_id


async def results_of(controller: Controller, run_id: str) -> JobResult:
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        results = await asyncio.to_thread(client.results, run_id)
    (job,) = results.jobs
    return job


def stored(controller: Controller, query: str, **params: object) -> list[tuple[Any, ...]]:
    return rows(controller.settings.database, query, **params)


async def test_energy_per_benchmark_from_streamed_telemetry(
    controller: Controller, tmp_path: Path
) -> None:
    run_id, job_id = await run_job(controller, tmp_path, FakeNvml([WATTS]))
    job = await results_of(controller, run_id)
    assert job.state == "succeeded", job.message
    assert job.telemetry == "GPU telemetry: NVML, 1 GPU(s) every 0.1 s"
    assert job.hardware_detail is not None and job.hardware_detail.cpu_cores >= 1
    (bench,) = job.benchmarks
    energy = bench.energy
    assert energy is not None
    (start, end, tokens) = stored(
        controller,
        "SELECT MIN(sent_s), MAX(end_s), SUM(completion_tokens) FROM samples WHERE job_id = :job",
        job=job_id,
    )[0]
    assert isinstance(start, float) and isinstance(end, float) and isinstance(tokens, int)
    assert energy.window_s == pytest.approx(end - start)
    assert energy.output_tokens == tokens > 0
    assert energy.energy_source == "energy counter"
    assert energy.mean_power_w == pytest.approx(WATTS, rel=0.05)
    assert energy.peak_power_w == pytest.approx(WATTS)
    assert energy.counter_discrepancy_pct is not None and abs(energy.counter_discrepancy_pct) < 5
    assert energy.energy_j is not None
    assert energy.joules_per_output_token == pytest.approx(energy.energy_j / tokens)
    # readings: one tick at start, ~10 per second, one at stop; all on the samples' clock
    times = [
        t
        for (t,) in stored(controller, "SELECT t_s FROM telemetry WHERE job_id = :job", job=job_id)
    ]
    assert min(times) <= start and max(times) >= end
    seqs = stored(
        controller, "SELECT seq FROM telemetry WHERE job_id = :job ORDER BY seq", job=job_id
    )
    assert [s for (s,) in seqs] == list(range(1, len(seqs) + 1))
    row = stored(
        controller,
        "SELECT power_w, gpu_util_pct, sm_mhz, temp_c, throttle_mask, throttle_reasons "
        "FROM telemetry WHERE job_id = :job LIMIT 1",
        job=job_id,
    )[0]
    assert row[:5] == (WATTS, 97.0, 1980.0, 61.0, 4)
    reasons = row[5]  # JSON: text from SQLite, parsed by psycopg
    assert (json.loads(reasons) if isinstance(reasons, str) else reasons) == ["sw_power_cap"]

    shown = await asyncio.to_thread(
        CliRunner().invoke, cli, ["--controller", address(controller), "show", run_id]
    )
    assert shown.exit_code == 0, shown.output
    assert "Power and energy per benchmark" in shown.output
    assert "GPU telemetry: NVML" in shown.output
    assert "hardware: CPU" in shown.output
    as_json = await asyncio.to_thread(
        CliRunner().invoke, cli, ["--controller", address(controller), "show", run_id, "-o", "json"]
    )
    document = json.loads(as_json.output)
    assert document["jobs"][0]["benchmarks"][0]["energy"]["output_tokens"] == tokens


async def test_a_host_without_a_gpu_says_so_and_has_no_energy(
    controller: Controller, tmp_path: Path
) -> None:
    run_id, job_id = await run_job(
        controller, tmp_path, FakeNvml([], fail_init="Driver Not Loaded")
    )
    job = await results_of(controller, run_id)
    assert job.state == "succeeded", job.message
    assert job.telemetry == "no GPU telemetry (NVML unavailable: Driver Not Loaded)"
    assert all(bench.energy is None for bench in job.benchmarks)
    assert stored(controller, "SELECT COUNT(*) FROM telemetry WHERE job_id = :job", job=job_id) == [
        (0,)
    ]
    shown = await asyncio.to_thread(
        CliRunner().invoke, cli, ["--controller", address(controller), "show", run_id]
    )
    assert "no GPU telemetry" in shown.output
    assert "Power and energy" not in shown.output


def reading(t: float) -> GpuReading:
    return GpuReading(t_s=t, gpu=0, power_w=100.0)


async def test_telemetry_batches_are_contiguous_and_fenced(controller: Controller) -> None:
    link, lease, _ = await leased(controller)
    job, attempt = lease.job_id, lease.attempt
    assert await link.push_telemetry(job, attempt, 1, [reading(0), reading(1)]) == 2
    assert await link.push_telemetry(job, attempt, 2, [reading(1), reading(2)]) == 3  # overlap
    assert await link.push_telemetry(job, attempt, 6, [reading(5)]) == 3  # gap: nothing stored
    with pytest.raises(ConflictError, match="stale attempt"):
        await link.push_telemetry(job, attempt + 1, 1, [reading(0)])
    seqs = stored(
        controller, "SELECT seq, t_s FROM telemetry WHERE job_id = :job ORDER BY seq", job=job
    )
    assert seqs == [(1, 0.0), (2, 1.0), (3, 2.0)]
    await link.close()
