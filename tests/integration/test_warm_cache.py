"""The warm-cache trap, end to end: a session benchmark that declares ``prefix_cache: off``,
sent to an endpoint that does not take the request-level off switch (``accepts_ignore_eos:
false``, so no ``cache_prompt: false``) whose engine (Arena's simulated one) caches prompts.
Its own counters say most prompt tokens came from the cache: the benchmark is served as
invalid, flagged, and gets no capacity; the cache-on benchmark beside it is fine."""

import asyncio
from pathlib import Path

import pytest
import yaml

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.agent.settings import AgentSettings
from arena.agent.simulated.server import running_server
from arena.client.api import ArenaClient
from arena.common.metrics.validity import WARM_CACHE_HIT_PCT
from arena.common.schemas.engine import SimulatedEngine
from arena.common.schemas.policy import AgentPolicy
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, long_leases, run_leased

SESSIONS = """
    trace:
      profile: chat
      sessions: 4
      params: {{turns_min: 3, turns_max: 3, user_tokens_min: 20, user_tokens_max: 30,
                answer_tokens_min: 8, answer_tokens_max: 12}}
    users: [2]
    step_s: 1
    think_scale: 0"""
SUITE = f"""
name: warm-cache
models: [{{{{name: tiny, engine: url}}}}]
engines:
  url: {{{{runtime: external, url: "{{url}}/v1", accepts_ignore_eos: false}}}}
runs: 1
benchmarks:
  - kind: sessions
    id: 01-cold-claimed
    prefix_cache: off{SESSIONS}
  - kind: sessions
    id: 02-cache-on
    prefix_cache: on{SESSIONS}
"""


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller")


async def test_a_cache_off_benchmark_served_warm_is_invalid_and_has_no_capacity(
    controller: Controller, tmp_path: Path
) -> None:
    engine = SimulatedEngine(runtime="simulated", decode_step_ms=1, prefix_cache=True)
    async with running_server(engine) as sim:
        policy = {"runtimes": ["external"], "external": {"hosts": [f"127.0.0.1:{sim.port}"]}}
        policy_file = tmp_path / "agent-policy.yaml"
        policy_file.write_text(yaml.safe_dump(policy))
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            suite = SUITE.format(url=sim.url)
            run_id, _ = await asyncio.to_thread(client.submit, suite, "warm.yaml")
        link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
        owner = AgentPolicy.model_validate(policy)
        await link.register("warm-box", probe(), {}, {"arena": "test"}, policy=owner)
        lease = await link.lease(5.0)
        assert lease is not None
        settings = AgentSettings(
            state_dir=tmp_path / "agent", name="warm-box", policy_file=policy_file
        )
        await run_leased(link, lease, settings)
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            results = await asyncio.to_thread(client.results, run_id)
    [job] = results.jobs
    assert job.state == "succeeded", job.message
    warm, on = job.benchmarks

    engine_pct = warm.engine_metrics.get("prefix_cache_hit_pct")
    assert engine_pct is not None and engine_pct > WARM_CACHE_HIT_PCT, warm.engine_metrics
    assert warm.prefix_cache == "off" and not warm.valid
    assert f"served from a warm prefix cache ({engine_pct:.1f} % of prompt tokens)" in " ".join(
        warm.flags
    )
    client_pct = warm.variants[0].metrics["cache_hit_pct"].mean
    assert client_pct is not None and client_pct > WARM_CACHE_HIT_PCT  # usage says so too
    assert warm.agent_capacity is not None
    assert set(warm.agent_capacity.capacity.values()) == {None}
    assert warm.agent_capacity.note.startswith("no capacity")

    assert on.prefix_cache == "on" and on.valid, on.flags
    assert on.agent_capacity is not None and not on.agent_capacity.note.startswith("no capacity")
