"""The user API's read side on a real controller: job detail, numbered logs that a follower
polls, samples and telemetry streamed in bounded batches, and old peers told to upgrade."""

import asyncio

import grpc
import pytest

from arena.agent.link import ControllerLink
from arena.client.api import ArenaClient
from arena.common.errors import InvalidRequestError, NotFoundError
from arena.common.pb.arena.v2 import user_pb2
from arena.common.schemas.job import JobState
from arena.common.schemas.telemetry import GpuReading
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.rpc.users import MAX_STREAM_BATCH, MAX_STREAM_BYTES
from arena.controller.server import Controller
from tests.integration.test_protocol import address, registered, sample, submit

pytestmark = pytest.mark.backends  # the store on SQLite and on PostgreSQL


def reading(index: int) -> GpuReading:
    return GpuReading(t_s=index * 0.1, gpu=index % 2, power_w=0.0 if index == 0 else 250.0)


async def leased_job(controller: Controller) -> tuple[str, str, ControllerLink]:
    run_id = await submit(controller)
    link = await registered(controller, "box-1")
    lease = await link.lease(wait_s=1)
    assert lease is not None
    await link.report(lease.job_id, 1, JobState.RUNNING)
    return run_id, lease.job_id, link


async def test_samples_stream_in_bounded_batches_for_a_job_and_a_run(
    controller: Controller,
) -> None:
    run_id, job_id, link = await leased_job(controller)
    count = 2 * MAX_STREAM_BATCH + 7
    pushed = [sample(i) for i in range(count)]
    for start in range(0, count, 500):
        await link.push_samples(job_id, 1, start + 1, pushed[start : start + 500])
    await link.push_telemetry(job_id, 1, 1, [reading(i) for i in range(5)])

    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        stub = client._stub
        chunks = await asyncio.to_thread(
            lambda: list(
                stub.StreamSamples(
                    user_pb2.StreamRequest(job_id=job_id),
                    metadata=(("authorization", f"Bearer {DEV_USER_TOKEN}"),),
                )
            )
        )
        assert [len(c.samples) for c in chunks] == [MAX_STREAM_BATCH, MAX_STREAM_BATCH, 7]
        assert [c.first_seq for c in chunks] == [1, MAX_STREAM_BATCH + 1, 2 * MAX_STREAM_BATCH + 1]
        by_job = await asyncio.to_thread(lambda: list(client.samples(job_id=job_id)))
        assert [s for _, s in by_job] == pushed
        by_run = await asyncio.to_thread(lambda: list(client.samples(run_id=run_id)))
        assert by_run == by_job
        readings = await asyncio.to_thread(lambda: list(client.telemetry(run_id=run_id)))
        assert [r for _, r in readings] == [reading(i) for i in range(5)]
        assert readings[0][1].power_w == 0.0 and readings[0][1].energy_mj is None
    await link.close()


async def test_a_stream_needs_exactly_one_scope(controller: Controller) -> None:
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        with pytest.raises(InvalidRequestError, match="exactly one of job_id and run_id"):
            await asyncio.to_thread(lambda: list(client.samples()))
        with pytest.raises(NotFoundError):
            await asyncio.to_thread(lambda: list(client.telemetry(job_id="job-nope")))


async def test_get_job_gives_spec_run_and_state(controller: Controller) -> None:
    run_id, job_id, link = await leased_job(controller)
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        detail = await asyncio.to_thread(client.job, job_id)
    assert detail.run_id == run_id and detail.job.job_id == job_id
    assert detail.job.state == "running" and detail.job.agent == "box-1"
    assert detail.spec is not None and detail.spec.job_id == job_id
    assert detail.spec.engine.runtime == "simulated"
    assert [b.id for b in detail.spec.benchmarks] == ["chat"]
    assert detail.started_at_unix is not None and detail.finished_at_unix is None
    await link.close()


async def test_logs_are_numbered_so_a_follower_reads_each_line_once(
    controller: Controller,
) -> None:
    _, job_id, link = await leased_job(controller)
    await link.push_logs(job_id, 1, 1, ["one", "two", "three"])
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        first = await asyncio.to_thread(client.log_lines, job_id)
        assert [(line.seq, line.text) for line in first] == [(1, "one"), (2, "two"), (3, "three")]
        assert await asyncio.to_thread(client.log_lines, job_id, 3) == []
        await link.push_logs(job_id, 1, 4, ["four", "five"])
        more = await asyncio.to_thread(client.log_lines, job_id, first[-1].seq)
        assert [line.text for line in more] == ["four", "five"]
        assert await asyncio.to_thread(client.logs, job_id, 2) == ["four", "five"]
    await link.close()


@pytest.mark.parametrize(
    ("service", "token", "peer"),
    [("AgentService", DEV_AGENT_TOKEN, "arena-agent"), ("UserService", "not-a-token", "arenactl")],
)
async def test_a_v1_peer_is_told_to_upgrade(
    controller: Controller, service: str, token: str, peer: str
) -> None:
    async with grpc.aio.insecure_channel(address(controller)) as channel:
        call = channel.unary_unary(f"/arena.v1.{service}/Register")
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call(b"", metadata=(("authorization", f"Bearer {token}"),), timeout=5)
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert raised.value.details() == (
        f"this controller speaks arena.v2, not arena.v1; upgrade {peer}"
    )


async def test_long_samples_stream_in_messages_under_the_byte_bound(
    controller: Controller,
) -> None:
    """Chunk times grow with output length: a page of 1000 samples of 1024 output chunks is
    ~8 MB, twice gRPC's default receive limit, so a page goes out as several messages."""
    _, job_id, link = await leased_job(controller)
    chunk_times = [0.01 * i for i in range(1024)]
    pushed = [sample(i).model_copy(update={"chunk_times_s": chunk_times}) for i in range(1000)]
    for start in range(0, 1000, 250):
        await link.push_samples(job_id, 1, start + 1, pushed[start : start + 250])
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        chunks = await asyncio.to_thread(
            lambda: list(
                client._stub.StreamSamples(
                    user_pb2.StreamRequest(job_id=job_id),
                    metadata=(("authorization", f"Bearer {DEV_USER_TOKEN}"),),
                )
            )
        )
        assert len(chunks) > 1
        assert all(chunk.ByteSize() <= MAX_STREAM_BYTES + 10_000 for chunk in chunks)
        assert sum(len(chunk.samples) for chunk in chunks) == 1000
        streamed = await asyncio.to_thread(lambda: [s for _, s in client.samples(job_id=job_id)])
    assert streamed == pushed
    await link.close()
