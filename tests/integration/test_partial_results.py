"""A job that fails on its second benchmark keeps its first: ``arenactl bench`` against a real
simulated engine behind a proxy that "dies" (answers 503 to everything, health included) once
the second benchmark starts. The agent scrapes ``/metrics`` before and after each benchmark,
so the third scrape is the start of the second one."""

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from arena.common.analysis.aggregate import aggregate
from arena.common.metrics.completion import PARTIAL
from arena.common.schemas.results import JobResult
from tests.integration.test_arenactl_bench import bench
from tests.integration.test_arenactl_bench import endpoint as endpoint  # noqa: F401 (fixture)

DIES_AT_SCRAPE = 3


@pytest.fixture
async def dying_endpoint(endpoint: str) -> AsyncIterator[str]:  # noqa: F811
    """The simulated engine until the second benchmark starts, then a dead one."""
    scrapes = 0

    async def forward(request: web.Request) -> web.StreamResponse:
        nonlocal scrapes
        if request.path == "/metrics":
            scrapes += 1
        if scrapes >= DIES_AT_SCRAPE:
            return web.Response(status=503, text="engine died: CUDA error: out of memory")
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                endpoint + request.path_qs,
                data=await request.read(),
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
