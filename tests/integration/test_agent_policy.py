"""The controller and each agent's policy, against a real controller on loopback: an agent is
leased only what its owner allows, a job nobody admits says why it waits, arenactl shows the
policies and names the agents that would refuse a suite, an agent's refusal ends the job."""

import asyncio
import json
import urllib.request
from html import escape as html_escape
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.agent.settings import AgentSettings
from arena.agent.worker import Agent
from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.common.errors import InvalidRequestError
from arena.common.policy import REFUSED
from arena.common.schemas.job import JobState
from arena.common.schemas.policy import AgentPolicy, ExternalPolicy
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address
from tests.integration.test_arenactl_commands import ctl
from tests.support import ControllerThread

pytestmark = pytest.mark.backends  # the store on SQLite and on PostgreSQL

SUITE = """
name: policy-test
models:
  - name: tiny.gguf
    engine: recipe
  - name: served
    engine: image
  - name: remote
    engine: endpoint
engines:
  recipe:
    runtime: process
    recipe: llama
    args: {ctx: 8192}
  image:
    runtime: docker
    image: vllm/vllm-openai:v0.9.0
    command: vllm serve {model} --port {port}
  endpoint:
    runtime: external
    url: http://127.0.0.1:9/v1
targets:
  - name: any
runs: 1
benchmarks:
  - kind: closed_loop
    id: chat
    pp: [16]
    tg: [8]
    concurrency: [1]
"""
OWNER = AgentPolicy.model_validate(
    {
        "runtimes": ["simulated", "docker", "process", "external"],
        "models_dir": "/models",
        "docker": {"images": [{"repository": "vllm/vllm-openai"}]},
        "process": {
            "recipes": {
                "llama": {
                    "command": [
                        "/usr/bin/llama-server",
                        "-m",
                        "{model_path}",
                        "--port",
                        "{port}",
                        "-c",
                        "{ctx}",
                    ],
                    "args": {"ctx": {"type": "int", "min": 512, "max": 131072}},
                }
            }
        },
        "external": {"hosts": ["127.0.0.1:9"]},
    }
)
DEFAULT_REFUSALS = {
    "process": "runtime process is not allowed (allowed: simulated, docker)",
    "docker": "image vllm/vllm-openai is not allowed (allowed: none)",
    "external": "runtime external is not allowed (allowed: simulated, docker)",
}
"""Why an agent without a policy file refuses each job of SUITE."""


async def submit(controller: Controller, suite: str = SUITE) -> str:
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        run_id, _ = await asyncio.to_thread(client.submit, suite, "policy.yaml")
    return run_id


async def registered(
    controller: Controller, name: str, policy: AgentPolicy | None = None
) -> ControllerLink:
    link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
    await link.register(name, probe(), {}, {"arena": "test"}, policy=policy)
    return link


def output(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def test_an_agent_is_leased_only_what_its_owners_policy_admits(
    controller: Controller,
) -> None:
    plain = await registered(controller, "plain")  # no policy file: the safe defaults
    run_id = await submit(controller)
    assert await plain.lease(0.5) is None  # before: leased the process job at once

    jobs = output(await ctl(controller, "jobs", run_id, "-o", "json"))
    assert isinstance(jobs, list)
    waiting = {job["engine"]: job["message"] for job in jobs}
    assert waiting == {
        runtime: f"no agent's policy admits this job: plain: {reason}"
        for runtime, reason in DEFAULT_REFUSALS.items()
    }
    described = await ctl(controller, "describe", jobs[0]["job_id"])
    assert "no agent's policy admits this job: plain: runtime process" in described.output

    owner = await registered(controller, "owner", OWNER)
    taken = []
    for _ in range(3):
        lease = await owner.lease(5.0)
        assert lease is not None
        taken.append(lease.spec.engine.runtime)
        await owner.report(lease.job_id, lease.attempt, JobState.FAILED, "done with it")
        assert await plain.lease(0.2) is None
    assert taken == ["process", "docker", "external"]
    await plain.close()
    await owner.close()


async def test_arenactl_agents_shows_each_agents_policy(
    controller: Controller, tmp_path: Path
) -> None:
    """A real agent reads its policy file and registers with it; one without a file, and an
    agent too old to send one, show the defaults."""
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(OWNER.model_dump(mode="json")))
    settings = AgentSettings(
        controller=address(controller),
        name="owner",
        state_dir=tmp_path / "owner",
        policy_file=policy_file,
        lease_wait_s=0.5,
    )
    agent = Agent(settings)
    running = asyncio.create_task(agent.run())
    plain = ControllerLink(address(controller), DEV_AGENT_TOKEN)
    await plain.register("old", probe(), {}, {"arena": "test"})  # no policy field at all
    try:
        for _ in range(100):
            listed = output(await ctl(controller, "agents", "-o", "json"))
            assert isinstance(listed, list)
            if len(listed) == 2:
                break
            await asyncio.sleep(0.1)
        policies = {agent["name"]: agent["policy"] for agent in listed}
        assert policies == {
            "owner": OWNER.model_dump(mode="json"),
            "old": AgentPolicy().model_dump(mode="json"),
        }
        table = await ctl(controller, "agents")
        assert table.exit_code == 0, table.output
        assert "process: llama" in table.output and "external: 127.0.0.1:9" in table.output
        assert "docker: no images" in table.output  # the old agent: the defaults
    finally:
        agent.shutdown()
        await asyncio.wait_for(running, 30)
        await plain.close()


async def test_validate_names_the_agents_that_refuse_a_suite_and_why(
    controller: Controller, tmp_path: Path
) -> None:
    plain = await registered(controller, "plain")
    owner = await registered(controller, "owner", OWNER)
    path = tmp_path / "policy.yaml"
    path.write_text(SUITE)

    plan = output(await ctl(controller, "validate", str(path), "-o", "json"))
    assert isinstance(plan, dict)
    assert [(job["engine"], job["admitting"], job["refusing"]) for job in plan["admission"]] == [
        (runtime, ["owner"], [{"agent": "plain", "reasons": [reason]}])
        for runtime, reason in DEFAULT_REFUSALS.items()
    ]
    table = await ctl(controller, "validate", str(path))
    assert table.exit_code == 0, table.output
    assert "plain: runtime process is not allowed" in table.output
    assert "owner" in table.output

    submitted = await ctl(controller, "submit", str(path))
    assert submitted.exit_code == 0, submitted.output  # owner admits all: no warning
    assert "warning" not in submitted.stderr
    await owner.close()
    owner = await registered(controller, "owner", AgentPolicy())  # its owner changed his mind
    submitted = await ctl(controller, "submit", str(path))
    assert submitted.exit_code == 0, submitted.output
    warnings = [line for line in submitted.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 3 and all("no agent's policy admits this job" in w for w in warnings)

    nobody = ["--controller", "127.0.0.1:1", "validate", str(path), "-o", "json"]
    plan = output(await asyncio.to_thread(CliRunner().invoke, cli, nobody))
    assert isinstance(plan, dict)
    assert plan["admission"] is None and len(plan["jobs"]) == 3
    assert any("could not ask the controller" in note for note in plan["notes"])
    await plain.close()
    await owner.close()


async def test_a_refusal_the_agent_reports_ends_the_job_with_its_reason(
    controller: Controller,
) -> None:
    """The controller admitted it, the box did not (a check only the box can make): the job
    fails with the agent's reason and is not handed to the next admitting agent."""
    only_process = SUITE.split("  - name: served")[0] + SUITE.split("    engine: endpoint\n")[1]
    run_id = await submit(controller, only_process)
    first = await registered(controller, "first", OWNER)
    lease = await first.lease(5.0)
    assert lease is not None
    await first.report(lease.job_id, lease.attempt, JobState.RUNNING, "starting engine")
    reason = f"{REFUSED}: model /models/tiny.gguf does not exist"
    await first.report(lease.job_id, lease.attempt, JobState.FAILED, reason)

    second = await registered(controller, "second", OWNER)
    assert await second.lease(1.0) is None
    jobs = output(await ctl(controller, "jobs", run_id, "-o", "json"))
    assert isinstance(jobs, list)
    assert [(job["state"], job["attempt"], job["message"]) for job in jobs] == [
        ("failed", 1, reason)
    ]
    await first.close()
    await second.close()


async def test_a_malformed_or_oversized_policy_is_refused_at_registration(
    controller: Controller,
) -> None:
    link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
    malformed = AgentPolicy.model_construct(runtimes=["anything"])  # type: ignore[list-item]  # skips validation
    with pytest.raises(InvalidRequestError, match=r"policy: (?s:.*)runtimes"):
        await link.register("bad", probe(), {}, {}, policy=malformed)
    shouting = AgentPolicy(runtimes=["external"], external=ExternalPolicy(hosts=["a\x1b[2Jb"]))
    with pytest.raises(InvalidRequestError, match=r"policy.external.hosts: holds the control"):
        await link.register("bad", probe(), {}, {}, policy=shouting)
    hosts = [f"{index:03d}." + "h" * 250 for index in range(300)]
    oversized = AgentPolicy(runtimes=["external"], external=ExternalPolicy(hosts=hosts))
    with pytest.raises(InvalidRequestError, match="at most 65536"):
        await link.register("big", probe(), {}, {}, policy=oversized)
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        assert await asyncio.to_thread(client.agents) == []
    await link.close()


def test_the_dashboard_shows_each_agents_policy(tmp_path: Path) -> None:
    settings = ControllerSettings(
        listen="127.0.0.1:0", data_dir=tmp_path / "controller", dashboard="127.0.0.1:0"
    )
    with ControllerThread(settings) as running:
        base = (running.controller.dashboard_url or "").rstrip("/")

        async def register() -> None:
            link = ControllerLink(running.address, DEV_AGENT_TOKEN)
            await link.register("owner", probe(), {}, {"arena": "test"}, policy=OWNER)
            await link.close()

        asyncio.run(register())
        with urllib.request.urlopen(f"{base}/agents", timeout=30) as page:
            html = page.read().decode()
        with urllib.request.urlopen(f"{base}/api/agents", timeout=30) as answer:
            [listed] = json.load(answer)
    assert html_escape(OWNER.summary()) in html
    assert listed["policy"] == OWNER.model_dump(mode="json")


async def test_a_real_agent_that_refuses_a_leased_job_fails_it_for_good(
    controller: Controller, tmp_path: Path
) -> None:
    """A real agent registers with a policy that admits the process job, then refuses it when
    it arrives (as when a check only the box can make fails): the job ends failed with the
    agent's reason, and an agent that admits it is not given it afterwards."""
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(OWNER.model_dump(mode="json")))
    settings = AgentSettings(
        controller=address(controller),
        name="fickle",
        state_dir=tmp_path / "fickle",
        policy_file=policy_file,
        lease_wait_s=0.5,
    )
    agent = Agent(settings)
    running = asyncio.create_task(agent.run())
    try:
        for _ in range(200):  # until it registered with the policy that admits the job
            if agent.link.agent_id:
                break
            await asyncio.sleep(0.05)
        agent.policy = AgentPolicy(runtimes=["process"], models_dir="/models")
        only_process = SUITE.split("  - name: served")[0] + SUITE.split("engine: endpoint\n")[1]
        run_id = await submit(controller, only_process)
        for _ in range(300):
            jobs = output(await ctl(controller, "jobs", run_id, "-o", "json"))
            assert isinstance(jobs, list)
            if jobs[0]["state"] == "failed" or running.done():
                break
            await asyncio.sleep(0.1)
    finally:
        agent.shutdown()
        await asyncio.wait_for(running, 30)
    [job] = jobs
    assert (job["state"], job["agent"]) == ("failed", "fickle")
    assert job["message"].startswith(f"{REFUSED}: process recipe llama is not allowed")
    willing = await registered(controller, "willing", OWNER)
    assert await willing.lease(1.0) is None
    await willing.close()
