"""Prefix-cache hit rates per job and benchmark: what the benchmark declared, what the engine's
own counters said and what the requests' ``usage`` said (``cached_tokens``), side by side, so a
cache-off benchmark served warm stands out (``metrics.validity`` flags it)."""

from collections.abc import Iterable

from arena.common.analysis.selection import JobRef, contains, job_ref
from arena.common.schemas.results import BenchmarkResult, RunResults

ENGINE_HIT_PCT = "prefix_cache_hit_pct"
ENGINE_QUERIES = "prefix_cache_queries"
ENGINE_HITS = "prefix_cache_hits"
CLIENT_HIT_PCT = "cache_hit_pct"


class CacheRow(JobRef):
    benchmark: str
    kind: str
    prefix_cache: str
    """Declared: ``on`` or ``off``."""
    engine_hit_pct: float | None
    """From the engine's counters over the whole benchmark; ``None`` where it has none."""
    prompt_tokens: float | None
    """Prompt tokens the engine looked up in its cache over the benchmark."""
    client_hit_pct: float | None
    """The requests' own hit rate over the benchmark (``client_hit_pct``)."""
    valid: bool
    note: str = ""


def known(bench: BenchmarkResult) -> bool:
    """Whether anything is known of the benchmark's cache: it declared one, it is a session
    benchmark, or the engine or the requests reported hits."""
    figures = bench.engine_metrics
    reported = (
        ENGINE_HIT_PCT in figures
        or ENGINE_HITS in figures
        or any(CLIENT_HIT_PCT in variant.metrics for variant in bench.variants)
    )
    return bench.prefix_cache == "on" or bench.kind == "sessions" or reported


def cache_rows(results: Iterable[RunResults], hardware: str | None = None) -> list[CacheRow]:
    """One row per job and benchmark whose cache is ``known``."""
    return [
        CacheRow(
            **job_ref(run.run_id, job),
            benchmark=bench.id,
            kind=bench.kind,
            prefix_cache=bench.prefix_cache,
            engine_hit_pct=bench.engine_metrics.get(ENGINE_HIT_PCT),
            prompt_tokens=bench.engine_metrics.get(ENGINE_QUERIES),
            client_hit_pct=client_hit_pct(bench),
            valid=bench.valid,
            note="; ".join(bench.flags),
        )
        for run in results
        for job in run.jobs
        if contains(job.hardware, hardware)
        for bench in job.benchmarks
        if known(bench)
    ]


def client_hit_pct(bench: BenchmarkResult) -> float | None:
    """The benchmark-wide share of prompt tokens the requests' ``usage`` reported cached, in %:
    the mean over its variants of their ``cache_hit_pct`` (each Σ cached / Σ prompt over its
    runs' samples). Unweighted, since a variant stores no prompt-token count to weight by; the
    cache table and the warm-cache check (``metrics.validity``) both read this one figure."""
    means = [
        stat.mean
        for variant in bench.variants
        if (stat := variant.metrics.get(CLIENT_HIT_PCT)) is not None and stat.mean is not None
    ]
    return sum(means) / len(means) if means else None
