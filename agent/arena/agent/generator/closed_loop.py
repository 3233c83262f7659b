"""Closed loop (llama-benchy 0.4.0): batches of ``c`` simultaneous requests, one after another.

Per benchmark, as llama-benchy per invocation: measure the chat template's token overhead and
shrink prompts by it (its default ``--adapt-prompt``), then measure the baseline latency
(``--latency-mode``: ``generation`` times the first line of a 1-token streaming generation,
``api`` a ``GET /v1/models``, each the mean of 3 tries; ``none`` is 0). Per variant, in
llama-benchy's order: one unreported warm-up batch, then ``runs`` batches (``run_order:
shuffled`` runs the (variant, run) batches in a seeded random order, each variant's warm-up
before its first batch); each batch fires
``c`` requests at once and waits for all of them. ``ignore_eos`` is sent only with ``exact_tg``
(as llama-benchy with ``--exact-tg``), on every batch's requests, the warm-up's included; the
template and latency probes never send it.

Each measured batch watches the client's event loop (``loop_lag.LoopMonitor``) and its CPU
share (``ClientLoad``); send lag means nothing here (no schedule), loop lag and read stalls do.
"""

import asyncio
import zlib
from typing import Any

import numpy as np
import structlog

from arena.agent.engines.probe import answer_json
from arena.agent.generator.client import (
    ChatRequest,
    Prepared,
    post,
    prepare,
    start_now,
    stream_chat,
)
from arena.agent.generator.context import RunContext
from arena.agent.generator.datasets import ClosedLoopPrompts
from arena.agent.generator.gc_freeze import frozen_heap
from arena.agent.generator.loop_lag import LoopMonitor
from arena.agent.generator.open_loop import ClientLoad, CpuMeter
from arena.agent.generator.tokens import Tokenizer
from arena.common.metrics.client_load import read_stall_p99_ms
from arena.common.schemas.suite import ClosedLoopBenchmark
from arena.common.suites.run_order import run_pairs
from arena.common.suites.variants import ClosedVariant, closed_variants

log = structlog.get_logger(__name__)

LATENCY_TRIES = 3
TEMPLATE_PROBE_TEXT = "Warmup " * 10
CONTEXT_PROBE_USER = "."


async def _one_latency(ctx: RunContext, mode: str) -> float:
    headers = ctx.endpoint.headers()
    start = ctx.clock.now()
    if mode == "api":
        async with ctx.session.get(
            ctx.endpoint.url("/v1/models"), headers=headers, allow_redirects=False
        ) as response:
            await response.read()
        return ctx.clock.now() - start
    payload = {
        "model": ctx.endpoint.model,
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 1,
        "stream": True,
    }
    url = ctx.endpoint.url("/v1/chat/completions")
    async with await post(ctx.session, url, json=payload, headers=headers) as response:
        await response.content.readline()
        elapsed = ctx.clock.now() - start
        await response.read()
    return elapsed


async def measure_latency(ctx: RunContext, mode: str) -> float:
    """Mean of the successful tries, in seconds; 0 when every try fails or ``mode`` is none."""
    if mode == "none":
        return 0.0
    latencies: list[float] = []
    for _ in range(LATENCY_TRIES):
        try:
            latencies.append(await _one_latency(ctx, mode))
        except Exception as exc:  # one failed probe only lowers the count, as in llama-benchy
            log.warning("latency probe failed", mode=mode, error=str(exc))
    return float(np.mean(latencies)) if latencies else 0.0


async def _server_prompt_tokens(ctx: RunContext, messages: list[dict[str, str]]) -> int | None:
    payload: dict[str, Any] = {"model": ctx.endpoint.model, "messages": messages, "max_tokens": 1}
    url = ctx.endpoint.url("/v1/chat/completions")
    headers = ctx.endpoint.headers()
    async with await post(ctx.session, url, json=payload, headers=headers) as response:
        answer = answer_json(response.status, await response.text(), "chat template probe")
    usage = answer.get("usage")
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) else None


async def template_overhead(ctx: RunContext, tokenizer: Tokenizer) -> tuple[int, int]:
    """Extra tokens the chat template adds: (user-only prompt, system context + "." probe)."""
    try:
        text_tokens = len(await tokenizer.encode(TEMPLATE_PROBE_TEXT))
        probe_tokens = len(await tokenizer.encode(CONTEXT_PROBE_USER))
        user = await _server_prompt_tokens(ctx, [{"role": "user", "content": TEMPLATE_PROBE_TEXT}])
        context = await _server_prompt_tokens(
            ctx,
            [
                {"role": "system", "content": TEMPLATE_PROBE_TEXT},
                {"role": "user", "content": CONTEXT_PROBE_USER},
            ],
        )
    except Exception as exc:  # adaptation is a refinement; without it prompts keep their size
        log.warning("chat template probe failed; prompts not adapted", error=str(exc))
        if ctx.note is not None:
            ctx.note(f"{ctx.benchmark}: prompts not adapted to the chat template: {exc}")
        return 0, 0
    delta_user = user - text_tokens if user is not None else 0
    delta_context = context - text_tokens - probe_tokens if context is not None else delta_user
    return delta_user, delta_context


def adapted_sizes(variant: ClosedVariant, overhead: tuple[int, int]) -> tuple[int, int]:
    """(pp, depth) after removing the template's tokens, as llama-benchy's ``--adapt-prompt``."""
    delta_user, delta_context = overhead
    if variant.depth == 0:
        return max(1, variant.pp - delta_user), 0
    return variant.pp, max(1, variant.depth - delta_context)


async def _batch(
    ctx: RunContext,
    bench: ClosedLoopBenchmark,
    variant: ClosedVariant,
    requests: list[ChatRequest],
    run: int | None,
    latency_s: float,
) -> ClientLoad | None:
    """Fire every request at once, record each as it completes (unless a warm-up), wait all;
    the client's load during a measured batch."""
    monitor = LoopMonitor(ctx.clock)
    stalls: list[float] = []

    async def one(index: int, request: Prepared) -> None:
        measurement = await stream_chat(ctx.connections, request)
        if run is None:
            return
        stall = monitor.stall_between(measurement.sent_s, measurement.first_token_s)
        stalls.append(stall)
        ctx.record(
            measurement.to_sample(
                benchmark=bench.id,
                variant=variant.key,
                run=run,
                index=index,
                max_tokens=request.max_tokens,
                baseline_latency_s=latency_s,
                read_stall_s=stall,
            ),
            measurement.answer(),
        )

    keep = ctx.keeps_answers
    prepared = [prepare(ctx.endpoint, request, keep_answer=keep) for request in requests]
    with frozen_heap():
        meter = CpuMeter()
        async with monitor:
            tasks = [start_now(one(i, request)) for i, request in enumerate(prepared)]
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        cpu_util = meter.utilisation(0.0)
    if run is None:
        return None
    return ClientLoad(
        variant.key,
        run,
        1,
        cpu_util,
        0.0,
        loop_lag_p99_ms=monitor.p99_ms(),
        loop_lag_max_ms=monitor.max_ms(),
        read_stall_p99_ms=read_stall_p99_ms(stalls),
    )


async def run_closed_loop(
    ctx: RunContext,
    bench: ClosedLoopBenchmark,
    *,
    runs: int,
    seed: int,
    tokenizer: Tokenizer,
    pool: list[int],
) -> list[ClientLoad]:
    """Every variant's batches; the client's load per measured batch (run)."""
    loads: list[ClientLoad] = []
    overhead = await template_overhead(ctx, tokenizer)
    latency_s = await measure_latency(ctx, bench.latency_mode)
    log.info("closed loop baseline", benchmark=bench.id, latency_s=latency_s, overhead=overhead)
    # the benchmark id joins the seed: another benchmark on this engine must not replay these
    prompts = ClosedLoopPrompts(tokenizer, pool, zlib.crc32(f"{seed}/{bench.id}".encode()))
    found = closed_variants(bench)
    warmed: set[int] = set()

    async def batch_of(variant: ClosedVariant) -> list[ChatRequest]:
        pp, depth = adapted_sizes(variant, overhead)
        return [
            ChatRequest(
                await prompts.messages(pp, depth, bench.history_turns),
                variant.tg,
                ignore_eos=bench.exact_tg,
            )
            for _ in range(variant.concurrency)
        ]

    keys = [variant.key for variant in found]
    for index, run in run_pairs(keys, runs, bench.run_order, seed, bench.id):
        variant = found[index]
        if bench.warmup and index not in warmed:  # before the variant's first run
            await _batch(ctx, bench, variant, await batch_of(variant), None, latency_s)
        warmed.add(index)
        requests = await batch_of(variant)
        async with ctx.measured_run(variant.key, run):
            load = await _batch(ctx, bench, variant, requests, run, latency_s)
        await ctx.settle()  # counting the answers' tokens: outside the run's measured window
        if load is not None:
            loads.append(load)
    return loads
