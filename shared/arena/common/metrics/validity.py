"""Whether a benchmark's numbers may be read as measurements.

The checks, applied wherever results are served (measured and imported alike), and the
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
  is std / mean. Beside it: which of client, box or engine moved between the runs
  (``metrics.attribution``), and the runs whose GPU slowed down (``metrics.box``: SM clock more
  than 5 % below the benchmark's fastest run, or a thermal/power throttle). Session
  benchmarks have none: each load step is judged by the share of its
  sessions meeting the SLO tiers, and their capacity is read off those steps.
- **Over-saturation.** An open-loop rate step whose requests in flight and TTFT kept growing
  through a run (``metrics.oversaturation``) had no steady state: flagged with the steps named,
  and never read as capacity (``analysis.capacity``). The benchmark stays valid: the other
  steps are measurements.
- **No decode time.** A closed-loop variant that has requests but no tg t/s (every answer came
  in one read, ``no_decode_time``) is flagged, naming the variants.
- **Saturated client.** A variant with a run whose client crossed a limit (``client_verdict``:
  p99 send lag, p99 event-loop lag, p99 read stall, busiest core's CPU share) measured the
  client as much as the server: *invalid*, flagged with the worst run and its values past their
  limits, unless the benchmark set ``accept_saturated_client`` (then the same words are a
  warning). Results of agents before issue 24 (no loop lag or read stall measured: their send
  lag was stamped after the write and fired falsely) keep a warning and stay valid.

Listings import this module for its limits (``arena.common.views``), so it loads no NumPy: only
``spread_pct``, which the results layer calls on per-run values, needs ``arena.common.stats``.
"""

from collections.abc import Sequence

from arena.common.analysis.cache import ENGINE_HIT_PCT, client_hit_pct
from arena.common.analysis.capacity import capacity_by_slo, over_gate, oversaturated_rates
from arena.common.metrics.attribution import spread_attribution
from arena.common.metrics.box import RunFigures, slowed_runs
from arena.common.metrics.client_verdict import LIMITS, WORST_RUN, warning_evidence, worst_key
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


def no_decode_time(bench: BenchmarkResult) -> str | None:
    """Closed-loop variants with requests but no tg t/s: every answer's tokens came in one read.

    Tokens are timed by the read that brought them (llama-benchy's rule, which Arena follows).
    When a whole answer sits in one read (a model that decodes faster than the client turns
    around, or a client descheduled on a loaded box), its tokens share one time and there is
    no decode time to divide by; when that holds for every request of every run, llama-benchy
    and Arena report no tg t/s for the variant at all. Said, so the gap is not a silent one."""
    if bench.kind != "closed_loop":
        return None
    missing = [
        variant.key
        for variant in bench.variants
        if "e2e_ttft" in variant.metrics and "tg_throughput" not in variant.metrics
    ]
    if not missing:
        return None
    return (
        "no tg t/s in " + ", ".join(missing) + ": every answer's tokens arrived in one read, so "
        "there was no decode time to divide by (a model too fast for the client, or a loaded box)"
    )


def slowed_box_flags(runs: RunFigures) -> list[str]:
    """The runs whose GPU slowed down (SM clock fell, or a thermal/power throttle), shown
    beside the spread: a warning, the numbers stay valid."""
    slowed = slowed_runs(runs)
    if not slowed:
        return []
    return [f"box slowed in {len(slowed)} run(s): " + ", ".join(slowed)]


def spread_cause_flags(bench: BenchmarkResult, runs: RunFigures) -> list[str]:
    """For each variant over the spread limit, which of client, box or engine moved."""
    spreads = {v.key: v.spread_pct for v in bench.variants if v.spread_pct is not None}
    return spread_attribution(spreads, runs, SPREAD_LIMIT_PCT)


def saturated_client(bench: BenchmarkResult, accepted: bool) -> str | None:
    """The flag for variants whose client was saturated in some run; invalidates the benchmark
    unless ``accepted`` (the benchmark's ``accept_saturated_client``)."""
    found = []
    measured = False
    for variant in bench.variants:
        flagged = variant.metrics.get("client_saturated")
        if flagged is None or not flagged.mean:
            continue
        measured |= _loop_lag_measured(variant)
        keys = (WORST_RUN, *(worst_key(limit.key) for limit in LIMITS))
        worst = {key: stat.mean for key in keys if (stat := variant.metrics.get(key))}
        runs = flagged.n or variant.runs
        evidence = warning_evidence(flagged.mean, runs, worst)
        found.append(f"{variant.key} ({evidence})")
    if not found:
        return None
    said = "client fell behind in " + "; ".join(found) + ": its latencies include its own delay"
    if accepted:
        return f"warning: {said} (accept_saturated_client)"
    if not measured:  # an agent before issue 24: stamped sends after the write, no loop lag
        return f"warning: {said}"
    bench.valid = False
    return f"invalid: {said}"


def _loop_lag_measured(variant: VariantResult) -> bool:
    """Whether the variant's verdict rests on the issue-24 client figures (its agent watched
    the event loop: loop lag or read stalls, which a session step carries in its samples).
    Results of older agents stamped ``sent_s`` after the write, which made their send lag fire
    falsely: they keep the warning they had and are not made invalid when read again."""
    keys = ("loop_lag_p99_ms", "read_stall_p99_ms", "read_stall_ttft_p99_pct")
    return any(
        variant.metrics.get(name) is not None for key in keys for name in (key, worst_key(key))
    )


def assess(
    bench: BenchmarkResult,
    max_error_rate: float = MAX_ERROR_RATE,
    requests: tuple[int, int] | None = None,
    accept_saturated_client: bool = False,
    runs: RunFigures | None = None,
) -> BenchmarkResult:
    """Fill in ``valid``, ``failed_share``, ``flags`` and each variant's ``not_meaningful`` and
    ``spread_pct`` (kept when the caller computed it from per-run values). ``requests`` is
    (failed, all) when the caller counted the samples itself; ``runs`` each variant's per-run
    metrics (box, client and engine figures), where the caller has them."""
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
    if client := saturated_client(bench, accept_saturated_client):
        flags.append(client)
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
    flags += oversaturation_flags(bench)
    if single_read := no_decode_time(bench):
        flags.append(single_read)
    flags += spread_cause_flags(bench, runs or {})
    flags += slowed_box_flags(runs or {})
    flags += [flag for check in TOKEN_CHECKS if (flag := check(bench)) is not None]
    bench.flags = flags
    return bench


def oversaturation_flags(bench: BenchmarkResult) -> list[str]:
    """One flag naming the rate steps with no steady state, or none."""
    rates = oversaturated_rates(bench) if bench.kind == "open_loop" else []
    if not rates:
        return []
    steps = ", ".join(f"{rate:g}" for rate in rates)
    return [
        f"over-saturated at {steps} req/s: requests in flight and TTFT kept growing "
        "(no steady state; not capacity)"
    ]


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
