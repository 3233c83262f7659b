"""The controller's /metrics (FastAPI's TestClient) after real gRPC traffic."""

import asyncio

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from arena.common.schemas.job import JobState
from arena.controller.metrics import metrics_router
from arena.controller.server import Controller
from tests.integration.test_protocol import registered, sample, submit


def scrape(controller: Controller) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert controller.metrics is not None
    app = FastAPI()
    app.include_router(metrics_router(controller.metrics))
    with TestClient(app) as client:
        reply = client.get("/metrics")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    return {
        (one.name, tuple(sorted(one.labels.items()))): one.value
        for family in text_string_to_metric_families(reply.text)
        for one in family.samples
    }


async def test_metrics_count_what_the_grpc_paths_did(controller: Controller) -> None:
    await submit(controller)
    link = await registered(controller, "box-1")
    lease = await link.lease(wait_s=1)
    assert lease is not None
    await link.report(lease.job_id, 1, JobState.RUNNING)
    await link.push_samples(lease.job_id, 1, 1, [sample(i) for i in range(3)])
    # a resend overlapping what is stored: one new sample, not three
    await link.push_samples(lease.job_id, 1, 2, [sample(i) for i in range(1, 4)])
    await link.close()

    metrics = await asyncio.to_thread(scrape, controller)
    assert metrics[("arena_samples_ingested_total", ())] == 4
    assert metrics[("arena_ack_latency_seconds_count", (("stream", "samples"),))] == 2
    assert (
        metrics[("arena_ack_latency_seconds_bucket", (("le", "+Inf"), ("stream", "samples")))] == 2
    )
    assert metrics[("arena_agents_online", ())] == 1
    assert metrics[("arena_jobs", (("state", "running"),))] == 1
    assert metrics[("arena_lease_expiries_total", ())] == 0


async def test_an_expired_lease_is_counted(controller: Controller) -> None:
    await submit(controller)
    link = await registered(controller, "box-1")
    lease = await link.lease(wait_s=1)
    assert lease is not None
    await link.close()
    # the agent goes silent: the lease (2 s) expires and the reaper requeues the job
    for _ in range(50):
        metrics = await asyncio.to_thread(scrape, controller)
        if metrics[("arena_lease_expiries_total", ())] == 1:
            break
        await asyncio.sleep(0.1)
    assert metrics[("arena_lease_expiries_total", ())] == 1
    assert metrics[("arena_jobs", (("state", "queued"),))] == 1
