"""Cost and energy per output token read on a real job: a closed loop (simulated engine,
NVML's stand-in) run through a real controller and SQLite; the stored result is then read as
a real engine's would be (``simulated`` off: the ranking refuses simulated numbers)."""

from pathlib import Path

import pytest

from arena.agent.hardware import probe
from arena.agent.settings import AgentSettings
from arena.common.analysis.cost import JOULES_PER_KWH, entry_costs
from arena.common.schemas.agent import GpuInfo
from arena.common.schemas.results import JobResult
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import lease_one_job, long_leases, run_leased
from tests.integration.test_telemetry import results_of
from tests.telemetry_nvml_double import FakeNvml

PRICE = 2.5
WATTS = 300.0
SUITE = """
name: cost-test
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
    prefill_tokens_per_s: 2000
    decode_step_ms: 10
targets:
  - name: any
runs: 2
benchmarks:
  - kind: closed_loop
    id: chat
    pp: [512]
    tg: [32]
    concurrency: [2]
    latency_mode: none
"""


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller", None)


def as_real(job: JobResult, box_gpus: int, **provenance: object) -> JobResult:
    assert job.hardware_detail is not None
    hardware = job.hardware_detail.model_copy(
        update={"gpus": [GpuInfo(name="H100", memory_gb=80.0)] * box_gpus}
    )
    return job.model_copy(
        update={
            "simulated": False,
            "hardware_detail": hardware,
            "provenance": {**job.provenance, **provenance},
        }
    )


async def test_cost_is_read_on_wall_clock_output_and_the_engines_gpus(
    controller: Controller, tmp_path: Path
) -> None:
    link, lease, run_id = await lease_one_job(controller, SUITE, "gpu-box", probe())
    settings = AgentSettings(
        state_dir=tmp_path / "agent", name="gpu-box", telemetry_interval_s=0.05
    )
    await run_leased(link, lease, settings, FakeNvml([WATTS]))
    job = await results_of(controller, run_id)
    assert job.state == "succeeded", job.message
    [variant] = job.benchmarks[0].variants
    wall = variant.metrics["output_throughput"].mean
    decode = variant.metrics["tg_throughput"].mean
    watts = variant.metrics["gpu_power_mean_w"].mean
    assert wall is not None and decode is not None and watts is not None
    assert wall < decode * 0.8  # prefill is charged: before, the cost was read on decode alone

    box_of_four = as_real(job, 4, gpus=2)  # the engine was given 2 of the box's 4
    [cost] = entry_costs([box_of_four], "chat", 1.0, PRICE).values()
    assert (cost.rate_key, cost.output_tps, cost.gpus) == ("output_throughput", wall, 2)
    assert cost.usd_per_mtok == pytest.approx(PRICE * 2 / (wall * 3600) * 1e6)
    assert cost.tokens_per_kwh == pytest.approx(wall / watts * JOULES_PER_KWH)
    assert cost.note == ""

    [unknown] = entry_costs([as_real(job, 4)], "chat", 1.0, PRICE).values()  # process runtime
    assert unknown.gpus == 4 and "the engine's own not recorded" in unknown.note

    cpu = as_real(job, 0)  # a CPU-only box: before, charged one GPU-hour
    [cost] = entry_costs([cpu], "chat", 1.0, PRICE).values()
    assert cost.gpus == 0 and cost.usd_per_mtok is None
    assert cost.note == "no GPU: no GPU-hour cost"
    given_none = as_real(job, 4, gpus=None)  # a container given no GPU on a GPU box
    [cost] = entry_costs([given_none], "chat", 1.0, PRICE).values()
    assert cost.gpus == 0 and cost.usd_per_mtok is None
