"""A job that cannot be sent must not take agents down (issue 21), against a real controller
on loopback and a real agent in-process.

A stored spec that no longer validates (accepted by an older controller, a schema tightened
since, a value the JSON column did not round-trip) made ``LeaseJob`` raise an internal error
after the job was leased; the agent exited on it, and the job went back after its lease to the
next agent, and the next: one submitter could stop a fleet. Now the job fails at its lease with
the reason, and the agent goes on to the next job.
"""

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session

from arena.agent import link as link_module
from arena.agent.settings import AgentSettings
from arena.agent.worker import Agent
from arena.client.api import ArenaClient
from arena.common import wire
from arena.common.schemas.job import JobSpec
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.store import jobs as job_store
from arena.controller.store.models import JobRow
from tests.direct_job import address
from tests.integration.test_arenactl_commands import ctl

pytestmark = pytest.mark.backends  # the store on SQLite and on PostgreSQL

SUITE = """
name: {name}
models: [{{name: tiny, engine: sim}}]
engines: {{sim: {{runtime: simulated}}}}
runs: 1
benchmarks:
  - {{kind: closed_loop, id: chat, pp: [16], tg: [4], concurrency: [1]}}
"""
JOBS = JobRow.__table__  # type: ignore[attr-defined]
READ_FAILURE = "this agent cannot read the job spec: job_id: Field required"
"""Why the agent below hands its first lease back: the first problem its schema finds."""


def _tightened_benchmark(spec: dict[str, Any]) -> None:
    spec["benchmarks"][0]["concurrency"] = ["many"]


def _unknown_runtime(spec: dict[str, Any]) -> None:
    spec["engine"]["runtime"] = "teleport"  # what the policy check reads, before the rest


async def submit(controller: Controller, name: str) -> str:
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        run_id, _ = await asyncio.to_thread(client.submit, SUITE.format(name=name), "s.yaml")
    return run_id


def _break(session: Session, run_id: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """Write the run's job spec straight into its row, as an older controller might have."""
    [spec] = session.execute(JOBS.select().where(JOBS.c.run_id == run_id)).mappings().all()
    broken = json.loads(json.dumps(spec["spec"]))
    edit(broken)
    session.execute(update(JOBS).where(JOBS.c.run_id == run_id).values(spec=broken))


async def jobs_of(controller: Controller, run_id: str) -> list[dict[str, Any]]:
    result = await ctl(controller, "jobs", run_id, "-o", "json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert isinstance(listed, list)
    return listed


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (_tightened_benchmark, "benchmarks.0.closed_loop.concurrency.0"),
        (_unknown_runtime, "engine"),
    ],
    ids=["benchmark", "engine"],
)
async def test_a_job_whose_stored_spec_no_longer_validates_fails_and_stops_no_agent(
    controller: Controller,
    tmp_path: Path,
    edit: Callable[[dict[str, Any]], None],
    problem: str,
) -> None:
    broken_run = await submit(controller, "broken")
    assert controller.db is not None
    await controller.db.call(_break, broken_run, edit)
    good_run = await submit(controller, "good")  # queued after the broken one: leased after it
    settings = AgentSettings(
        controller=address(controller),
        name="steady",
        state_dir=tmp_path / "steady",
        lease_wait_s=0.5,
    )
    agent = Agent(settings)
    running = asyncio.create_task(agent.run())
    try:
        for _ in range(600):
            [good] = await jobs_of(controller, good_run)
            if good["state"] in ("succeeded", "failed") or running.done():
                break
            await asyncio.sleep(0.1)
        stayed_up = not running.done()
    finally:
        agent.shutdown()
        await asyncio.wait_for(running, 30)
    [broken] = await jobs_of(controller, broken_run)
    assert stayed_up, "the agent stopped"
    assert (good["state"], good["agent"]) == ("succeeded", "steady"), good
    assert broken["state"] == "failed", broken
    assert broken["message"].startswith("the stored job spec is no longer valid: "), broken
    assert problem in broken["message"]
    assert agent.refused == ""


async def run_agent_until_done(controller: Controller, tmp_path: Path, run_id: str) -> bool:
    """Run a real agent until the run's job ends; whether the agent was still up then."""
    settings = AgentSettings(
        controller=address(controller),
        name="steady",
        state_dir=tmp_path / "steady",
        lease_wait_s=0.5,
    )
    agent = Agent(settings)
    running = asyncio.create_task(agent.run())
    try:
        for _ in range(600):
            [job] = await jobs_of(controller, run_id)
            if job["state"] in ("succeeded", "failed") or running.done():
                break
            await asyncio.sleep(0.1)
        return not running.done()
    finally:
        agent.shutdown()
        await asyncio.wait_for(running, 30)


async def test_a_lease_call_that_fails_inside_the_controller_is_retried(
    controller: Controller, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever makes LeaseJob fail (here: a bug, INTERNAL, twice), the agent backs off and
    asks again instead of exiting."""
    failures = 2
    real = job_store.lease_job

    def failing_twice(*args: Any) -> JobRow | None:
        nonlocal failures
        if failures:
            failures -= 1
            raise RuntimeError("a bug in the controller")
        return real(*args)

    monkeypatch.setattr(job_store, "lease_job", failing_twice)
    run_id = await submit(controller, "good")
    stayed_up = await run_agent_until_done(controller, tmp_path, run_id)
    [job] = await jobs_of(controller, run_id)
    assert stayed_up, "the agent stopped"
    assert failures == 0
    assert (job["state"], job["agent"], job["attempt"]) == ("succeeded", "steady", 1), job


async def test_a_lease_the_agent_cannot_read_is_handed_back(
    controller: Controller, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent whose schema refuses the spec the controller sent (an older or newer agent)
    hands the job back with the reason at once, and stays up: here it reads the next attempt."""
    unreadable = 1
    real = wire.from_message

    def refusing_once(message: Any, model_type: type[Any]) -> Any:
        nonlocal unreadable
        if model_type is JobSpec and unreadable:
            unreadable -= 1
            return JobSpec.model_validate({})  # what a schema this agent does not share raises
        return real(message, model_type)

    monkeypatch.setattr(link_module, "from_message", refusing_once)
    reasons: list[str] = []
    real_requeue = job_store._requeue

    def requeue(job: JobRow, reason: str, *args: Any) -> None:
        real_requeue(job, reason, *args)
        reasons.append(job.message)

    monkeypatch.setattr(job_store, "_requeue", requeue)
    run_id = await submit(controller, "good")
    stayed_up = await run_agent_until_done(controller, tmp_path, run_id)
    [job] = await jobs_of(controller, run_id)
    assert stayed_up, "the agent stopped"
    assert (job["state"], job["attempt"]) == ("succeeded", 2), job
    assert reasons == [f"{READ_FAILURE} on attempt 1; requeued"]
