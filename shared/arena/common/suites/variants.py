"""Expand a benchmark into its variants: the parameter combinations each run repeats.

Closed loop follows llama-benchy's loop order (pp, then tg, then depth, then concurrency);
open loop has one variant per request rate (a rate sweep has several).
"""

import math
from dataclasses import dataclass

from arena.common.schemas.suite import Benchmark, ClosedLoopBenchmark, OpenLoopBenchmark


@dataclass(frozen=True)
class ClosedVariant:
    key: str
    pp: int
    tg: int
    depth: int
    concurrency: int


@dataclass(frozen=True)
class OpenVariant:
    key: str
    rate: float
    num_prompts: int


Variant = ClosedVariant | OpenVariant


def format_rate(rate: float) -> str:
    return "inf" if math.isinf(rate) else f"{rate:g}"


def closed_variants(bench: ClosedLoopBenchmark) -> list[ClosedVariant]:
    return [
        ClosedVariant(f"pp{pp}/tg{tg}/d{depth}/c{c}", pp, tg, depth, c)
        for pp in bench.pp
        for tg in bench.tg
        for depth in bench.depth
        for c in bench.concurrency
    ]


def open_variants(bench: OpenLoopBenchmark) -> list[OpenVariant]:
    return [
        OpenVariant(f"rate{format_rate(rate)}", rate, bench.prompts_for_rate(rate))
        for rate in bench.request_rate
    ]


def variants(bench: Benchmark) -> list[Variant]:
    if isinstance(bench, ClosedLoopBenchmark):
        return list(closed_variants(bench))
    return list(open_variants(bench))


def expected_requests(bench: Benchmark, runs: int) -> int:
    """Measured requests of one benchmark over all runs (warm-ups and probes excluded)."""
    if isinstance(bench, ClosedLoopBenchmark):
        return runs * sum(v.concurrency for v in closed_variants(bench))
    return runs * sum(v.num_prompts for v in open_variants(bench))
