"""llama-benchy's JSON report (``--format json``): run settings and, per benchmark, every metric
as ``{mean, std, values}``.

Unlike the markdown table, one entry holds both phases' metrics, and ``values`` keeps the raw
numbers (per request for the "(req)" metrics and latencies, per run for the batch totals), so
``n`` is the number of values (Arena's export, when it had no raw values, writes ``n`` instead).
Entries of the context prefill phase (``is_context_prefill_phase``, only with prefix caching and
depth > 0) measure the cache warm-up, not the benchmark: skipped.
"""

import math
from dataclasses import dataclass
from typing import Any

from arena.common.metrics.closed_loop import ARENA_REPORT_METRICS, BENCHY_METRICS
from arena.common.parsers import ParseError, json_object
from arena.common.schemas.imported import ImportedStat, ImportedVariant


@dataclass(frozen=True)
class BenchyEntry:
    concurrency: int
    depth: int
    pp: int
    tg: int
    is_context_prefill_phase: bool
    metrics: dict[str, ImportedStat]


@dataclass(frozen=True)
class BenchyJsonReport:
    version: str
    timestamp: str
    latency_mode: str
    latency_ms: float
    model: str
    prefix_caching_enabled: bool
    max_concurrency: int
    entries: list[BenchyEntry]


def _field(document: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in document:
        raise ParseError(f"{where}: missing {key!r}")
    value = document[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ParseError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _stat(value: Any, where: str) -> ImportedStat | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ParseError(f"{where}: expected {{mean, std, values}}")
    mean = _field(value, "mean", (int, float), where)
    std = _field(value, "std", (int, float), where)
    values = value.get("values") or []
    if not math.isfinite(mean):
        return None
    return ImportedStat(mean=float(mean), std=float(std), n=len(values) or _count(value, where))


def _count(value: dict[str, Any], where: str) -> int:
    """Without ``values``, Arena's export names the count as ``n``; else one value is assumed."""
    n = value.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParseError(f"{where}: 'n' is {n!r}, expected a positive whole number")
    return n


def _entry(document: Any, index: int) -> BenchyEntry:
    where = f"benchmarks[{index}]"
    if not isinstance(document, dict):
        raise ParseError(f"{where}: expected an object")
    metrics = {
        key: stat
        for key in (*BENCHY_METRICS, *ARENA_REPORT_METRICS)
        if (stat := _stat(document.get(key), f"{where}.{key}")) is not None
    }
    return BenchyEntry(
        concurrency=_field(document, "concurrency", int, where),
        depth=_field(document, "context_size", int, where),
        pp=_field(document, "prompt_size", int, where),
        tg=_field(document, "response_size", int, where),
        is_context_prefill_phase=_field(document, "is_context_prefill_phase", bool, where),
        metrics=metrics,
    )


def parse_report(text: str) -> BenchyJsonReport:
    document = json_object(text)
    entries = _field(document, "benchmarks", list, "report")
    return BenchyJsonReport(
        version=str(_field(document, "version", str, "report")),
        timestamp=str(_field(document, "timestamp", str, "report")),
        latency_mode=str(_field(document, "latency_mode", str, "report")),
        latency_ms=float(_field(document, "latency_ms", (int, float), "report")),
        model=str(_field(document, "model", str, "report")),
        prefix_caching_enabled=bool(_field(document, "prefix_caching_enabled", bool, "report")),
        max_concurrency=int(_field(document, "max_concurrency", int, "report")),
        entries=[_entry(entry, index) for index, entry in enumerate(entries)],
    )


def is_benchy_report(document: Any) -> bool:
    """Tell llama-benchy's JSON from vLLM's without parsing it fully."""
    return isinstance(document, dict) and "benchmarks" in document and "latency_mode" in document


def variants(report: BenchyJsonReport, runs: int) -> list[ImportedVariant]:
    """One variant per measured entry, keyed as Arena's closed-loop variants."""
    return [
        ImportedVariant(
            key=f"pp{entry.pp}/tg{entry.tg}/d{entry.depth}/c{entry.concurrency}",
            runs=runs,
            metrics=entry.metrics,
        )
        for entry in report.entries
        if not entry.is_context_prefill_phase
    ]
