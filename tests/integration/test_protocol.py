"""The agent protocol against a real controller on loopback: auth, leases, fencing, acks."""

import asyncio

import pytest

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.client.api import ArenaClient
from arena.common.errors import AuthError, ConflictError, SuiteError
from arena.common.schemas.job import JobProgress, JobState
from arena.common.schemas.sample import RequestSample
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from tests.databases import rows

pytestmark = pytest.mark.backends  # the store on SQLite and on PostgreSQL

SUITE = """
name: protocol-test
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
targets:
  - name: {target}
    labels: {labels}
runs: 1
benchmarks:
  - kind: closed_loop
    id: chat
    pp: [16]
    tg: [8]
    concurrency: [2]
"""


def address(controller: Controller) -> str:
    return f"127.0.0.1:{controller.port}"


async def submit(controller: Controller, target: str = "any", labels: str = "{}") -> str:
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        run_id, _ = await asyncio.to_thread(
            client.submit, SUITE.format(target=target, labels=labels), "protocol.yaml"
        )
    return run_id


async def registered(
    controller: Controller, name: str, labels: dict[str, str] | None = None
) -> ControllerLink:
    link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
    await link.register(name, probe(), labels or {}, {"arena": "test"})
    return link


def sample(index: int) -> RequestSample:
    return RequestSample(
        benchmark="chat",
        variant="pp16/tg8/d0/c2",
        run=0,
        index=index,
        sent_s=0.1,
        first_token_s=0.2,
        end_s=0.3,
        chunk_times_s=[0.2, 0.3],
        completion_tokens=2,
        prompt_tokens=16,
    )


def stored_seqs(controller: Controller, job_id: str) -> list[tuple[int, int]]:
    return rows(
        controller.settings.database,
        "SELECT attempt, seq FROM samples WHERE job_id = :job ORDER BY attempt, seq",
        job=job_id,
    )


async def test_unknown_agent_token_is_refused(controller: Controller) -> None:
    link = ControllerLink(address(controller), "not-a-token")
    with pytest.raises(AuthError, match="unknown agent token"):
        await link.register("intruder", probe(), {}, {})
    await link.close()


async def test_user_token_does_not_open_the_agent_service(controller: Controller) -> None:
    link = ControllerLink(address(controller), DEV_USER_TOKEN)
    with pytest.raises(AuthError):
        await link.register("confused", probe(), {}, {})
    await link.close()


async def test_agent_token_does_not_open_the_user_service(controller: Controller) -> None:
    with (
        ArenaClient(address(controller), DEV_AGENT_TOKEN) as client,
        pytest.raises(AuthError, match="unknown user token"),
    ):
        await asyncio.to_thread(client.runs)


async def test_invalid_suite_is_refused_with_its_line(controller: Controller) -> None:
    broken = SUITE.format(target="any", labels="{}").replace("pp: [16]", "pp: [-16]")
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        with pytest.raises(SuiteError, match=r"protocol.yaml:\d+: benchmarks\[0\]\.pp\[0\]"):
            await asyncio.to_thread(client.submit, broken, "protocol.yaml")
        assert await asyncio.to_thread(client.runs) == []  # nothing half-submitted


async def test_samples_are_acked_contiguously_without_duplicates(controller: Controller) -> None:
    await submit(controller)
    link = await registered(controller, "box-1")
    lease = await link.lease(wait_s=1)
    assert lease is not None and lease.attempt == 1
    job = lease.job_id

    assert await link.push_samples(job, 1, 1, [sample(i) for i in range(3)]) == 3
    # a resend overlapping what is stored adds only the new sample
    assert await link.push_samples(job, 1, 2, [sample(i) for i in range(1, 4)]) == 4
    # a batch past a gap stores nothing; the ack tells the agent where to resume
    assert await link.push_samples(job, 1, 7, [sample(6)]) == 4
    assert stored_seqs(controller, job) == [(1, 1), (1, 2), (1, 3), (1, 4)]

    # success is refused until every sample sent is stored
    await link.report(job, 1, JobState.RUNNING)
    with pytest.raises(ConflictError, match="only 4 stored"):
        await link.report(job, 1, JobState.SUCCEEDED, total_samples=5)
    await link.push_samples(job, 1, 5, [sample(4)])
    await link.report(job, 1, JobState.SUCCEEDED, total_samples=5)
    await link.close()


async def test_expired_lease_requeues_and_fences_the_stale_attempt(controller: Controller) -> None:
    await submit(controller)
    first = await registered(controller, "box-1")
    lease = await first.lease(wait_s=1)
    assert lease is not None
    await first.report(lease.job_id, 1, JobState.RUNNING)
    # box-1 goes silent: no heartbeats, the lease (2 s) expires and the job is requeued
    second = await registered(controller, "box-2")
    retry = await second.lease(wait_s=5)
    assert retry is not None and retry.job_id == lease.job_id and retry.attempt == 2

    with pytest.raises(ConflictError, match="stale attempt"):
        await first.push_samples(lease.job_id, 1, 1, [sample(0)])
    with pytest.raises(ConflictError, match="stale attempt"):
        await first.report(lease.job_id, 1, JobState.SUCCEEDED, total_samples=0)
    # the stale agent is told to stop when it heartbeats again
    directives = await first.heartbeat([_progress(lease.job_id, 1)], draining=False)
    assert directives.cancel and directives.cancel[0][0] == lease.job_id
    assert await second.push_samples(retry.job_id, 2, 1, [sample(0)]) == 1
    await first.close()
    await second.close()


async def test_selectors_keep_jobs_off_agents_that_do_not_match(controller: Controller) -> None:
    await submit(controller, target="spark", labels="{site: lab}")
    elsewhere = await registered(controller, "box-home", {"site": "home"})
    assert await elsewhere.lease(wait_s=0.5) is None
    matching = await registered(controller, "box-lab", {"site": "lab"})
    assert await matching.lease(wait_s=1) is not None
    await elsewhere.close()
    await matching.close()


async def test_cancel_reaches_the_agent_through_its_heartbeat(controller: Controller) -> None:
    run_id = await submit(controller)
    link = await registered(controller, "box-1")
    lease = await link.lease(wait_s=1)
    assert lease is not None
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        assert await asyncio.to_thread(client.cancel, run_id) == 1
    directives = await link.heartbeat([_progress(lease.job_id, 1)], draining=False)
    assert [c[0] for c in directives.cancel] == [lease.job_id]
    await link.close()


async def test_drain_is_delivered_and_stops_leasing(controller: Controller) -> None:
    await submit(controller)
    link = await registered(controller, "box-1")
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        await asyncio.to_thread(client.drain, "box-1")
    assert (await link.heartbeat([], draining=False)).drain
    assert await link.lease(wait_s=0.3) is None
    await link.close()


def _progress(job_id: str, attempt: int) -> JobProgress:
    return JobProgress(job_id=job_id, attempt=attempt)
