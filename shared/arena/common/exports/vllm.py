"""One open-loop run as ``vllm bench serve --save-result --save-detailed`` writes it (vLLM 0.33).

Top-level keys and their order are those of the tool's JSON (the fixture files under
``dgx-spark-benchmarks/results/*/*/*/07-*.json``); with ``detailed`` the per-request arrays of
vLLM 0.33 sit between the totals and the peaks, where that version writes them.
Where Arena keeps ``None`` for "no data" vLLM writes 0, so the export does too (except
``request_goodput``, which vLLM leaves null without SLOs). Per-request arrays follow request
order; ``start_times`` are seconds on the job clock (vLLM: its own ``perf_counter``, equally
arbitrary in origin); ``generated_texts`` are empty because Arena never keeps generated text.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arena.common.metrics.open_loop import (
    LATENCY_METRICS,
    VLLM_PEAK_KEYS,
    VLLM_TOTAL_KEYS,
    e2el_s,
    itls_s,
    open_loop_metrics,
    output_tokens,
    percentile_key,
    succeeded,
    ttft_s,
)
from arena.common.schemas.sample import RequestSample

INTEGER_KEYS = frozenset(
    {"completed", "failed", "total_input_tokens", "total_output_tokens", "max_concurrent_requests"}
)
DETAILED_KEYS = (
    "input_lens",
    "output_lens",
    "ttfts",
    "itls",
    "latencies",
    "start_times",
    "queue_times",
    "generated_texts",
    "errors",
)
"""vLLM 0.33's per-request arrays, in its order (between the totals and the peaks)."""


@dataclass(frozen=True)
class VllmRunInfo:
    """What ``vllm bench serve`` writes about its invocation rather than its measurements."""

    model_id: str
    num_prompts: int
    request_rate: float
    burstiness: float = 1.0
    max_concurrency: int | None = None
    date: str = ""
    """``%Y%m%d-%H%M%S`` as vLLM writes it."""
    tokenizer_id: str | None = None
    label: str | None = None
    endpoint_type: str = "openai-chat"
    backend: str = "openai-chat"


def _number(key: str, value: float | None) -> float | int | None:
    if value is None:
        return None if key == "request_goodput" else 0
    return int(value) if key in INTEGER_KEYS else value


def _itls(sample: RequestSample) -> list[float]:
    times = sample.chunk_times_s
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


def _detailed(samples: Sequence[RequestSample]) -> dict[str, list[Any]]:
    """Failed requests get vLLM's defaults: 0 tokens, 0.0 times, no ITLs, the error text."""
    ordered = sorted(samples, key=lambda s: s.index)
    done = [succeeded(s) for s in ordered]
    return {
        "input_lens": [s.prompt_tokens or 0 for s in ordered],
        "output_lens": [output_tokens(s) if ok else 0 for s, ok in zip(ordered, done, strict=True)],
        "ttfts": [ttft_s(s) if ok else 0.0 for s, ok in zip(ordered, done, strict=True)],
        "itls": [itls_s(s) if ok else [] for s, ok in zip(ordered, done, strict=True)],
        "latencies": [e2el_s(s) if ok else 0.0 for s, ok in zip(ordered, done, strict=True)],
        "start_times": [s.sent_s for s in ordered],
        "queue_times": [
            s.queued_s - s.scheduled_s
            if s.queued_s is not None and s.scheduled_s is not None
            else 0.0
            for s in ordered
        ],
        "generated_texts": ["" for _ in ordered],
        "errors": [s.error or "" for s in ordered],
    }


def vllm_save_result(
    samples: Sequence[RequestSample],
    info: VllmRunInfo,
    *,
    percentiles: Sequence[float] = (99,),
    percentile_metrics: Sequence[str] = ("ttft", "tpot", "itl"),
    goodput_slo_ms: Mapping[str, float] | None = None,
    detailed: bool = True,
) -> dict[str, Any]:
    """The JSON object (ready for ``json.dump``); defaults are vLLM's own CLI defaults."""
    metrics = open_loop_metrics(samples, percentiles, goodput_slo_ms)
    result: dict[str, Any] = {
        "date": info.date,
        "endpoint_type": info.endpoint_type,
        "backend": info.backend,
        "label": info.label,
        "model_id": info.model_id,
        "tokenizer_id": info.tokenizer_id or info.model_id,
        "num_prompts": info.num_prompts,
        "request_rate": "inf" if math.isinf(info.request_rate) else info.request_rate,
        "burstiness": info.burstiness,
        "max_concurrency": info.max_concurrency,
    }
    result |= {key: _number(key, metrics[key]) for key in VLLM_TOTAL_KEYS}
    if detailed:
        result |= _detailed(samples)
    result |= {key: _number(key, metrics[key]) for key in VLLM_PEAK_KEYS}
    result["rtfx"] = 0.0  # audio real-time factor: 0 for text benchmarks, as vLLM writes it
    for metric in LATENCY_METRICS:
        if metric not in percentile_metrics:
            continue
        keys = [f"mean_{metric}_ms", f"median_{metric}_ms", f"std_{metric}_ms"]
        keys += [percentile_key(p, metric) for p in percentiles]
        result |= {key: metrics[key] or 0.0 for key in keys}
    return result
