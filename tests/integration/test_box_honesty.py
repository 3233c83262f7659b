"""Box honesty end to end: a real job on the simulated engine whose decode slows between runs
(``decode_drift_pct_per_s``), with NVML's stand-in reporting an SM clock that falls and a
thermal throttle that starts part-way; the results say which runs slowed and which of client,
box or engine moved, and a shuffled run order is recorded and shown."""

import asyncio
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from arena.agent.hardware import probe
from arena.agent.settings import AgentSettings
from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.common.metrics.box import CLOCK_DROP_PCT
from arena.common.schemas.results import JobResult
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, lease_one_job, long_leases, run_leased
from tests.telemetry_nvml_double import FakeNvml

SUITE = """
name: box-test
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
    decode_step_ms: 5
    decode_drift_pct_per_s: {drift}
targets:
  - name: any
runs: 3
run_order: {order}
benchmarks:
  - kind: closed_loop
    id: chat
    pp: [64]
    tg: [40]
    concurrency: [1, 2]
    latency_mode: none
"""
THERMAL = 0x20  # sw_thermal_slowdown
C1, C2 = "pp64/tg40/d0/c1", "pp64/tg40/d0/c2"


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller", None)


async def run_job(
    controller: Controller, tmp_path: Path, suite: str, nvml: FakeNvml
) -> tuple[str, JobResult]:
    link, lease, run_id = await lease_one_job(controller, suite, "gpu-box", probe())
    settings = AgentSettings(
        state_dir=tmp_path / "agent", name="gpu-box", telemetry_interval_s=0.05
    )
    await run_leased(link, lease, settings, nvml)
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        results = await asyncio.to_thread(client.results, run_id)
    (job,) = results.jobs
    return run_id, job


async def show(controller: Controller, run_id: str) -> str:
    shown = await asyncio.to_thread(
        CliRunner().invoke, cli, ["--controller", address(controller), "show", run_id]
    )
    assert shown.exit_code == 0, shown.output
    return " ".join(shown.output.split())  # rich wraps long flags


async def test_a_slowing_engine_and_box_are_named_beside_the_spread(
    controller: Controller, tmp_path: Path
) -> None:
    nvml = FakeNvml(
        [300.0],
        sm_mhz_at=lambda t: 1980.0 - 150.0 * t,
        throttle_at=lambda t: THERMAL if t > 2.5 else 0,
    )
    suite = SUITE.format(drift=30, order="sequential")
    run_id, job = await run_job(controller, tmp_path, suite, nvml)
    assert job.state == "succeeded", job.message
    (bench,) = job.benchmarks
    by_key = {variant.key: variant for variant in bench.variants}
    for variant in by_key.values():
        assert variant.metrics["engine_tpot_ms"].n == 3
        assert variant.metrics["sm_clock_mhz"].n == 3
        assert variant.metrics["gpu_temp_max_c"].mean == 61
    drops = [v.metrics["sm_clock_drop_pct"].mean or 0.0 for v in by_key.values()]
    assert max(drops) > CLOCK_DROP_PCT  # each variant's later runs ran at slower clocks
    throttled = sum(
        (v.metrics["throttled_runs"].mean or 0) * v.metrics["throttled_runs"].n
        for v in by_key.values()
    )
    assert throttled >= 1
    flags = " | ".join(bench.flags)
    assert "box slowed in" in flags and "thermal/power throttle" in flags
    assert "disagree" in flags, flags
    assert "engine moved (engine TPOT" in flags
    assert "client TPOT tracks it" in flags
    assert re.search(r"client (moved|steady) \(loop lag p99 ≤ [0-9.]+ ms", flags), flags
    output = await show(controller, run_id)
    assert "engine moved (engine TPOT" in output
    assert "box slowed in" in output


async def test_a_steady_engine_is_said_steady(controller: Controller, tmp_path: Path) -> None:
    suite = SUITE.format(drift=0, order="sequential")
    _, job = await run_job(controller, tmp_path, suite, FakeNvml([300.0], throttle_mask=0))
    assert job.state == "succeeded", job.message
    (bench,) = job.benchmarks
    assert not any("box slowed" in flag for flag in bench.flags), bench.flags
    for variant in bench.variants:
        tpot = variant.metrics["engine_tpot_ms"]
        assert tpot.mean is not None and tpot.std is not None
        assert tpot.std / tpot.mean < 0.05  # the simulated engine's own speed did not move
        assert variant.metrics["throttled_runs"].mean == 0
        assert variant.metrics["sm_clock_drop_pct"].mean == 0


async def test_a_shuffled_order_is_recorded_and_shown(
    controller: Controller, tmp_path: Path
) -> None:
    suite = SUITE.format(drift=0, order="shuffled")
    run_id, job = await run_job(controller, tmp_path, suite, FakeNvml([300.0], throttle_mask=0))
    assert job.state == "succeeded", job.message
    record = job.provenance["run_order"]["chat"]
    assert record["order"] == "shuffled"
    pairs = record["runs"]
    sequential = [f"{v}#{r}" for v in (C1, C2) for r in range(3)]
    assert sorted(pairs) == sorted(sequential)
    assert pairs != sequential
    (bench,) = job.benchmarks
    assert {variant.key: variant.runs for variant in bench.variants} == {
        C1: 3,
        C2: 3,
    }
    output = await show(controller, run_id)
    assert "run order: shuffled: " + ", ".join(pairs) in output


OPEN_SUITE = """
name: box-open
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
    decode_step_ms: 5
targets:
  - name: any
runs: 2
seed: 7
benchmarks:
  - kind: open_loop
    id: rates
    input_len: 32
    output_len: 16
    num_prompts: 6
    request_rate: [20, 40]
    run_order: shuffled
"""


async def test_open_loop_runs_shuffle_and_keep_their_figures(
    controller: Controller, tmp_path: Path
) -> None:
    run_id, job = await run_job(controller, tmp_path, OPEN_SUITE, FakeNvml([300.0]))
    assert job.state == "succeeded", job.message
    pairs = job.provenance["run_order"]["rates"]["runs"]
    assert sorted(pairs) == ["rate20#0", "rate20#1", "rate40#0", "rate40#1"]
    (bench,) = job.benchmarks
    for variant in bench.variants:
        assert variant.runs == 2
        assert variant.metrics["engine_tpot_ms"].n == 2  # read around each run
        assert variant.metrics["throttled_runs"].mean == 1  # every run: the double's sw_power_cap
    assert any(flag.startswith("box slowed in 4 run(s)") for flag in bench.flags), bench.flags
