"""A job whose engine process dies mid-run fails with the cause its log gave (the first
error-level line), not with what the runner said last: the engine's crash here logs
"CUDA error: out of memory", then forty lines of shutdown chatter that push it out of the
tail a failure message quotes, and exits 1 at the start of the second benchmark."""

import asyncio
from pathlib import Path

import pytest

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.agent.policy import load_policy
from arena.agent.settings import AgentSettings
from arena.agent.simulated.server import running_server
from arena.client.api import ArenaClient
from arena.common.schemas.engine import SimulatedEngine
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.conftest import REPO
from tests.direct_job import address, long_leases, run_leased
from tests.policy_files import write_policy

ENGINE = REPO / "tests" / "data" / "engines" / "dying_proxy.py"
SUITE = """
name: dies-mid-run
models: [{name: arena-sim, engine: dying}]
engines:
  dying: {runtime: process, recipe: dying, startup_timeout_s: 30}
runs: 1
quick: 0.05
suite: arena-v1
only: [01-chat, 03-long-output]
"""


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller")


@pytest.mark.parametrize("mode", ["plain", "chatty"])
async def test_an_engine_that_dies_mid_run_fails_the_job_with_its_root_cause(
    controller: Controller, tmp_path: Path, mode: str
) -> None:
    """``chatty``: the engine also logged prompts that read like errors at INFO and a stale
    error line long before it died: the message leads with the root cause, quoting neither."""
    engine = SimulatedEngine(runtime="simulated", decode_step_ms=1)
    async with running_server(engine) as sim:
        recipe = {
            "command": ["/usr/bin/python3", "{engine}", "{port}", "{upstream}", mode],
            "args": {
                "engine": {"type": "choice", "choices": [str(ENGINE)], "default": str(ENGINE)},
                "upstream": {"type": "choice", "choices": [sim.url], "default": sim.url},
            },
        }
        policy = {"runtimes": ["process"], "process": {"recipes": {"dying": recipe}}}
        policy_file = write_policy(tmp_path, policy)
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            run_id, _ = await asyncio.to_thread(client.submit, SUITE, "dies.yaml")
        link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
        owner = load_policy(policy_file)
        await link.register("dying-box", probe(), {}, {"arena": "test"}, policy=owner)
        lease = await link.lease(5.0)
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            why = await asyncio.to_thread(client.run, run_id)
        assert lease is not None, why
        settings = AgentSettings(
            state_dir=tmp_path / "agent", name="dying-box", policy_file=policy_file
        )
        await run_leased(link, lease, settings)
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            results = await asyncio.to_thread(client.results, run_id)
    [job] = results.jobs
    assert job.state == "failed"
    first_line = job.message.splitlines()[0]
    assert "CUDA error: out of memory" in first_line, job.message
    assert "exited with code 1" in job.message
    assert "prompt" not in job.message and "bad grammar" not in job.message
