"""A session benchmark's result file, ``NN-<id>.sessions.json``: no reference tool measures
sessions, so the format is Arena's own (versioned).

It holds the benchmark as it ran (load, SLO tiers, attainment target, declared prefix cache),
the engine's own figures (its prefix-cache hit rate), the GPUs of the box that ran it, the
client's own CPU load per step and run, every request sample with its session, turn and cached
tokens, and, for a reader without Arena, each load step's served metrics. The samples are the
source of truth: ``arenactl import`` and the importing controller recompute every metric from
them (with the client's CPU figures) with the same definitions (``arena.common.metrics.derive``),
so an imported session benchmark shows the numbers the measuring controller served; a file
whose ``steps`` disagree with its samples is refused (``parsers.session_results``).
"""

from typing import Literal

from arena.common.schemas.base import ArenaModel
from arena.common.schemas.imported import ClientLoads, GpuCount, ImportedStat, ImportedVariant
from arena.common.schemas.results import BenchmarkResult
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import SessionBenchmark

SESSION_RESULTS_SUFFIX = ".sessions.json"


class SessionResults(ArenaModel):
    format: Literal["arena-session-results"] = "arena-session-results"
    version: Literal[1] = 1
    benchmark: SessionBenchmark
    engine_metrics: dict[str, float] = {}
    gpus: GpuCount | None = None
    """GPUs of the box that ran it (per-GPU capacity); ``None``: unknown or a CPU-only box."""
    client_load: ClientLoads = {}
    """Per load step and run (``str(run)``): the busiest client core's utilisation, as the
    measuring agent recorded it (``metrics.client_load``); it flags ``client_saturated``."""
    steps: list[ImportedVariant] = []
    """Each load step's metrics as served when exported (mean ± std over runs), for readers;
    an import recomputes them from ``samples``."""
    samples: list[RequestSample]


def session_results(
    bench: BenchmarkResult,
    spec: SessionBenchmark,
    samples: list[RequestSample],
    client_load: dict[str, dict[str, float]],
    gpus: int | None,
) -> SessionResults:
    """The file of one session benchmark from its served results, its samples, the client's
    CPU figures of its runs (``provenance["client_load"][bench.id]``) and the box's GPUs."""
    steps = [
        ImportedVariant(
            key=variant.key,
            runs=variant.runs,
            metrics={
                key: ImportedStat(mean=stat.mean, std=stat.std or 0.0, n=stat.n)
                for key, stat in variant.metrics.items()
                if stat.mean is not None
            },
        )
        for variant in bench.variants
    ]
    ordered = sorted(samples, key=lambda s: (s.variant, s.run, s.index))
    return SessionResults(
        benchmark=spec,
        engine_metrics=bench.engine_metrics,
        gpus=gpus,
        client_load=client_load,
        steps=steps,
        samples=ordered,
    )
