"""Open loop (``vllm bench serve``): send each request at its scheduled time, whatever happens.

Send times are absolute (run start + arrival offset) on the monotonic clock, never relative
sleeps, whose errors add up (vllm #21104: 183.5 of 200 req/s delivered). A client that falls
behind sends at once: no catch-up bound, as vLLM. An optional ``max_concurrency`` gate holds
requests in a client queue; ``queued_s`` records when each passed it, so queueing stays out of
the request's own latency.
"""

import asyncio
from collections.abc import Sequence

from agent.generator.client import stream_chat
from agent.generator.clock import JobClock
from agent.generator.context import RunContext
from agent.generator.datasets import Prompt

START_LEAD_S = 0.01
"""The schedule starts this far ahead, so request 0 is not late before the loop even begins."""
FINE_WAIT_S = 0.002
"""Last stretch before a send time is waited by yielding, not sleeping (sleep overshoots)."""


async def sleep_until(clock: JobClock, target_s: float) -> None:
    """Coarse ``asyncio.sleep`` to just before ``target_s``, then yield until it is reached."""
    remaining = target_s - clock.now()
    if remaining > FINE_WAIT_S:
        await asyncio.sleep(remaining - FINE_WAIT_S)
    while clock.now() < target_s:  # noqa: ASYNC110 (a deliberate sub-ms yield-wait, not a poll)
        await asyncio.sleep(0)


async def run_open_loop(
    ctx: RunContext,
    prompts: Sequence[Prompt],
    offsets_s: Sequence[float],
    *,
    variant: str,
    run: int,
    max_concurrency: int | None = None,
) -> None:
    """One run: every prompt sent at ``start + offset``; returns when all have completed."""
    gate = asyncio.Semaphore(max_concurrency) if max_concurrency else None

    async def send(index: int, prompt: Prompt, scheduled_s: float) -> None:
        if gate is None:
            queued_s = ctx.clock.now()
            measurement = await stream_chat(ctx.session, ctx.endpoint, prompt.request(), ctx.clock)
        else:
            async with gate:
                queued_s = ctx.clock.now()
                measurement = await stream_chat(
                    ctx.session, ctx.endpoint, prompt.request(), ctx.clock
                )
        ctx.record(
            measurement.to_sample(
                benchmark=ctx.benchmark,
                variant=variant,
                run=run,
                index=index,
                scheduled_s=scheduled_s,
                queued_s=queued_s,
                max_tokens=prompt.max_tokens,
            )
        )

    start_s = ctx.clock.now() + START_LEAD_S
    tasks: list[asyncio.Task[None]] = []
    try:
        for index, (prompt, offset) in enumerate(zip(prompts, offsets_s, strict=True)):
            scheduled_s = start_s + offset
            await sleep_until(ctx.clock, scheduled_s)
            tasks.append(asyncio.create_task(send(index, prompt, scheduled_s)))
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
