"""A whole job against an engine whose usage exceeds ``max_tokens`` (issue 24, must-have 2),
through a real controller and the agent's job execution, the engine being the paced
``bench.instant_server`` in its own process: 20 reasoning chunks then the answer, 64 tokens
streamed, usage saying 80.

Before: the controller refused every sample batch ("completion_tokens 80 > max_tokens 64"), the
agent waited out its flush timeout and the job failed "TimeoutError: TimeoutError" with none of
its samples kept. Now the job succeeds, every sample is kept, the metrics use the tokenizer's
64, and the results say what happened: usage over max_tokens, usage disagreeing with the
tokenizer, reasoning before content.
"""

import asyncio
from pathlib import Path

import pytest
import yaml

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.agent.settings import AgentSettings
from arena.client.api import ArenaClient
from arena.common.schemas.policy import AgentPolicy
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from bench.common import instant_server
from tests.direct_job import address, long_leases, run_leased

SUITE = """
name: usage-over-max
models: [{{name: tiny, engine: url}}]
engines:
  url: {{runtime: external, url: "{url}/v1"}}
runs: 2
benchmarks:
  - {{kind: closed_loop, id: 01-batch, pp: [16], tg: [64], concurrency: [2],
      latency_mode: none, warmup: false}}
  - {{kind: open_loop, id: 02-rate, input_len: 16, output_len: 64, num_prompts: 3,
      request_rate: [20]}}
"""
QUIRKS = ["--reasoning-chunks", "20", "--usage-completion-tokens", "80"]


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller")


async def test_a_usage_past_max_tokens_keeps_the_job_and_its_samples_and_is_flagged(
    controller: Controller, tmp_path: Path
) -> None:
    with instant_server(pace_ms=(20.0, 2.0), quirks=QUIRKS) as url:
        host = url.removeprefix("http://")
        policy = {"runtimes": ["external"], "external": {"hosts": [host]}}
        policy_file = tmp_path / "agent-policy.yaml"
        policy_file.write_text(yaml.safe_dump(policy))
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            run_id, _ = await asyncio.to_thread(client.submit, SUITE.format(url=url), "u.yaml")
        link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
        owner = AgentPolicy.model_validate(policy)
        await link.register("lying-box", probe(), {}, {"arena": "test"}, policy=owner)
        lease = await link.lease(5.0)
        assert lease is not None
        settings = AgentSettings(
            state_dir=tmp_path / "agent", name="lying-box", policy_file=policy_file
        )
        await asyncio.wait_for(run_leased(link, lease, settings), 90)
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            results = await asyncio.to_thread(client.results, run_id)
    [job] = results.jobs
    assert job.state == "succeeded", job.message
    closed, rate = job.benchmarks
    for bench, requests in ((closed, 4), (rate, 6)):  # 2 runs of 2 and of 3: all kept
        [variant] = bench.variants
        assert bench.valid, bench.flags
        notes = " | ".join(bench.flags)
        assert f"usage exceeded max_tokens in {requests} requests" in notes
        assert "usage disagrees with the tokenizer by 25.0 %" in notes  # |80 − 64| / 64
        assert f"reasoning came first in {requests} of {requests} requests" in notes
        assert variant.metrics["usage_over_max"].mean == requests / 2
        assert variant.metrics["mean_reasoning_tokens"].mean == 20
    assert rate.variants[0].metrics["total_output_tokens"].mean == 3 * 64  # counted, not 80
    ttft, ttfc = (closed.variants[0].metrics[key].mean for key in ("e2e_ttft", "e2e_ttfc"))
    assert ttft is not None and ttfc is not None
    assert ttft < ttfc and ttfc >= 20.0 + 20 * 2.0 - 1.0  # the server is never early
