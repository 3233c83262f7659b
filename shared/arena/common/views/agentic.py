"""The sentences that go with a benchmark's table where caching and agents matter: its prefix
cache (declared, and what the engine itself reported) and a session benchmark's capacity in
concurrent agents. ``arenactl show``, the run page and the report print these same lines."""

from arena.common.analysis.cache import (
    ENGINE_HIT_PCT,
    ENGINE_HITS,
    ENGINE_QUERIES,
    CacheRow,
    known,
)
from arena.common.metrics.catalogue import metric
from arena.common.schemas.results import BenchmarkResult
from arena.common.views.frontier import (
    BENCHMARK,
    ENGINE,
    HARDWARE,
    JOB,
    LOWER_BOUND,
    ROW_MODEL,
    RUN,
    SIMULATED,
)
from arena.common.views.view import Column, View


def cache_line(bench: BenchmarkResult) -> str:
    """``prefix cache on · engine hit rate 61.2 % of 120,000 prompt tokens``; empty for a
    benchmark that declared no cache and whose engine reported nothing about one (every run
    before caching was measured)."""
    if not known(bench):
        return ""
    figures = bench.engine_metrics
    parts = [f"prefix cache {bench.prefix_cache} (declared)"]
    if (hit := figures.get(ENGINE_HIT_PCT)) is not None:
        hit_text = f"engine hit rate {hit:.1f} %"
        if (queries := figures.get(ENGINE_QUERIES)) is not None:
            hit_text += f" of {queries:,.0f} prompt tokens"
        parts.append(hit_text)
    elif (hits := figures.get(ENGINE_HITS)) is not None:
        parts.append(
            f"the engine served {hits:,.0f} prompt tokens from its cache (lookups not counted)"
        )
    else:
        parts.append("the engine reported no cache counters")
    return " · ".join(parts)


def capacity_lines(bench: BenchmarkResult) -> list[str]:
    """``agent capacity (...): 6 users within agent, 3 users within interactive``, then per GPU
    and per kW where known, then the note: in the benchmark's tier order (the first drove the
    search). An invalid benchmark's capacity is shown as not counted (rankings and
    ``arenactl capacity`` leave it out)."""
    found = bench.agent_capacity
    if found is None:
        return []
    unit = found.unit
    loads = ", ".join(f"{step.load:g}" for step in found.steps) or "none"
    within = ", ".join(
        f"{_load(found.capacity.get(tier), unit, found.lower_bound(tier))} within {tier}"
        for tier in found.tiers
    )
    invalid = "" if bench.valid else "not counted, the benchmark is invalid: "
    lines = [
        f"{invalid}agent capacity (≥ {found.target_pct:g} % of sessions meet the tier; "
        f"measured steps: {loads} {unit}): {within}"
    ]
    per_gpu, per_kw = metric("capacity_per_gpu"), metric("capacity_per_kw")
    if found.gpus and found.per_gpu:
        values = ", ".join(f"{per_gpu.text(found.per_gpu.get(t))} {t}" for t in found.tiers)
        gpus = f"{found.gpus} GPU" + ("s" if found.gpus > 1 else "")
        lines.append(f"  per GPU ({gpus}): {values}")
    if found.mean_power_w is not None and found.per_kw:
        values = ", ".join(f"{per_kw.text(found.per_kw.get(t))} {t}" for t in found.tiers)
        lines.append(f"  per kW (mean {found.mean_power_w:,.0f} W): {values}")
    if found.note:
        lines.append(f"  {found.note}")
    return lines


def _load(load: float | None, unit: str, lower_bound: bool) -> str:
    """``4 users``; ``64 users or more`` where it is the highest measured step
    (``AgentCapacity.lower_bound``)."""
    if load is None:
        return "none"
    return f"{load:g} {unit}" + (f" {LOWER_BOUND}" if lower_bound else "")


CACHE_COLUMNS: list[Column[CacheRow]] = [
    Column("kind", "kind", lambda r: r.kind),
    Column("prefix_cache", "prefix cache", lambda r: r.prefix_cache),
    Column.metric("prefix_cache_hit_pct", lambda r: r.engine_hit_pct, key="engine_hit_pct"),
    Column.metric("prefix_cache_queries", lambda r: r.prompt_tokens, key="prompt_tokens"),
    Column.metric("cache_hit_pct", lambda r: r.client_hit_pct, key="client_hit_pct"),
    Column("valid", "valid", lambda r: "yes" if r.valid else "no", data=lambda r: r.valid),
    Column("note", "note", lambda r: r.note),
]

CACHE: View[CacheRow] = View(
    "cache",
    shown=[RUN, ROW_MODEL, HARDWARE, ENGINE, BENCHMARK, *CACHE_COLUMNS],
    export=[RUN, JOB, ROW_MODEL, ENGINE, HARDWARE, SIMULATED, BENCHMARK, *CACHE_COLUMNS],
)
"""One row per job and benchmark whose prefix cache is known: declared, the engine's hit rate,
the requests' own (``cached_tokens``), and whether the benchmark counts."""
