"""The generator's one entry point: run a benchmark's variants × runs, streaming samples out.

Open loop: each variant (request rate) builds its prompts and arrival schedule once from the
seed and replays both in every run, as re-running ``vllm bench serve --seed 42`` does; before
each run one unreported copy of prompt 0 is sent, like vLLM's initial test request. Closed
loop: prompts are fresh for every request (see ``ClosedLoopPrompts``). Cancelling the task
running ``run_benchmark`` cancels in-flight requests and closes the session's connections.

``workers`` > 1 spreads each open-loop run over that many client processes (``workers.py``);
closed loop always runs in one process (its few simultaneous requests never load a core), and
so do session benchmarks (``sessions/``), whose requests wait on each other's answers.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from math import inf
from pathlib import Path

import structlog

from arena.agent.generator.arrivals import arrival_offsets
from arena.agent.generator.client import Endpoint, open_session, prepare, stream_chat
from arena.agent.generator.clock import JobClock
from arena.agent.generator.closed_loop import run_closed_loop
from arena.agent.generator.context import (
    NoteSink,
    Progress,
    ProgressSink,
    RunBounds,
    RunContext,
    SampleSink,
)
from arena.agent.generator.corpus import corpus_tokens
from arena.agent.generator.datasets import Prompt, random_dataset, sharegpt_dataset
from arena.agent.generator.http import Connections
from arena.agent.generator.open_loop import ClientLoad, run_open_loop
from arena.agent.generator.sessions.benchmark import SessionRunner
from arena.agent.generator.tokens import Tokenizer
from arena.agent.generator.workers import run_open_loop_workers
from arena.common.schemas.agent import ClientHeadroom
from arena.common.schemas.suite import (
    Benchmark,
    ClosedLoopBenchmark,
    OpenLoopBenchmark,
    SessionBenchmark,
)
from arena.common.suites.run_order import run_pairs
from arena.common.suites.standin import sharegpt_standin_path
from arena.common.suites.variants import (
    OpenVariant,
    closed_variants,
    expected_requests,
    open_variants,
    parse_session_variant,
)
from arena.common.traces.format import Trace
from arena.common.traces.source import trace_for

__all__ = ["ClientLoad", "Endpoint", "Progress", "ProgressSink", "SampleSink", "run_benchmark"]

log = structlog.get_logger(__name__)


async def _open_loop_prompts(
    bench: OpenLoopBenchmark,
    variant: OpenVariant,
    tokenizer: Tokenizer,
    pool: list[int],
    seed: int,
) -> list[Prompt]:
    if bench.dataset == "sharegpt":
        # without a file, the labelled synthetic stand-in (the loader notes it in the results)
        return await sharegpt_dataset(
            tokenizer,
            bench.dataset_path or str(sharegpt_standin_path()),
            num_prompts=variant.num_prompts,
            seed=seed,
            output_len=bench.output_len,
            ignore_eos=bool(bench.ignore_eos),
        )
    assert bench.input_len is not None and bench.output_len is not None  # schema-validated
    return await random_dataset(
        tokenizer,
        pool,
        num_prompts=variant.num_prompts,
        input_len=bench.input_len,
        output_len=bench.output_len,
        range_ratio=bench.range_ratio,
        prefix_len=bench.prefix_len,
        seed=seed,
        ignore_eos=True if bench.ignore_eos is None else bench.ignore_eos,
    )


async def _run_open(
    ctx: RunContext,
    bench: OpenLoopBenchmark,
    *,
    runs: int,
    seed: int,
    tokenizer: Tokenizer,
    pool: list[int],
    workers: int,
    headroom: ClientHeadroom | None,
) -> list[ClientLoad]:
    loads: list[ClientLoad] = []
    plans = []
    for variant in open_variants(bench):
        prompts = await _open_loop_prompts(bench, variant, tokenizer, pool, seed)
        offsets = arrival_offsets(len(prompts), variant.rate, bench.burstiness, seed)
        log.info(
            "open loop variant",
            benchmark=bench.id,
            variant=variant.key,
            prompts=len(prompts),
            last_arrival_s=offsets[-1] if offsets else 0.0,
        )
        plans.append((variant, prompts, offsets))
    keys = [variant.key for variant, _, _ in plans]
    for index, run in run_pairs(keys, runs, bench.run_order, seed, bench.id):
        variant, prompts, offsets = plans[index]
        await stream_chat(ctx.connections, prepare(ctx.endpoint, prompts[0].request()))
        async with ctx.measured_run(variant.key, run):
            if workers > 1:
                load = await run_open_loop_workers(
                    ctx,
                    prompts,
                    offsets,
                    variant=variant.key,
                    run=run,
                    workers=workers,
                    max_concurrency=bench.max_concurrency,
                )
            else:
                load = await run_open_loop(
                    ctx,
                    prompts,
                    offsets,
                    variant=variant.key,
                    run=run,
                    max_concurrency=bench.max_concurrency,
                )
        await ctx.settle()
        if headroom is not None:
            streams = min(len(prompts), bench.max_concurrency or len(prompts))
            used = headroom.used_pct(variant.rate, streams if variant.rate == inf else None)
            load = replace(load, headroom_used_pct=used)
        loads.append(load)
    return loads


async def _session_trace(bench: SessionBenchmark, seed: int) -> Trace:
    """Generated from its profile, or read from its file (a path the agent has already resolved
    under its policy's ``models_dir``); in a thread: both are synchronous work."""
    path = Path(bench.trace.path) if bench.trace.path is not None else None
    return await asyncio.to_thread(trace_for, bench.trace, seed, path)


async def run_benchmark(
    bench: Benchmark,
    *,
    endpoint: Endpoint,
    runs: int,
    seed: int,
    clock: JobClock,
    sink: SampleSink,
    tokenizer: Tokenizer,
    progress: ProgressSink | None = None,
    workers: int = 1,
    note: NoteSink | None = None,
    reset_cache: Callable[[], Awaitable[bool]] | None = None,
    headroom: ClientHeadroom | None = None,
    bounds: RunBounds | None = None,
    count_tokens: bool = True,
    live: SampleSink | None = None,
) -> list[ClientLoad]:
    """Run every variant ``runs`` times; each run's requests go to ``sink`` when it ends, their
    output tokens counted by ``tokenizer`` (``counting.py``) unless ``count_tokens`` is off (a
    random-weight model: its text does not re-tokenise to the tokens it generated). ``live``
    sees each sample as its request completes, before that.

    Returns the client's load per open-loop run and per session (step, run); empty for closed
    loop: pass a run's ``cpu_util`` to ``open_loop_metrics(client_cpu_util=...)`` to flag a
    saturated client. ``reset_cache`` empties the engine's prefix cache (True when it did); a
    ``prefix_cache: on`` session benchmark calls it before each measured (step, run).
    ``headroom``: the agent's calibrated client headroom; each load then records its share.
    ``bounds`` hears each measured closed- or open-loop run start and end, in the benchmark's
    ``run_order``.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    trace = await _session_trace(bench, seed) if isinstance(bench, SessionBenchmark) else None
    pool = await corpus_tokens(tokenizer)
    async with open_session() as session, Connections(clock) as connections:
        ctx = RunContext(
            session=session,
            connections=connections,
            endpoint=endpoint,
            clock=clock,
            sink=sink,
            progress=progress,
            benchmark=bench.id,
            total=expected_requests(bench, runs),
            note=note,
            bounds=bounds,
            tokenizer=tokenizer if count_tokens else None,
            live=live,
        )
        try:
            if isinstance(bench, SessionBenchmark):
                assert trace is not None
                runner = SessionRunner(
                    ctx,
                    bench,
                    trace,
                    runs=runs,
                    seed=seed,
                    tokenizer=tokenizer,
                    pool=pool,
                    reset_cache=reset_cache,
                )
                loads = await runner.run()
                return [_with_share(load, headroom, _users(load.variant)) for load in loads]
            if isinstance(bench, ClosedLoopBenchmark):
                loads = await run_closed_loop(
                    ctx, bench, runs=runs, seed=seed, tokenizer=tokenizer, pool=pool
                )
                concurrency = {v.key: v.concurrency for v in closed_variants(bench)}
                return [_with_share(load, headroom, concurrency[load.variant]) for load in loads]
            return await _run_open(
                ctx,
                bench,
                runs=runs,
                seed=seed,
                tokenizer=tokenizer,
                pool=pool,
                workers=workers,
                headroom=headroom,
            )
        finally:
            ctx.release()  # a run cut short: its samples are kept, uncounted


def _users(variant: str) -> int | None:
    step = parse_session_variant(variant)
    return int(step.load) if step is not None and step.over == "users" else None


def _with_share(load: ClientLoad, headroom: ClientHeadroom | None, users: int | None) -> ClientLoad:
    """The load with its share of the headroom, where its streams are known."""
    if headroom is None or users is None:
        return load
    return replace(load, headroom_used_pct=headroom.used_pct(streams=users))
