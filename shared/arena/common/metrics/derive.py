"""A job's numbers from its raw samples: per run, then mean ± std over runs. The controller
stores them for a measured job (``controller.results.aggregation``); a verifier re-derives
them from a signed export's samples to check the result files beside them."""

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from arena.common.metrics.client_load import cpu_util_of
from arena.common.metrics.closed_loop import closed_loop_metrics
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.metrics.sessions import cache_hit_pct, session_run_metrics, variant_load
from arena.common.metrics.summary import summarize, summarize_closed_loop
from arena.common.schemas.job import JobSpec
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import Benchmark, ClosedLoopBenchmark, SessionBenchmark
from arena.common.stats import MeanStd
from arena.common.suites.variants import ClosedVariant, Variant, variants


@dataclass(frozen=True)
class SessionStep:
    """One load step of a session benchmark as its samples name it: a capacity search makes
    its steps at run time, so they are known from the samples, not from the spec."""

    key: str
    load: float | None
    """``metrics.sessions.variant_load`` of the key; ``None`` for a replay."""


MeasuredVariant = Variant | SessionStep


def measured_variants(bench: Benchmark, present: Collection[str]) -> list[MeasuredVariant]:
    """The variants to aggregate, in order: a closed- or open-loop benchmark's declared ones;
    a session benchmark's steps that ``present`` (the variant keys of its samples) names, in
    load order."""
    if isinstance(bench, SessionBenchmark):
        steps = sorted(
            (SessionStep(key, variant_load(key)) for key in present),
            key=lambda step: (step.load is None, step.load or 0.0, step.key),
        )
        return list(steps)
    return list(variants(bench))


def run_metrics(
    bench: Benchmark,
    variant: MeasuredVariant,
    samples: list[RequestSample],
    client_cpu_util: float | None = None,
) -> dict[str, float | None]:
    """One run's metrics; ``cache_hit_pct`` as well wherever the engine reported cached
    tokens (every kind)."""
    if isinstance(bench, SessionBenchmark):
        return session_run_metrics(samples, bench, variant_load(variant.key))
    if isinstance(variant, ClosedVariant):
        metrics = closed_loop_metrics(
            samples, concurrency=variant.concurrency, expected_prompt_tokens=variant.pp
        )
    else:
        assert not isinstance(bench, ClosedLoopBenchmark)
        slo_ms = {str(metric): limit for metric, limit in bench.goodput_slo_ms.items()}
        metrics = open_loop_metrics(samples, bench.percentiles, slo_ms, client_cpu_util)
    if (hit := cache_hit_pct(samples)) is not None:
        metrics["cache_hit_pct"] = hit
    return metrics


def summary(
    variant: MeasuredVariant,
    runs: list[list[RequestSample]],
    per_run: list[dict[str, float | None]],
) -> dict[str, MeanStd]:
    """Mean ± std over runs (closed loop: llama-benchy's pooling, plus the runs' cache hit
    rates)."""
    if isinstance(variant, ClosedVariant):
        pooled = summarize_closed_loop(
            runs, concurrency=variant.concurrency, expected_prompt_tokens=variant.pp
        )
        hits = [hit for metrics in per_run if (hit := metrics.get("cache_hit_pct")) is not None]
        return pooled | ({"cache_hit_pct": MeanStd.of(hits)} if hits else {})
    return summarize(per_run)


def derived_summaries(
    spec: JobSpec, samples: Iterable[RequestSample], provenance: dict[str, Any]
) -> dict[tuple[str, str], dict[str, MeanStd]]:
    """Per (benchmark, variant) with samples, the summary a measured job stores for it."""
    grouped: dict[tuple[str, str, int], list[RequestSample]] = defaultdict(list)
    for sample in samples:
        grouped[(sample.benchmark, sample.variant, sample.run)].append(sample)
    derived = {}
    for bench in spec.benchmarks:
        present = {variant for (benchmark, variant, _) in grouped if benchmark == bench.id}
        for variant in measured_variants(bench, present):
            runs = [
                found
                for run in range(spec.runs)
                if (found := grouped.get((bench.id, variant.key, run)))
            ]
            per_run = [
                run_metrics(
                    bench,
                    variant,
                    found,
                    cpu_util_of(provenance, bench.id, variant.key, found[0].run),
                )
                for found in runs
            ]
            if runs:
                derived[(bench.id, variant.key)] = summary(variant, runs, per_run)
    return derived
