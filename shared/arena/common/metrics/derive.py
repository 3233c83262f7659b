"""A job's numbers from its raw samples: per run, then mean ± std over runs. The controller
stores them for a measured job (``controller.results.aggregation``); a verifier re-derives
them from a signed export's samples to check the result files beside them."""

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from arena.common.metrics.client_load import RunClientFigures, run_figures_of
from arena.common.metrics.client_verdict import (
    client_means,
    client_run_metrics,
    with_verdict,
    worst_run,
)
from arena.common.metrics.closed_loop import closed_loop_metrics
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.metrics.sessions import cache_hit_pct, session_run_metrics
from arena.common.metrics.summary import summarize, summarize_closed_loop
from arena.common.metrics.tokens import TOKEN_CHECKS, token_checks
from arena.common.schemas.job import JobSpec
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import Benchmark, ClosedLoopBenchmark, SessionBenchmark
from arena.common.stats import MeanStd
from arena.common.suites.variants import (
    ClosedVariant,
    SessionVariant,
    Variant,
    parse_session_variant,
    variants,
)


def measured_variants(bench: Benchmark, present: Collection[str]) -> list[Variant]:
    """The variants to aggregate, in order: a closed- or open-loop benchmark's declared ones;
    the load steps of a session benchmark that ``present`` (the variant keys of its samples)
    names, in load order: a capacity search makes its steps at run time, so they are known
    from the samples, not from the spec."""
    if isinstance(bench, SessionBenchmark):
        steps = [step for key in present if (step := parse_session_variant(key)) is not None]
        steps.sort(key=lambda step: (step.over == "replay", step.load, step.key))
        return list(steps)
    return variants(bench)


def step_load(variant: SessionVariant) -> float | None:
    """The load a step ran at; ``None`` for a replay, whose load is the trace's own."""
    return None if variant.over == "replay" else variant.load


def run_metrics(
    bench: Benchmark,
    variant: Variant,
    samples: list[RequestSample],
    client: RunClientFigures | None = None,
) -> dict[str, float | None]:
    """One run's metrics; ``cache_hit_pct`` as well wherever the engine reported cached
    tokens, the output-token checks (``metrics.tokens``), the client's figures and verdict
    (``client_verdict``), every kind."""
    if isinstance(bench, SessionBenchmark):
        assert isinstance(variant, SessionVariant)
        # a session export carries each run's CPU figure only (``client_load.cpu_utils_of``),
        # so its steps are judged on that and their samples' send lags and read stalls, not on
        # loop lag (``client_verdict``), and re-derive from the export exactly
        cpu_only = RunClientFigures(cpu_util=client.cpu_util) if client is not None else None
        return session_run_metrics(samples, bench, step_load(variant), cpu_only)
    if isinstance(variant, ClosedVariant):
        metrics = closed_loop_metrics(
            samples, concurrency=variant.concurrency, expected_prompt_tokens=variant.pp
        )
        metrics |= client_run_metrics(samples, client)
        with_verdict(metrics)
    else:
        assert not isinstance(bench, ClosedLoopBenchmark)
        slo_ms = {str(metric): limit for metric, limit in bench.goodput_slo_ms.items()}
        metrics = open_loop_metrics(samples, bench.percentiles, slo_ms, client)
    if (hit := cache_hit_pct(samples)) is not None:
        metrics["cache_hit_pct"] = hit
    return metrics | token_checks(samples)


def summary(
    variant: Variant,
    runs: list[list[RequestSample]],
    per_run: list[dict[str, float | None]],
) -> dict[str, MeanStd]:
    """Mean ± std over runs (closed loop: llama-benchy's pooling, plus the runs' cache hit
    rates, token checks and client figures), and the run whose client went furthest past its
    limits."""
    worst = worst_run(per_run, [samples[0].run for samples in runs])
    if isinstance(variant, ClosedVariant):
        pooled = summarize_closed_loop(
            runs, concurrency=variant.concurrency, expected_prompt_tokens=variant.pp
        )
        per_run_keys = ("cache_hit_pct", *TOKEN_CHECKS)
        checks = summarize([{k: m.get(k) for k in per_run_keys} for m in per_run])
        return pooled | checks | client_means(per_run) | worst
    return summarize(per_run) | worst


@dataclass(frozen=True)
class Derived:
    """One variant as its samples give it: the summary a measured job stores, and each run's
    metrics (its run-to-run spread is read from them)."""

    summary: dict[str, MeanStd]
    per_run: list[dict[str, float | None]]


def derived_summaries(
    spec: JobSpec, samples: Iterable[RequestSample], provenance: dict[str, Any]
) -> dict[tuple[str, str], Derived]:
    """Per (benchmark, variant) with samples, what a measured job stores for it."""
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
                    run_figures_of(provenance, bench.id, variant.key, found[0].run),
                )
                for found in runs
            ]
            if runs:
                derived[(bench.id, variant.key)] = Derived(summary(variant, runs, per_run), per_run)
    return derived
