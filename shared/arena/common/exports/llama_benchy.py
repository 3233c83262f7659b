"""A closed-loop benchmark as ``llama-benchy --format json`` writes it (llama-benchy 0.4.0).

Top level: ``version, timestamp, latency_mode, latency_ms, model, prefix_caching_enabled,
max_concurrency, benchmarks``. One entry per variant (pp × tg × depth × concurrency) with its
sizes and ``{mean, std, values}`` for each metric, ``null`` when it has no value: per-request
values are pooled over every run's requests, batch throughputs give one value per run, and with
c = 1 the "total" throughputs are the per-request ones (llama-benchy's ``BenchmarkReport.add``).
The optional time series (``--save-*-throughput-timeseries``) are written as ``null``. Where
the engine reported cached prompt tokens, each entry also carries Arena's ``cache_hit_pct`` (one
value per run), and where they have values Arena's ``e2e_ttfc`` (per request), wall-clock
``output_throughput`` and output-token checks (``metrics.tokens.TOKEN_CHECKS``), one value per
run, which llama-benchy itself does not write.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from arena.common import stats
from arena.common.metrics.closed_loop import (
    BENCHY_METRICS,
    batch_values,
    request_values,
    with_single_request_totals,
)
from arena.common.metrics.sessions import cache_hit_pct
from arena.common.metrics.tokens import TOKEN_CHECKS, token_checks
from arena.common.schemas.sample import RequestSample

SCHEMA_VERSION = "0.4.0"


@dataclass(frozen=True)
class BenchyVariant:
    """One variant's measured runs (one batch of ``concurrency`` requests per run)."""

    prompt_size: int
    response_size: int
    context_size: int
    concurrency: int
    runs: Sequence[Sequence[RequestSample]]
    expected_prompt_tokens: int | None = None
    is_context_prefill_phase: bool = False


def _metric(values: Sequence[float]) -> dict[str, Any] | None:
    if not values:
        return None
    return {"mean": stats.mean(values), "std": stats.std(values), "values": list(values)}


def _variant_values(variant: BenchyVariant) -> dict[str, list[float]]:
    pooled: dict[str, list[float]] = {}
    per_batch: dict[str, list[float]] = {}
    for samples in variant.runs:
        for key, values in request_values(samples, variant.expected_prompt_tokens).items():
            pooled.setdefault(key, []).extend(values)
        for key, value in batch_values(samples, variant.expected_prompt_tokens).items():
            per_batch.setdefault(key, [])
            if value is not None:
                per_batch[key].append(value)
    return with_single_request_totals(pooled | per_batch, variant.concurrency, [])


def _benchmark(variant: BenchyVariant) -> dict[str, Any]:
    values = _variant_values(variant)
    entry: dict[str, Any] = {
        "concurrency": variant.concurrency,
        "context_size": variant.context_size,
        "prompt_size": variant.prompt_size,
        "response_size": variant.response_size,
        "is_context_prefill_phase": variant.is_context_prefill_phase,
    }
    entry |= {key: _metric(values.get(key, [])) for key in BENCHY_METRICS}
    per_run = {"cache_hit_pct": [cache_hit_pct(samples) for samples in variant.runs]}
    checks = [token_checks(samples) for samples in variant.runs]
    per_run |= {key: [run[key] for run in checks] for key in TOKEN_CHECKS}
    extras = {key: [v for v in found if v is not None] for key, found in per_run.items()}
    extras["e2e_ttfc"] = values.get("e2e_ttfc", [])
    extras["output_throughput"] = values.get("output_throughput", [])  # wall clock, per run
    entry |= {key: _metric(found) for key, found in extras.items() if found}
    entry["throughput_over_time"] = None
    entry["requests_throughput_over_time"] = None
    return entry


def llama_benchy_json(
    variants: Sequence[BenchyVariant],
    *,
    model: str,
    latency_mode: str,
    latency_ms: float,
    timestamp: str,
    prefix_caching_enabled: bool = False,
    version: str = SCHEMA_VERSION,
) -> dict[str, Any]:
    """The JSON object; ``timestamp`` as llama-benchy writes it: ``%Y-%m-%d %H:%M:%SZ`` (UTC)."""
    return {
        "version": version,
        "timestamp": timestamp,
        "latency_mode": latency_mode,
        "latency_ms": latency_ms,
        "model": model,
        "prefix_caching_enabled": prefix_caching_enabled,
        "max_concurrency": max((v.concurrency for v in variants), default=1),
        "benchmarks": [_benchmark(v) for v in variants],
    }
