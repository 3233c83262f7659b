"""Arena's open loop as a command, so benches can time it like the reference tools.

Sends ``--num-prompts`` fixed prompts on vLLM's seeded arrival schedule and writes a JSON
summary: completed, chunks, send lags, the client's CPU use, and the metrics of the run.

Usage: ``python -m bench.ours --base-url URL --num-prompts N --rate R [--workers W]
[--max-concurrency C] [--max-tokens T] [--out FILE]``
"""

import argparse
import asyncio
import json
import math
from pathlib import Path
from typing import Any

from arena.agent.generator.arrivals import arrival_offsets
from arena.agent.generator.client import Endpoint, open_session
from arena.agent.generator.clock import JobClock
from arena.agent.generator.context import RunContext
from arena.agent.generator.datasets import Prompt
from arena.agent.generator.http import Connections
from arena.agent.generator.open_loop import ClientLoad, run_open_loop
from arena.agent.generator.workers import run_open_loop_workers
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.schemas.sample import RequestSample

PROMPT = [{"role": "user", "content": "Say something about benchmarks, please."}]


async def run_ours(
    base_url: str,
    *,
    num_prompts: int,
    rate: float,
    workers: int = 1,
    max_concurrency: int | None = None,
    max_tokens: int = 16,
    seed: int = 42,
    model: str = "tiny",
) -> tuple[list[RequestSample], ClientLoad]:
    """One open-loop run of identical prompts; the samples and the client's load."""
    prompts = [Prompt(PROMPT, 8, max_tokens, True) for _ in range(num_prompts)]
    offsets = arrival_offsets(num_prompts, rate, 1.0, seed)
    samples: list[RequestSample] = []
    clock = JobClock()
    async with open_session() as session, Connections(clock) as connections:
        ctx = RunContext(
            session=session,
            connections=connections,
            endpoint=Endpoint(base_url, model),
            clock=clock,
            sink=samples.append,
            progress=None,
            benchmark="bench",
            total=num_prompts,
        )
        kwargs: dict[str, Any] = {"variant": "v", "run": 0, "max_concurrency": max_concurrency}
        if workers > 1:
            load = await run_open_loop_workers(ctx, prompts, offsets, workers=workers, **kwargs)
        else:
            load = await run_open_loop(ctx, prompts, offsets, **kwargs)
    return samples, load


def lags_ms(samples: list[RequestSample]) -> list[float]:
    return [(s.sent_s - s.scheduled_s) * 1000.0 for s in samples if s.scheduled_s is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--num-prompts", type=int, required=True)
    parser.add_argument("--rate", type=float, default=math.inf)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-concurrency", type=int)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    samples, load = asyncio.run(
        run_ours(
            args.base_url,
            num_prompts=args.num_prompts,
            rate=args.rate,
            workers=args.workers,
            max_concurrency=args.max_concurrency,
            max_tokens=args.max_tokens,
        )
    )
    metrics = open_loop_metrics(samples, client=load.figures())
    summary = {
        "completed": sum(1 for s in samples if s.ok),
        "chunks": sum(len(s.chunk_times_s) for s in samples),
        "cpu_util": load.cpu_util,
        "metrics": metrics,
    }
    text = json.dumps(summary)
    if args.out:
        args.out.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
