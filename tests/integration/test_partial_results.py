"""A job that fails on its second benchmark keeps its first: ``arenactl bench`` against a real
simulated engine behind a proxy that "dies" (answers 503 to everything, health included) once
the second benchmark starts. The second benchmark (03-long-output) is the first to ask for
long answers: its first chat request with ``max_tokens`` of ``DIES_AT_MAX_TOKENS`` or more
kills the engine, whatever the agent scrapes or tokenizes around its runs."""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web

from arena.agent.hardware import probe
from arena.agent.jobs import JobExecution
from arena.agent.link import ControllerLink
from arena.agent.policy import load_policy
from arena.agent.settings import AgentSettings
from arena.agent.simulated.server import running_server
from arena.agent.uploads import Spool
from arena.client.api import ArenaClient
from arena.common.analysis.aggregate import aggregate
from arena.common.metrics.completion import PARTIAL
from arena.common.schemas.engine import SimulatedEngine
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.results import JobResult
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, long_leases
from tests.integration.test_arenactl_bench import bench
from tests.integration.test_arenactl_bench import endpoint as endpoint  # noqa: F401 (fixture)
from tests.telemetry_nvml_double import FakeNvml

DIES_AT_MAX_TOKENS = 200
"""03-long-output at quick 0.05 asks for 204 tokens; 01-chat for 51."""


@pytest.fixture
async def dying_endpoint(endpoint: str) -> AsyncIterator[str]:  # noqa: F811
    """The simulated engine until the second benchmark starts, then a dead one."""
    dead = False

    async def forward(request: web.Request) -> web.StreamResponse:
        nonlocal dead
        body = await request.read()
        if request.path.endswith("/chat/completions"):
            asked = json.loads(body).get("max_tokens") or 0
            dead = dead or asked >= DIES_AT_MAX_TOKENS
        if dead:
            return web.Response(status=503, text="engine died: CUDA error: out of memory")
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                endpoint + request.path_qs,
                data=body,
                headers={"Content-Type": request.headers.get("Content-Type", "")},
            ) as upstream,
        ):
            reply = web.StreamResponse(status=upstream.status)
            reply.content_type = upstream.content_type
            await reply.prepare(request)
            async for piece in upstream.content.iter_any():
                await reply.write(piece)
            await reply.write_eof()
            return reply

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()


async def test_a_job_that_fails_on_its_second_benchmark_shows_its_first(
    dying_endpoint: str,
) -> None:
    args = ["--benchmark", "01-chat", "--benchmark", "03-long-output"]
    result = await asyncio.to_thread(
        bench, "--target", dying_endpoint, *args, "--quick", "0.05", "--runs", "1", "-o", "json"
    )
    assert result.exit_code == 1, result.output
    results = json.loads(result.stdout)
    (job,) = results["jobs"]
    assert job["state"] == "failed"
    chat, long_output = job["benchmarks"]
    assert chat["variants"], "the completed benchmark's metrics are shown"
    assert chat["partial"] is True
    assert long_output["variants"] == [] and long_output["partial"] is False
    # aggregated apart from whole jobs' rows (as if measured on a real engine), never ranked
    measured = JobResult.model_validate(job).model_copy(update={"simulated": False})
    rows = aggregate([measured])
    assert {row.benchmark for row in rows} == {"01-chat"}
    assert {row.status for row in rows} == {PARTIAL}


async def test_the_tables_mark_the_completed_benchmark_partial(dying_endpoint: str) -> None:
    args = ["--benchmark", "01-chat", "--benchmark", "03-long-output"]
    result = await asyncio.to_thread(
        bench, "--target", dying_endpoint, *args, "--quick", "0.05", "--runs", "1"
    )
    assert result.exit_code == 1, result.output
    assert "partial: its job failed after this benchmark completed" in result.output


CANCELLED_SUITE = """
name: cancelled-mid-run
models: [{{name: arena-sim, engine: sim}}]
engines:
  sim: {{runtime: external, url: "{url}"}}
runs: 1
quick: 0.05
suite: arena-v1
only: [01-chat, 03-long-output]
"""


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller")


async def test_a_job_cancelled_on_its_second_benchmark_keeps_its_first(
    controller: Controller, tmp_path: Path
) -> None:
    """The user cancels while the second benchmark runs: the controller refuses the agent's
    later writes (provenance included), so the heartbeat's progress says what completed."""
    async with running_server(SimulatedEngine(runtime="simulated", decode_step_ms=5)) as sim:
        policy = {"runtimes": ["external"], "external": {"hosts": [f"127.0.0.1:{sim.port}"]}}
        policy_file = tmp_path / "agent-policy.yaml"
        policy_file.write_text(yaml.safe_dump(policy))
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            suite = CANCELLED_SUITE.format(url=sim.url)
            run_id, _ = await asyncio.to_thread(client.submit, suite, "cancelled.yaml")
        link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
        owner = AgentPolicy.model_validate(policy)
        await link.register("cancel-box", probe(), {}, {"arena": "test"}, policy=owner)
        lease = await link.lease(5.0)
        assert lease is not None
        settings = AgentSettings(
            state_dir=tmp_path / "agent", name="cancel-box", policy_file=policy_file
        )
        spool = Spool(settings.state_dir / "spool.db")
        nvml = FakeNvml([250.0])
        policy_ = load_policy(policy_file)
        execution = JobExecution(link, lease, settings, spool, policy_, nvml=nvml)
        running = asyncio.create_task(execution.run())
        while not (through := execution.progress().completed_benchmarks.get("01-chat")):
            assert not running.done()
            await asyncio.sleep(0.1)
        while execution.samples.acked_seq < through:  # the first benchmark's samples stored
            assert not running.done()
            await asyncio.sleep(0.1)
        while execution.samples.acked_seq <= through:  # and some of the second's
            assert not running.done()
            await asyncio.sleep(0.05)
        await link.heartbeat([execution.progress()], draining=False)
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            assert await asyncio.to_thread(client.cancel, run_id) == 1
        directives = await link.heartbeat([execution.progress()], draining=False)
        for job_id, _, reason in directives.cancel:
            assert job_id == lease.job_id
            execution.cancel(reason)
        await running
        spool.close()
        await link.close()
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            results = await asyncio.to_thread(client.results, run_id)
    [job] = results.jobs
    assert job.state == "cancelled"
    chat, long_output = job.benchmarks
    assert chat.partial and chat.variants
    assert chat.flags[0].startswith("partial: its job cancelled after this benchmark completed")
    assert not long_output.partial and not long_output.variants
    # energy only for the benchmark whose metrics are shown, none for the cut-short one
    assert chat.energy is not None and long_output.energy is None
