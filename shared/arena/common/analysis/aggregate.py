"""Every stored run of the same thing, pooled: model × profile × engine × hardware × variant.

Each job's variant already carries mean ± population std over its own ``n`` observations; the
jobs of one group are pooled exactly (weighted by ``n``: the combined mean, and the combined
population variance Σ nᵢ(σᵢ² + μᵢ²)/N − μ²), so the figure is the one a single run of all their
observations would give. Count-type keys are stored as shares of their ``n`` (``throttled_runs``,
``client_saturated``: mean × n counts), so they pool the same way. The client's worst run is
no average: its run number (``client_worst_run``) names a run of one job and is left out of a
pooled row, its values (``worst_run_<key>``) pool by their largest. Rows whose numbers must not
be averaged with good ones (simulated engine, an unverified import, failed or cancelled job,
invalid benchmark, saturated client) form their own rows with that status: a group never mixes
statuses.
"""

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import ConfigDict

from arena.common.metrics.client_verdict import WORST_RUN, worst_key
from arena.common.metrics.completion import PARTIAL
from arena.common.metrics.validity import SPREAD_LIMIT_PCT, SPREAD_METRIC
from arena.common.schemas.base import ArenaModel
from arena.common.schemas.job import JobState
from arena.common.schemas.results import BenchmarkResult, JobResult, MetricStat, VariantResult

OK = "ok"
UNVERIFIED = "unverified"
THROUGHPUT = SPREAD_METRIC
"""The tokens/s of a benchmark: decode ``tg_throughput`` (llama-benchy's "t/s (total)" of the
tg rows) closed loop, ``output_throughput`` open loop; the same keys the spread check reads."""


class Entry(ArenaModel):
    """What a result is a result of; a ranking compares entries (frozen: a grouping key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    profile: str
    """The precision profile of an imported result (``nvfp4``, ``bf16``...); empty if measured."""
    engine: str
    """The engine that ran (an import's too: ``vllm`` for the reference's folders)."""
    hardware: str
    origin: Literal["measured", "imported"] = "measured"
    """Imported numbers are never pooled with measured ones of the same engine and hardware."""


class AggregateRow(ArenaModel):
    entry: Entry
    benchmark: str
    kind: str
    variant: str
    status: str
    """``ok``, or why these numbers stand apart: ``simulated``, ``unverified`` (an import the
    controller could not check against signed samples), ``partial`` (a completed benchmark
    of a failed or cancelled job), ``failed``, ``cancelled``, ``invalid`` (``metrics.validity``:
    the error-rate gate, a warm prefix cache where it declared none, or a saturated client
    where it did not accept one)."""
    jobs: int
    """Stored jobs (runs of the store) pooled into this row."""
    runs: int
    """Benchmark runs behind the numbers, summed over those jobs."""
    metrics: dict[str, MetricStat]
    throughput_key: str | None
    cv_pct: float | None
    """std / mean of the throughput in %, with two runs or more."""
    unstable: bool
    """Run-to-run spread (the CV) beyond the methodology's ±2 %."""

    @property
    def throughput(self) -> MetricStat | None:
        return self.metrics.get(self.throughput_key) if self.throughput_key else None


def entry_of(job: JobResult) -> Entry:
    return Entry(
        model=job.model,
        profile=job.origin.profile,
        engine=job.engine,
        hardware=job.hardware or "",
        origin=job.origin.kind,
    )


def status_of(job: JobResult, benchmark: BenchmarkResult, include_unverified: bool = False) -> str:
    if job.simulated:
        return "simulated"
    if job.origin.unverified and not include_unverified:  # docs/security.md, Signed provenance
        return UNVERIFIED
    if benchmark.partial:
        return PARTIAL
    if job.state != JobState.SUCCEEDED:
        return job.state
    if not benchmark.valid:
        return "invalid"  # a saturated client included, unless the benchmark accepted it
    return OK


def pool(stats: Sequence[MetricStat]) -> MetricStat:
    """Exact mean ± population std of the union of the observations behind ``stats``."""
    known = [s for s in stats if s.mean is not None and s.n > 0]
    total = sum(s.n for s in known)
    if not total:
        return MetricStat(mean=None, std=None, n=0)
    mean = sum(s.n * s.mean for s in known if s.mean is not None) / total
    square = sum(s.n * ((s.std or 0.0) ** 2 + s.mean**2) for s in known if s.mean is not None)
    return MetricStat(mean=mean, std=max(square / total - mean**2, 0.0) ** 0.5, n=total)


def pool_worst(stats: Sequence[MetricStat]) -> MetricStat:
    """The largest of the jobs' worst-run values: a worst run is never averaged."""
    known = [s.mean for s in stats if s.mean is not None]
    return MetricStat(mean=max(known) if known else None, std=None, n=len(known))


def pooled(key: str, stats: Sequence[MetricStat]) -> MetricStat:
    return pool_worst(stats) if key.startswith(worst_key("")) else pool(stats)


def aggregate(jobs: Iterable[JobResult], include_unverified: bool = False) -> list[AggregateRow]:
    """One row per entry × benchmark × variant × status, sorted by those; unverified imports
    stand apart (never ranked) unless ``include_unverified``."""
    groups: dict[tuple[Entry, str, str, str, str], list[VariantResult]] = {}
    for job in jobs:
        entry = entry_of(job)
        for bench in job.benchmarks:
            for variant in bench.variants:
                key = (
                    entry,
                    bench.id,
                    bench.kind,
                    variant.key,
                    status_of(job, bench, include_unverified),
                )
                groups.setdefault(key, []).append(variant)
    rows = [_row(*key, variants) for key, variants in groups.items()]
    return sorted(rows, key=lambda r: (*r.entry.model_dump().values(), r.benchmark, r.variant))


def _row(
    entry: Entry, bench: str, kind: str, variant: str, status: str, found: list[VariantResult]
) -> AggregateRow:
    keys = dict.fromkeys(key for v in found for key in v.metrics if key != WORST_RUN)
    metrics = {
        key: pooled(key, [v.metrics[key] for v in found if key in v.metrics]) for key in keys
    }
    runs = sum(v.runs for v in found)
    throughput_key = THROUGHPUT.get(kind) if THROUGHPUT.get(kind) in metrics else None
    stat = metrics.get(throughput_key) if throughput_key else None
    cv = None
    if stat is not None and runs >= 2 and stat.mean and stat.std is not None:
        cv = stat.std / stat.mean * 100
    return AggregateRow(
        entry=entry,
        benchmark=bench,
        kind=kind,
        variant=variant,
        status=status,
        jobs=len(found),
        runs=runs,
        metrics=metrics,
        throughput_key=throughput_key,
        cv_pct=cv,
        unstable=cv is not None and cv > SPREAD_LIMIT_PCT,
    )
