"""``vllm bench serve --save-result`` JSON, and its ``--save-detailed`` per-request arrays.

The run-wide numbers keep vLLM's key names, which are Arena's open-loop metric keys
(``arena.common.metrics.open_loop``). The detailed arrays (``start_times`` on the client's
``perf_counter``, ``ttfts`` and ``itls`` in seconds, ``input_lens``, ``output_lens``,
``errors``) become ``RequestSample``s on a clock whose origin is the first request's start.
A result written by ``arenactl export`` also carries ``arena_metrics``: Arena's own numbers for
that run (its extras included, ``null`` where Arena had none, where vLLM's keys say 0); those
are taken instead of vLLM's keys, so an exported run imports back exactly. Speculative-decoding
counters (``spec_decode_*``) are kept when the server drafted tokens.
"""

import math
import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from arena.common.metrics.open_loop import SPEC_DECODE_KEYS, VLLM_PEAK_KEYS, VLLM_TOTAL_KEYS
from arena.common.parsers import ParseError, json_object
from arena.common.schemas.sample import RequestSample

DISTRIBUTION_METRIC = re.compile(r"^(mean|median|std|p\d+(\.\d+)?)_(ttft|tpot|itl|e2el)_ms$")
DETAILED = ("start_times", "ttfts", "itls", "input_lens", "output_lens", "errors")


@dataclass(frozen=True)
class VllmResult:
    request_rate: float
    """Configured rate; ``inf`` for all-at-once."""
    burstiness: float | None
    max_concurrency: int | None
    num_prompts: int | None
    model_id: str | None
    date: str | None
    metrics: dict[str, float]
    """Arena's open-loop keys with a value (vLLM's ``null`` goodput is left out)."""
    detailed: dict[str, list[Any]] | None
    """The per-request arrays, when all of them were saved."""


def _rate(value: Any) -> float:
    if isinstance(value, str) and value.lower() in ("inf", "infinity"):
        return math.inf
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ParseError(f"'request_rate' is {value!r}, expected a positive number or 'inf'")


def _number(document: dict[str, Any], key: str) -> float | None:
    value = document.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParseError(f"{key!r} is {value!r}, expected a number")
    return float(value)


def _detailed(document: dict[str, Any]) -> dict[str, list[Any]] | None:
    if "start_times" not in document:
        return None
    arrays = {key: document.get(key) for key in DETAILED}
    missing = [key for key, value in arrays.items() if not isinstance(value, list)]
    if missing:
        raise ParseError(f"detailed arrays incomplete: {', '.join(missing)} missing")
    lengths = {len(value) for value in arrays.values() if isinstance(value, list)}
    if len(lengths) != 1:
        raise ParseError("detailed arrays have different lengths")
    return {key: list(value) for key, value in arrays.items() if isinstance(value, list)}


def parse_result(text: str) -> VllmResult:
    document = json_object(text)
    if "request_rate" not in document or "completed" not in document:
        raise ParseError("not a vLLM result: 'request_rate' or 'completed' missing")
    arena = document.get("arena_metrics")
    if arena is not None and not isinstance(arena, dict):
        raise ParseError("'arena_metrics' should be an object")
    source = arena if arena is not None else document
    keys = (
        list(arena)
        if arena is not None
        else [
            *VLLM_TOTAL_KEYS,
            *VLLM_PEAK_KEYS,
            *SPEC_DECODE_KEYS,
            *(key for key in document if DISTRIBUTION_METRIC.match(key)),
        ]
    )
    metrics = {key: value for key in keys if (value := _number(source, key)) is not None}
    max_concurrency = _number(document, "max_concurrency")
    num_prompts = _number(document, "num_prompts")
    return VllmResult(
        request_rate=_rate(document["request_rate"]),
        burstiness=_number(document, "burstiness"),
        max_concurrency=int(max_concurrency) if max_concurrency is not None else None,
        num_prompts=int(num_prompts) if num_prompts is not None else None,
        model_id=document.get("model_id"),
        date=document.get("date"),
        metrics=metrics,
        detailed=_detailed(document),
    )


def request_samples(
    result: VllmResult, benchmark: str, variant: str, run: int = 0
) -> list[RequestSample]:
    """The detailed arrays as Arena samples; empty when the result kept none.

    vLLM records no end time: a success ends at its last chunk (first token plus every ITL).
    A failure keeps its error text and no token times.
    """
    arrays = result.detailed
    if not arrays or not arrays["start_times"]:
        return []
    origin = min(float(t) for t in arrays["start_times"])
    samples = []
    for index, start in enumerate(arrays["start_times"]):
        sent = float(start) - origin
        error = arrays["errors"][index] or None
        ttft = arrays["ttfts"][index]
        chunks: list[float] = []
        if error is None and ttft:
            gaps = [float(gap) for gap in arrays["itls"][index] or []]
            chunks = list(accumulate(gaps, initial=sent + float(ttft)))
        samples.append(
            RequestSample(
                benchmark=benchmark,
                variant=variant,
                run=run,
                index=index,
                sent_s=sent,
                first_response_s=chunks[0] if chunks else None,
                first_token_s=chunks[0] if chunks else None,
                end_s=chunks[-1] if chunks else None,
                chunk_times_s=chunks,
                prompt_tokens=arrays["input_lens"][index],
                completion_tokens=arrays["output_lens"][index] if chunks else None,
                error=str(error) if error is not None else None,
            )
        )
    return samples
