"""A job's numbers from its raw samples: per run, then mean ± std over runs. The controller
stores them for a measured job (``controller.results.aggregation``); a verifier re-derives
them from a signed export's samples to check the result files beside them."""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from arena.common.metrics.client_load import cpu_util_of
from arena.common.metrics.closed_loop import closed_loop_metrics
from arena.common.metrics.open_loop import open_loop_metrics
from arena.common.metrics.summary import summarize, summarize_closed_loop
from arena.common.schemas.job import JobSpec
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import Benchmark, ClosedLoopBenchmark
from arena.common.stats import MeanStd
from arena.common.suites.variants import ClosedVariant, Variant, variants


def run_metrics(
    bench: Benchmark,
    variant: Variant,
    samples: list[RequestSample],
    client_cpu_util: float | None = None,
) -> dict[str, float | None]:
    if isinstance(variant, ClosedVariant):
        return closed_loop_metrics(
            samples, concurrency=variant.concurrency, expected_prompt_tokens=variant.pp
        )
    assert not isinstance(bench, ClosedLoopBenchmark)
    slo_ms = {str(metric): limit for metric, limit in bench.goodput_slo_ms.items()}
    return open_loop_metrics(samples, bench.percentiles, slo_ms, client_cpu_util)


def summary(
    variant: Variant, runs: list[list[RequestSample]], per_run: list[dict[str, float | None]]
) -> dict[str, MeanStd]:
    if isinstance(variant, ClosedVariant):
        return summarize_closed_loop(
            runs, concurrency=variant.concurrency, expected_prompt_tokens=variant.pp
        )
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
        for variant in variants(bench):
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
