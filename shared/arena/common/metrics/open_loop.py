"""One open-loop run's metrics with ``vllm bench serve``'s definitions and JSON key names.

Per successful request (vLLM ``calculate_metrics``):

- TTFT = first generated-output chunk − send, reasoning included (vLLM's and MLPerf's TTFT);
  TTFC = first answer-content chunk − send (Arena's; ``docs/generator.md`` maps both to each
  tool's definition); E2EL = last generated-output chunk − send;
- output tokens = ``metrics.tokens.output_tokens``: the tokenizer's count of the streamed
  answer where the agent counted it, else ``usage.completion_tokens``, else one per chunk;
- TPOT = (E2EL − TTFT) / (output − 1), only when output > 1 (0 counts for goodput);
- ITL = every gap between consecutive generated chunks, pooled over all requests.

Run-wide: duration = first dispatch → last completion; throughputs divide by it; goodput counts
requests meeting every SLO (``metric ≤ slo``); ``max_output_tokens_per_s`` counts one token per
generated chunk in 1 s buckets from the first successful send; ``max_concurrent_requests`` is
the most requests active in one such bucket (vLLM 0.33, ``calculate_metrics``). Aggregates are
mean, median, population std and linear percentiles (``arena.common.stats``), in milliseconds.

Differences, on purpose: a metric without any data is ``None`` (vLLM prints 0), and
``request_goodput`` is ``None`` without SLOs (as in vLLM's JSON). Arena adds client queue time,
send lag and per-user output speed (1/TPOT), which vLLM folds into other numbers or omits, and
the client's own figures (event-loop lag, read stalls, CPU share, headroom used) and their
verdict ``client_saturated`` (``client_verdict`` defines the limits).
"""

import math
from collections.abc import Mapping, Sequence

import numpy as np

from arena.common import stats
from arena.common.metrics.client_load import RunClientFigures
from arena.common.metrics.client_verdict import client_run_metrics, with_verdict
from arena.common.metrics.oversaturation import oversaturated
from arena.common.metrics.tokens import output_tokens
from arena.common.schemas.sample import RequestSample

__all__ = ["output_tokens"]  # the one rule lives in metrics.tokens; exports import it from here

Metrics = dict[str, float | None]

LATENCY_METRICS = ("ttft", "tpot", "itl", "e2el")
ARENA_LATENCY_METRICS = ("ttfc",)
"""Distributions Arena adds beside vLLM's, with the same mean/median/std/percentile keys."""


VLLM_TOTAL_KEYS = (
    "duration",
    "completed",
    "failed",
    "total_input_tokens",
    "total_output_tokens",
    "request_throughput",
    "request_goodput",
    "output_throughput",
    "total_token_throughput",
)
VLLM_PEAK_KEYS = ("max_output_tokens_per_s", "max_concurrent_requests")
"""Run-level keys of a vLLM ``--save-result`` file, in its order (totals, then peaks)."""
SPEC_DECODE_KEYS = (
    "spec_decode_acceptance_rate",
    "spec_decode_acceptance_length",
    "spec_decode_num_drafts",
    "spec_decode_draft_tokens",
    "spec_decode_accepted_tokens",
)
"""Speculative-decoding counters a vLLM result carries when the server drafted tokens
(acceptance rate in %, length = tokens per drafting step)."""


def percentile_key(p: float, metric: str) -> str:
    """vLLM's key: ``p99_ttft_ms``, ``p99.9_ttft_ms``."""
    word = str(int(p)) if int(p) == p else str(p)
    return f"p{word}_{metric}_ms"


def succeeded(sample: RequestSample) -> bool:
    """vLLM counts a request as successful once a first token arrived and no error occurred."""
    return sample.ok and sample.first_token_s is not None


def ttft_s(sample: RequestSample) -> float:
    assert sample.first_token_s is not None
    return sample.first_token_s - sample.sent_s


def ttfc_s(sample: RequestSample) -> float | None:
    """Time to the first answer content; ``None`` when no content came (or was not recorded)."""
    if sample.first_content_s is None:
        return None
    return sample.first_content_s - sample.sent_s


def _last_output_s(sample: RequestSample) -> float:
    """Where vLLM 0.33's latency ends: the last generated-output chunk (usage and [DONE] after it
    do not count); ``end_s`` only for a sample without chunk times."""
    if sample.chunk_times_s:
        return sample.chunk_times_s[-1]
    assert sample.end_s is not None
    return sample.end_s


def e2el_s(sample: RequestSample) -> float:
    return _last_output_s(sample) - sample.sent_s


def tpot_s(sample: RequestSample) -> float | None:
    out = output_tokens(sample)
    if out <= 1:
        return None
    return (e2el_s(sample) - ttft_s(sample)) / (out - 1)


def itls_s(sample: RequestSample) -> list[float]:
    times = sample.chunk_times_s
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


def run_duration_s(samples: Sequence[RequestSample]) -> float | None:
    """First dispatch (scheduled arrival, else send) → last completion, over every request.

    vLLM starts its timer just before the arrival loop, so its duration also holds the gap
    before the first arrival; Arena's samples start at the first arrival instead.
    """
    starts = [s.scheduled_s if s.scheduled_s is not None else s.sent_s for s in samples]
    ends = [s.end_s for s in samples if s.end_s is not None]
    if not starts or not ends:
        return None
    return max(ends) - min(starts)


def max_output_tokens_per_s(samples: Sequence[RequestSample]) -> float | None:
    """Most generated chunks in one 1 s bucket, buckets counted from the first successful send."""
    done = [s for s in samples if succeeded(s)]
    if not done:
        return None
    first_start = min(s.sent_s for s in done)
    last_end = max(s.end_s for s in done if s.end_s is not None)
    buckets = np.zeros(int(math.ceil(last_end - first_start)) + 1)
    for sample in done:
        for t in sample.chunk_times_s:
            bucket = int(t - first_start)
            if 0 <= bucket < len(buckets):
                buckets[bucket] += 1
    return float(np.max(buckets))


def max_concurrent_requests(samples: Sequence[RequestSample]) -> int | None:
    """Most successful requests active during one 1 s bucket (vLLM 0.33's definition).

    Buckets count from the first successful send; a request is active in every bucket from
    ``int(send − first)`` to ``int(end − first)`` inclusive, where end = send + E2EL. This is
    not a sweep line: two requests that merely share a second both count.
    """
    done = [s for s in samples if succeeded(s)]
    if not done:
        return None
    first_start = min(s.sent_s for s in done)
    spans = [(int(s.sent_s - first_start), int(_last_output_s(s) - first_start)) for s in done]
    buckets = np.zeros(max(end for _, end in spans) + 1, dtype=int)
    for start, end in spans:
        buckets[start : end + 1] += 1
    return int(np.max(buckets))


def _distribution(values_s: Sequence[float], metric: str, percentiles: Sequence[float]) -> Metrics:
    keys = [f"mean_{metric}_ms", f"median_{metric}_ms", f"std_{metric}_ms"]
    keys += [percentile_key(p, metric) for p in percentiles]
    if not values_s:
        return dict.fromkeys(keys, None)
    ms = [v * 1000.0 for v in values_s]
    out: Metrics = {
        f"mean_{metric}_ms": stats.mean(ms),
        f"median_{metric}_ms": stats.median(ms),
        f"std_{metric}_ms": stats.std(ms),
    }
    for p in percentiles:
        out[percentile_key(p, metric)] = stats.percentile(ms, p)
    return out


def _good_requests(done: Sequence[RequestSample], slo_ms: Mapping[str, float]) -> int:
    def meets(sample: RequestSample) -> bool:
        measured_s = {
            "ttft": ttft_s(sample),
            "tpot": tpot_s(sample) or 0.0,
            "e2el": e2el_s(sample),
        }
        return all(measured_s[name] <= limit / 1000.0 for name, limit in slo_ms.items())

    return sum(1 for sample in done if meets(sample))


def client_side(samples: Sequence[RequestSample]) -> Metrics:
    """Arena extras: time waiting for the concurrency gate, and lateness of the send itself."""
    queue_ms = [
        (s.queued_s - s.scheduled_s) * 1000.0
        for s in samples
        if s.queued_s is not None and s.scheduled_s is not None
    ]
    lag_ms = [
        (s.sent_s - max(s.scheduled_s, s.queued_s if s.queued_s is not None else s.scheduled_s))
        * 1000.0
        for s in samples
        if s.scheduled_s is not None
    ]
    return {
        "mean_client_queue_ms": stats.mean(queue_ms) if queue_ms else None,
        "p99_client_queue_ms": stats.percentile(queue_ms, 99) if queue_ms else None,
        "p50_send_lag_ms": stats.percentile(lag_ms, 50) if lag_ms else None,
        "p99_send_lag_ms": stats.percentile(lag_ms, 99) if lag_ms else None,
    }


def open_loop_metrics(
    samples: Sequence[RequestSample],
    percentiles: Sequence[float] = (50, 90, 95, 99),
    goodput_slo_ms: Mapping[str, float] | None = None,
    client: RunClientFigures | None = None,
) -> Metrics:
    """All of one run's numbers, keyed as in vLLM's ``--save-result`` JSON (plus Arena extras).

    ``client``: the generator's figures for this run (``metrics.client_load``), when known.
    """
    done = [s for s in samples if succeeded(s)]
    duration = run_duration_s(samples)
    total_input = sum(s.prompt_tokens or 0 for s in done)
    total_output = sum(output_tokens(s) for s in done)

    def per_second(count: float) -> float | None:
        return count / duration if duration else None

    tpots = [t for t in (tpot_s(s) for s in done) if t is not None]
    metrics: Metrics = {
        "completed": float(len(done)),
        "failed": float(len(samples) - len(done)),
        "duration": duration,
        "total_input_tokens": float(total_input),
        "total_output_tokens": float(total_output),
        "request_throughput": per_second(len(done)),
        "request_goodput": (
            per_second(_good_requests(done, goodput_slo_ms)) if goodput_slo_ms else None
        ),
        "output_throughput": per_second(total_output),
        "total_token_throughput": per_second(total_input + total_output),
        "max_output_tokens_per_s": max_output_tokens_per_s(samples),
    }
    peak_concurrency = max_concurrent_requests(samples)
    metrics["max_concurrent_requests"] = (
        float(peak_concurrency) if peak_concurrency is not None else None
    )
    metrics |= _distribution([ttft_s(s) for s in done], "ttft", percentiles)
    ttfcs = [t for t in map(ttfc_s, done) if t is not None]
    metrics |= _distribution(ttfcs, "ttfc", percentiles)
    metrics |= _distribution(tpots, "tpot", percentiles)
    metrics |= _distribution([gap for s in done for gap in itls_s(s)], "itl", percentiles)
    metrics |= _distribution([e2el_s(s) for s in done], "e2el", percentiles)
    metrics |= client_side(samples)
    metrics |= client_run_metrics(samples, client)
    with_verdict(metrics)
    user_speeds = [1.0 / t for t in tpots if t > 0]
    metrics["mean_user_output_tokens_per_s"] = stats.mean(user_speeds) if user_speeds else None
    metrics["oversaturated"] = _flag(oversaturated(samples))
    return metrics


def _flag(value: bool | None) -> float | None:
    return None if value is None else 1.0 if value else 0.0
