"""An agent told to use several client processes (``client_workers``) runs its open-loop runs
through them, end to end: every request measured once, the results complete."""

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from arena.agent.hardware import probe
from arena.agent.settings import AgentSettings
from arena.client.api import ArenaClient
from arena.common.metrics.client_load import run_figures_of
from arena.common.schemas.agent import ClientHeadroom
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, lease_one_job, long_leases, run_leased

SUITE = """
name: client-workers
models: [{name: tiny, engine: sim}]
engines: {sim: {runtime: simulated}}
runs: 2
benchmarks:
  - {kind: open_loop, id: office, input_len: 16, output_len: 4, num_prompts: 12,
     request_rate: [40]}
"""


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller")


def test_client_workers_must_be_at_least_one() -> None:
    with pytest.raises(ValidationError):
        AgentSettings(client_workers=0)


async def test_open_loop_runs_spread_over_the_agents_client_workers(
    controller: Controller, tmp_path: Path
) -> None:
    link, lease, run_id = await lease_one_job(controller, SUITE, "workers-box", probe())
    settings = AgentSettings(state_dir=tmp_path / "agent", name="workers-box", client_workers=2)
    with capture_logs() as logs:
        await run_leased(link, lease, settings, headroom=ClientHeadroom(requests_per_s=400.0))

    spread = [e for e in logs if e["event"] == "open loop workers done"]
    assert [(e["run"], e["workers"]) for e in spread] == [(0, 2), (1, 2)]
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        results = await asyncio.to_thread(client.results, run_id)
    [job] = results.jobs
    [office] = job.benchmarks
    [variant] = office.variants
    assert variant.metrics["completed"].mean == 12  # per run, each request once
    assert variant.metrics["failed"].mean == 0
    for run in (0, 1):  # each worker watched its own loop; the worst is what the run reports
        figures = run_figures_of(job.provenance, "office", "rate40", run)
        assert figures is not None and figures.cpu_util is not None
        assert figures.loop_lag_max_ms is not None
        assert figures.loop_lag_p99_ms is not None and figures.read_stall_p99_ms is not None
        assert figures.headroom_used_pct == 10.0  # 40 req/s of the agent's 400
    assert variant.metrics["client_headroom_used_pct"].mean == 10.0
