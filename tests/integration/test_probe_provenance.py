"""A prober's attack on provenance, against a real controller on loopback: Arena's simulated
engine reached as an external endpoint (``arenactl bench`` against ``arena-sim``, or a suite's
``external`` URL) is labelled simulated by the agent in the signed provenance. The import read
``simulated`` from the signed spec's runtime only, so an untouched export of such a run was
refused as broken, and the same folder with meta.json's ``simulated`` set to false imported
``verified`` as real hardware and ranked."""

import asyncio
import json
from pathlib import Path

import pytest
import yaml

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.agent.settings import AgentSettings
from arena.agent.simulated.server import running_server
from arena.client.api import ArenaClient
from arena.common.provenance.keys import load_or_create_key, public_bytes
from arena.common.schemas.engine import SimulatedEngine
from arena.common.schemas.policy import AgentPolicy
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, long_leases, run_leased
from tests.integration.test_import_provenance import arenactl, imported_job, ranked, shown

SUITE = """
name: sim-behind-a-url
models: [{{name: tiny, engine: url}}]
engines:
  url: {{runtime: external, url: "{url}/v1"}}
runs: 1
benchmarks:
  - {{kind: closed_loop, id: 01-chat, pp: [64], tg: [16], concurrency: [1]}}
"""


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller")


async def exported_external_simulated_run(controller: Controller, tmp_path: Path) -> Path:
    state = tmp_path / "agent"
    key = load_or_create_key(state)
    async with running_server(SimulatedEngine(runtime="simulated", decode_step_ms=1)) as sim:
        policy = {"runtimes": ["external"], "external": {"hosts": [f"127.0.0.1:{sim.port}"]}}
        policy_file = tmp_path / "agent-policy.yaml"
        policy_file.write_text(yaml.safe_dump(policy))
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            run_id, _ = await asyncio.to_thread(client.submit, SUITE.format(url=sim.url), "s.yaml")
        link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
        owner = AgentPolicy.model_validate(policy)
        await link.register("sim-url-box", probe(), {}, {"arena": "test"}, public_bytes(key), owner)
        lease = await link.lease(5.0)
        assert lease is not None
        settings = AgentSettings(state_dir=state, name="sim-url-box", policy_file=policy_file)
        await run_leased(link, lease, settings)
    assert (await shown(controller, run_id))["simulated"] is True
    out = tmp_path / "export"
    code, text = await arenactl(controller, DEV_USER_TOKEN, "export", run_id, str(out))
    assert code == 0, text
    return next(out.rglob("manifest.json")).parent


async def test_a_simulated_engine_behind_a_url_stays_simulated_through_import(
    controller: Controller, tmp_path: Path
) -> None:
    folder = await exported_external_simulated_run(controller, tmp_path)
    meta = folder / "meta.json"
    original = meta.read_text()
    laundered = json.loads(original)
    laundered["arena"]["simulated"] = False
    meta.write_text(json.dumps(laundered))
    code, report = await imported_job(controller, folder)
    assert code == 1, report  # meta.json disagrees with the signed provenance
    meta.write_text(original)
    code, report = await imported_job(controller, folder)
    assert code == 0, report
    (run,) = report["runs"]
    assert run["verified_by"].startswith("agent sim-url-box"), run
    assert (await shown(controller, run["run_id"]))["simulated"] is True
    assert await ranked(controller) == []
