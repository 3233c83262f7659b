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

SHAREGPT_MIN_LEN = 4
SHAREGPT_MAX_PROMPT = 1024
SHAREGPT_MAX_TOTAL = 2048
"""vLLM's ShareGPT filter: prompt ≥ 4 and ≤ 1024 tokens, output ≥ 4 (unless fixed), total ≤ 2048."""


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


def length_bounds(length: int, range_ratio: float, minimum: int = 0) -> tuple[int, int]:
    """vLLM's inclusive ``[floor(L·(1−r)), ceil(L·(1+r))]``, both ends at least ``minimum``."""
    low = math.floor(length * (1 - range_ratio))
    high = math.ceil(length * (1 + range_ratio))
    return max(low, minimum), max(high, minimum)


def _open_ceiling(bench: OpenLoopBenchmark) -> int:
    if bench.output_len is None:  # ShareGPT with the data's own completion lengths
        return SHAREGPT_MAX_TOTAL - SHAREGPT_MIN_LEN
    if bench.dataset == "sharegpt":
        return bench.output_len
    return length_bounds(bench.output_len, bench.range_ratio, minimum=1)[1]


def output_ceilings(bench: Benchmark) -> dict[str, int]:
    """Each variant key of the benchmark with the most output tokens (``max_tokens``) one of
    its requests asks for, by the generators' rules (the agent's and the reference tools'):
    closed loop its ``tg``; the random dataset the top of ``output_len``'s range; ShareGPT a
    fixed ``output_len``, else the longest completion vLLM's filter keeps."""
    if isinstance(bench, ClosedLoopBenchmark):
        return {variant.key: variant.tg for variant in closed_variants(bench)}
    ceiling = _open_ceiling(bench)
    return {variant.key: ceiling for variant in open_variants(bench)}
