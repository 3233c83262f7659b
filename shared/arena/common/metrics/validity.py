"""Whether a benchmark's numbers may be read as measurements.

Four checks, applied wherever results are served (measured and imported alike), and the
output-token notes of ``token_flags`` (reasoning first, usage mismatch, usage over max_tokens):

- **Error-rate gate.** A benchmark whose failed requests exceed ``max_error_rate`` of all its
  requests (default 10 %, as InferenceX gates) is *invalid*: shown so, left out of capacity,
  and ``arenactl submit --watch`` exits non-zero.
- **Warm prefix cache.** A benchmark that declared ``prefix_cache: off`` promises cold
  prefills. If the engine's own counters (``engine_metrics["prefix_cache_hit_pct"]``) or the
  cached tokens its answers reported (``analysis.cache.client_hit_pct``), whichever is
  higher, show more than ``WARM_CACHE_HIT_PCT`` of prompt tokens served from the cache, its
  TTFT and throughput are not what it claims (a DGX Spark cell once read 2.3× its throughput
  that way): *invalid*, flagged "served from a warm prefix cache". A ``prefix_cache: on``
  benchmark means to hit, and is never flagged.
- **Role-only first chunk.** A server that streams its ``role`` chunk before prefill (as
  ``transformers serve`` does) makes ttfr the time to that chunk: est_ppt ≈ 0 and the pp
  speeds absurd. A variant whose ttfr is below a quarter of its e2e_ttft has those metrics
  marked *not meaningful*.
- **Run-to-run spread.** The largest deviation of one run from the mean of the benchmark's
  throughput (tg t/s closed loop, output tok/s open loop), ``stats.max_relative_deviation``,
  flagged above ±2 % (``SPREAD_LIMIT_PCT``). Imported runs keep no per-run values, so there it
  is std / mean. Session benchmarks have none: each load step is judged by the share of its
  sessions meeting the SLO tiers, and their capacity is read off those steps.

Listings import this module for its limits (``arena.common.views``), so it loads no NumPy: only
``spread_pct``, which the results layer calls on per-run values, needs ``arena.common.stats``.
"""

from collections.abc import Sequence

from arena.common.analysis.cache import ENGINE_HIT_PCT, client_hit_pct
from arena.common.analysis.capacity import capacity_by_slo, over_gate
from arena.common.metrics.token_flags import (
    reasoning_first_flag,
    token_mismatch_flag,
    usage_over_max_flag,
)
from arena.common.schemas.imported import RateSweepSummary
from arena.common.schemas.results import BenchmarkResult, VariantResult

MAX_ERROR_RATE = 0.10
WARM_CACHE_HIT_PCT = 5.0
"""A ``prefix_cache: off`` benchmark whose prompt tokens came from the engine's cache above
this share was served warm (a cache left on, or never reset): its TTFT and throughput are not
the cold numbers it claims, so it is flagged and invalid."""
SPREAD_LIMIT_PCT = 2.0
"""A benchmark whose runs stray more than ±2 % from their mean is flagged as unstable."""
ROLE_CHUNK_RATIO = 0.25
"""ttfr below this share of e2e_ttft: the first chunk came before the prompt was processed."""
PREFILL_METRICS = ("pp_throughput", "pp_req_throughput", "est_ppt")
SPREAD_METRIC = {"closed_loop": "tg_throughput", "open_loop": "output_throughput"}
TOKEN_CHECKS = (reasoning_first_flag, token_mismatch_flag, usage_over_max_flag)
"""Notes, never invalid: what TTFT and the token counts mean here (``token_flags``)."""


def spread_pct(values: Sequence[float]) -> float | None:
    """Largest deviation of one run from the mean, in %; ``None`` under two runs."""
    from arena.common.stats import max_relative_deviation  # NumPy: not for listings

    return max_relative_deviation(values) * 100 if len(values) >= 2 else None


def stat_spread_pct(variant: VariantResult, kind: str) -> float | None:
    """The spread from a served mean ± std (imported runs, whose per-run values are gone)."""
    stat = variant.metrics.get(SPREAD_METRIC.get(kind, ""))
    if variant.runs < 2 or stat is None or not stat.mean or stat.std is None:
        return None
    return abs(stat.std / stat.mean * 100)


def failed_and_total(bench: BenchmarkResult) -> tuple[int, int] | None:
    """Failed and all requests from vLLM's ``failed`` / ``completed`` counts, where recorded."""
    failed = total = 0.0
    for variant in bench.variants:
        done, bad = variant.metrics.get("completed"), variant.metrics.get("failed")
        if done is None or bad is None or done.mean is None or bad.mean is None:
            return None
        failed += bad.mean * max(variant.runs, 1)
        total += (bad.mean + done.mean) * max(variant.runs, 1)
    return (round(failed), round(total)) if total else None


def warm_cache_pct(bench: BenchmarkResult) -> float | None:
    """The share of prompt tokens served from the prefix cache, in %: the higher of the
    engine's own count and the requests' (``client_hit_pct``), so neither a silent engine nor
    an engine counter that missed the hits (one reset before it was read, a gauge of another
    window) hides a warm cache; ``None`` when neither said."""
    known = [
        pct
        for pct in (bench.engine_metrics.get(ENGINE_HIT_PCT), client_hit_pct(bench))
        if pct is not None
    ]
    return max(known, default=None)


def _role_chunk_first(variant: VariantResult) -> bool:
    ttfr, e2e = variant.metrics.get("ttfr"), variant.metrics.get("e2e_ttft")
    if ttfr is None or e2e is None or ttfr.mean is None or not e2e.mean:
        return False
    return ttfr.mean < ROLE_CHUNK_RATIO * e2e.mean


def assess(
    bench: BenchmarkResult,
    max_error_rate: float = MAX_ERROR_RATE,
    requests: tuple[int, int] | None = None,
) -> BenchmarkResult:
    """Fill in ``valid``, ``failed_share``, ``flags`` and each variant's ``not_meaningful`` and
    ``spread_pct`` (kept when the caller computed it from per-run values). ``requests`` is
    (failed, all) when the caller counted the samples itself."""
    counts = requests or failed_and_total(bench)
    flags = []
    if counts is not None and counts[1]:
        bench.failed_share = counts[0] / counts[1]
        if bench.failed_share > max_error_rate:
            bench.valid = False
            flags.append(
                f"invalid: {counts[0]} of {counts[1]} requests failed "
                f"({bench.failed_share:.0%} > {max_error_rate:.0%})"
            )
    warm = warm_cache_pct(bench) if bench.prefix_cache == "off" else None
    if warm is not None and warm > WARM_CACHE_HIT_PCT:
        bench.valid = False
        flags.append(f"invalid: served from a warm prefix cache ({warm:.1f} % of prompt tokens)")
    role_first = []
    noisy = []
    for variant in bench.variants:
        if _role_chunk_first(variant):
            variant.not_meaningful = [key for key in PREFILL_METRICS if key in variant.metrics]
            role_first.append(variant.key)
        if variant.spread_pct is None:
            variant.spread_pct = stat_spread_pct(variant, bench.kind)
        if variant.spread_pct is not None and variant.spread_pct > SPREAD_LIMIT_PCT:
            noisy.append(f"{variant.key} ±{variant.spread_pct:.1f} %")
    if role_first:
        flags.append(
            "pp t/s and est_ppt not meaningful in " + ", ".join(role_first) + ": the server "
            "sent its first chunk before prefill (ttfr far below e2e_ttft)"
        )
    if noisy:
        metric = SPREAD_METRIC.get(bench.kind, "throughput")
        flags.append(
            f"run-to-run spread of {metric} above ±{SPREAD_LIMIT_PCT:g} %: " + ", ".join(noisy)
        )
    flags += [flag for check in TOKEN_CHECKS if (flag := check(bench)) is not None]
    bench.flags = flags
    return bench


def gate_capacity(sweep: RateSweepSummary, max_error_rate: float) -> RateSweepSummary:
    """The capacity re-read without the steps whose failed share is over the gate: for each
    p95-TTFT limit, the highest remaining rate under it (the rule the summary was written by)."""
    excluded = [s for s in sweep.steps if over_gate(s, max_error_rate)]
    if not excluded:
        return sweep
    kept = [s for s in sweep.steps if s not in excluded]
    capacity = capacity_by_slo(kept, sweep.capacity_by_slo_ms)
    return sweep.model_copy(
        update={
            "capacity_by_slo_ms": capacity,
            "excluded_rps": [s.configured_rps for s in excluded],
        }
    )
