"""An open-loop run spread over two client processes against a real local server."""

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from arena.agent.generator.arrivals import arrival_offsets
from arena.agent.generator.client import Endpoint, open_session
from arena.agent.generator.clock import JobClock
from arena.agent.generator.context import RunContext
from arena.agent.generator.datasets import Prompt
from arena.agent.generator.http import Connections
from arena.agent.generator.workers import run_open_loop_workers
from arena.common.schemas.sample import RequestSample


async def chat(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for index in range(body["max_tokens"]):
        delta = {"choices": [{"delta": {"content": f"t{index}"}}]}
        await response.write(f"data: {json.dumps(delta)}\n\n".encode())
    usage = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": body["max_tokens"]}}
    await response.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
    return response


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_two_workers_send_the_whole_schedule_on_one_clock(base_url: str) -> None:
    prompts = [Prompt([{"role": "user", "content": "hi"}], 1, 3, True) for _ in range(24)]
    offsets = arrival_offsets(24, 100.0, 1.0, seed=7)
    samples: list[RequestSample] = []
    clock = JobClock()
    async with open_session() as session, Connections(clock) as connections:
        ctx = RunContext(
            session=session,
            connections=connections,
            endpoint=Endpoint(base_url, "m"),
            clock=clock,
            sink=samples.append,
            progress=None,
            benchmark="b",
            total=24,
        )
        load = await run_open_loop_workers(
            ctx, prompts, offsets, variant="rate100", run=0, workers=2, max_concurrency=None
        )
    assert load.workers == 2 and load.cpu_util >= 0.0
    assert sorted(s.index for s in samples) == list(range(24))
    assert all(s.ok and len(s.chunk_times_s) == 3 for s in samples)
    assert ctx.done == 24
    by_index = sorted(samples, key=lambda s: s.index)
    scheduled = [s.scheduled_s for s in by_index]
    assert all(t is not None for t in scheduled)
    start = by_index[0].scheduled_s - offsets[0]  # type: ignore[operator]
    assert scheduled == pytest.approx([start + o for o in offsets], abs=1e-9)
    assert 0 < start < clock.now()  # the workers measured on the parent's clock
    assert all(s.sent_s >= s.scheduled_s for s in by_index)  # type: ignore[operator]
