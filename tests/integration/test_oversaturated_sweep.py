"""A rate sweep against Arena's simulated engine with two batch slots: the step well below what
it completes settles, the step above it queues without end. The step above is flagged
over-saturated by name and capacity never reports it as sustained, even where its p95 TTFT
is under the limit."""

import asyncio
from pathlib import Path

import pytest
import yaml

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.agent.settings import AgentSettings
from arena.agent.simulated.server import running_server
from arena.client.api import ArenaClient
from arena.common.analysis.capacity import capacity_rows
from arena.common.schemas.engine import SimulatedEngine
from arena.common.schemas.policy import AgentPolicy
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, long_leases, run_leased

pytestmark = pytest.mark.slow

# two slots of 40 decode steps of ~10 ms: about 4 requests/s completed
SUITE = """
name: oversaturation
models: [{{name: tiny, engine: url}}]
engines:
  url: {{runtime: external, url: "{url}/v1"}}
runs: 1
benchmarks:
  - kind: open_loop
    id: 11-rate-sweep
    input_len: 16
    output_len: 40
    num_prompts: 1
    request_rate: [1.5, 12]
    min_duration_s: 10
    burstiness: 1.0
"""


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller")


async def test_a_step_above_what_the_engine_completes_is_flagged_and_never_capacity(
    controller: Controller, tmp_path: Path
) -> None:
    engine = SimulatedEngine(
        runtime="simulated", decode_step_ms=10, decode_step_ms_per_seq=0, max_batch=2
    )
    async with running_server(engine) as sim:
        policy = {"runtimes": ["external"], "external": {"hosts": [f"127.0.0.1:{sim.port}"]}}
        policy_file = tmp_path / "agent-policy.yaml"
        policy_file.write_text(yaml.safe_dump(policy))
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            run_id, _ = await asyncio.to_thread(
                client.submit, SUITE.format(url=sim.url), "sweep.yaml"
            )
        link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
        owner = AgentPolicy.model_validate(policy)
        await link.register("sweep-box", probe(), {}, {"arena": "test"}, policy=owner)
        lease = await link.lease(5.0)
        assert lease is not None
        settings = AgentSettings(
            state_dir=tmp_path / "agent", name="sweep-box", policy_file=policy_file
        )
        await run_leased(link, lease, settings)
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            results = await asyncio.to_thread(client.results, run_id)
    [job] = results.jobs
    assert job.state == "succeeded", job.message
    [sweep] = job.benchmarks
    low, high = sweep.variants
    assert (low.key, high.key) == ("rate1.5", "rate12")
    assert low.metrics["oversaturated"].mean == 0.0
    assert high.metrics["oversaturated"].mean == 1.0
    assert sweep.valid
    flag = "over-saturated at 12 req/s: requests in flight and TTFT kept growing"
    assert any(f.startswith(flag) for f in sweep.flags), sweep.flags

    rows = capacity_rows([results], max_error_rate=0.1)
    assert rows and all(row.status == "ok" for row in rows), rows
    assert {row.point.configured_rps for row in rows if row.point} == {1.5}
    assert all("left out: 12 req/s (over-saturated: no steady state)" in r.note for r in rows)
