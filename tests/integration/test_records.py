"""Each record is one class on every side: what the agent sends is what the store reads back,
and what the store reports about a run is what the client receives."""

import asyncio

import grpc
import pytest

from arena.client.api import ArenaClient
from arena.common.pb.arena.v2 import results_pb2, user_pb2
from arena.common.schemas.imported import (
    ImportedBenchmark,
    ImportedRun,
    ImportedStat,
    ImportedVariant,
    Provenance,
)
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading
from arena.common.settings import DEV_USER_TOKEN
from arena.common.wire import to_message
from arena.controller.server import Controller
from arena.controller.store import jobs as job_store
from arena.controller.store import runs as run_store
from arena.controller.store import telemetry as telemetry_store
from tests.integration.test_protocol import address, registered, sample, submit

pytestmark = pytest.mark.backends  # the store on SQLite and on PostgreSQL


def reading(t_s: float) -> GpuReading:
    return GpuReading(
        t_s=t_s, gpu=0, power_w=200.0 + t_s, energy_mj=None, throttle_mask=0, throttle_reasons=[]
    )


async def test_records_cross_the_wire_unchanged(controller: Controller) -> None:
    run_id = await submit(controller)
    link = await registered(controller, "box-1")
    lease = await link.lease(wait_s=1)
    assert lease is not None
    sent = [sample(i) for i in range(3)] + [sample(3).model_copy(update={"error": "HTTP 500"})]
    readings = [reading(0.5), reading(1.0)]
    assert await link.push_samples(lease.job_id, 1, 1, sent) == 4
    assert await link.push_telemetry(lease.job_id, 1, 1, readings) == 2
    await link.close()

    assert controller.db is not None
    job = await controller.db.call(job_store.get_job, lease.job_id)
    assert await controller.db.call(job_store.samples_of, job) == sent
    assert await controller.db.call(telemetry_store.telemetry_of, job) == readings

    stored = await controller.db.call(run_store.run_detail, run_id)
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        received = await asyncio.to_thread(client.run, run_id)
        listed = await asyncio.to_thread(client.runs)
    assert received == stored
    assert listed == [stored.run]
    [info] = received.jobs
    assert (info.agent, info.attempt, info.samples, info.simulated) == ("box-1", 1, 4, True)
    assert (received.run.jobs_total, received.run.samples) == (1, 4)


def _import_request(samples: list[RequestSample]) -> user_pb2.ImportResultsRequest:
    run = ImportedRun(
        key="family/model/fp8",
        source="model/fp8",
        content_hash="0" * 64,
        model="model",
        profile="fp8",
        provenance=Provenance(),
        benchmarks=[
            ImportedBenchmark(
                id="13-vllm-bench",
                title="vllm bench",
                kind="open_loop",
                tool="vllm-bench",
                variants=[
                    ImportedVariant(
                        key="rate1", runs=1, metrics={"ttft_ms": ImportedStat(mean=1, std=0, n=1)}
                    )
                ],
                samples=samples,
            )
        ],
    )
    return user_pb2.ImportResultsRequest(run=to_message(run, results_pb2.ImportedRun))


@pytest.mark.parametrize("cut", ["garbage", "truncated"])
async def test_a_malformed_import_is_rejected_on_ingest(controller: Controller, cut: str) -> None:
    """The typed protocol cannot carry a sample of the wrong shape (v1's JSON payload could);
    what a peer can still send is bytes that are not the message: refused, nothing stored."""
    good = _import_request([sample(0)]).SerializeToString()
    body = b"\xff\xff\xff" if cut == "garbage" else good[: len(good) // 2]
    channel = grpc.aio.insecure_channel(address(controller))
    import_raw = channel.unary_unary("/arena.v2.UserService/ImportResults")
    metadata = (("authorization", f"Bearer {DEV_USER_TOKEN}"),)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await import_raw(body, metadata=metadata)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "malformed request" in (refused.value.details() or "")
        assert controller.db is not None
        assert await controller.db.call(run_store.list_runs, 10) == []
        # the same request whole goes in, sample and all
        await import_raw(good, metadata=metadata)
        [run] = await controller.db.call(run_store.list_runs, 10)
        assert run.samples == 1
    finally:
        await channel.close()


async def test_an_import_repeating_a_benchmark_is_the_senders_error(controller: Controller) -> None:
    """Two benchmarks of one id would be one stored row twice: refused as the request's fault
    (INVALID_ARGUMENT naming the id), never reported as a controller bug; nothing stored."""
    request = _import_request([sample(0)])
    request.run.benchmarks.append(request.run.benchmarks[0])
    channel = grpc.aio.insecure_channel(address(controller))
    import_raw = channel.unary_unary(
        "/arena.v2.UserService/ImportResults", request_serializer=lambda m: m.SerializeToString()
    )
    try:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await import_raw(request, metadata=(("authorization", f"Bearer {DEV_USER_TOKEN}"),))
    finally:
        await channel.close()
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "repeated benchmark ids: 13-vllm-bench" in (refused.value.details() or "")
    assert controller.db is not None
    assert await controller.db.call(run_store.list_runs, 10) == []
