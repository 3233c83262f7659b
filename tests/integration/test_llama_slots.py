"""A real llama-server started with 2 slots sharing a 2048-token context (``-np 2 -c 2048``):
the agent records its slots from ``/props`` and a closed loop at concurrency 4 is warned that
half its requests queued inside the engine, as ``arenactl show`` prints them."""

import asyncio
import io
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.agent.settings import AgentSettings
from arena.client.api import ArenaClient
from arena.client.render import show_results
from arena.common.schemas.policy import AgentPolicy
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, long_leases, run_leased
from tests.integration.test_llama_prefix_cache import llama_server

pytestmark = pytest.mark.slow

SUITE = """
name: slots
models: [{{name: tiny, engine: llama, random_weights: true}}]
engines:
  llama: {{runtime: external, url: "{url}/v1"}}
runs: 1
benchmarks:
  - {{kind: closed_loop, id: queued, pp: [32], tg: [8], concurrency: [4], exact_tg: true}}
  - {{kind: closed_loop, id: fits, pp: [32], tg: [8], concurrency: [2], warmup: false}}
"""


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller")


async def test_concurrency_above_the_slots_is_flagged(
    controller: Controller, tmp_path: Path
) -> None:
    async with llama_server(parallel=2, context=2048) as url:
        host = url.removeprefix("http://")
        policy = {"runtimes": ["external"], "external": {"hosts": [host]}}
        policy_file = tmp_path / "agent-policy.yaml"
        policy_file.write_text(yaml.safe_dump(policy))
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            run_id, _ = await asyncio.to_thread(client.submit, SUITE.format(url=url), "s.yaml")
        link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
        owner = AgentPolicy.model_validate(policy)
        await link.register("slots-box", probe(), {}, {"arena": "test"}, policy=owner)
        lease = await link.lease(5.0)
        assert lease is not None
        settings = AgentSettings(
            state_dir=tmp_path / "agent", name="slots-box", policy_file=policy_file
        )
        await run_leased(link, lease, settings)
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            results = await asyncio.to_thread(client.results, run_id)
    [job] = results.jobs
    assert job.state == "succeeded", job.message
    # -c 2048 split over 2 slots (no --kv-unified): 1024 tokens each
    assert job.provenance["engine_slots"] == {"slots": 2, "slot_context": 1024}
    queued, fits = job.benchmarks
    assert queued.exact_tg  # (its validity is the box's and the cache's: not judged here)
    slot_flag = (
        "warning: engine serves 2 requests at once (llama.cpp slots) but concurrency 4: "
        "the rest queue inside the engine"
    )
    assert slot_flag in queued.flags
    assert not any("llama.cpp slots" in flag for flag in fits.flags), fits.flags
    out = io.StringIO()
    show_results(Console(file=out, width=300), results)
    text = out.getvalue()
    assert "engine slots: 2 requests at once, 1024 tokens each" in text
    assert text.count("llama.cpp slots") == 1
