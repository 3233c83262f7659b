"""Rankings with the reference presets: score = wQ·Q + wG·G + wE·E over min-max scaled 0–100.

An entry (model, profile, engine, hardware) is ranked on ``ok`` rows only (``aggregate``); one
without an ``ok`` row of the preset's benchmark is listed apart with the reason. Dimensions:

- G: tokens/s (``aggregate.THROUGHPUT``) of the preset's benchmark, the mean over its variants;
  for ``aggregate``, the mean of those per-benchmark figures over every ``ok`` benchmark.
- Q: the mean of the quality scores the models file gives the model.
- E: G ÷ memory footprint in GB from the models file.

Each dimension is scaled to 0–100 within the ranked set (all equal: 100). A dimension an entry
lacks (no scores, no footprint) is shown as missing, never zero: its weight is left out and the
others are renormalised, score = Σ w·scaled / Σ w over the dimensions present. No latency gate:
TTFT is shown beside the score, marked slow above 2 s.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

import yaml
from pydantic import ValidationError

from arena.common.analysis.aggregate import OK, AggregateRow, Entry
from arena.common.schemas.base import ArenaModel

SLOW_TTFT_MS = 2000.0
TTFT_METRIC = {"closed_loop": "e2e_ttft", "open_loop": "median_ttft_ms"}
"""The typical TTFT shown: llama-benchy's mean end-to-end TTFT (its pp rows; it keeps no
median), vLLM's median TTFT open loop; the p95 is shown where vLLM recorded ``p95_ttft_ms``."""
TTFT_P95 = "p95_ttft_ms"


@dataclass(frozen=True)
class Preset:
    benchmark: str | None
    """Benchmark name without its number (``chat`` matches ``01-chat``); None: every one."""
    weights: tuple[float, float, float]
    """wQ, wG, wE."""
    ttft_benchmark: str = "chat"


PRESETS = {
    "aggregate": Preset(None, (70, 20, 10)),
    "chat": Preset("chat", (60, 30, 10), "chat"),
    "agent": Preset("long-output", (70, 20, 10), "long-output"),
    "batch": Preset("rag-8k", (20, 70, 10), "rag-8k"),
    "reasoning": Preset("reasoning", (60, 30, 10), "reasoning"),
}


class ModelInfo(ArenaModel):
    """One model's metadata from the ``--models`` file."""

    memory_gb: float | None = None
    quality: dict[str, float] = {}


class Ranked(ArenaModel):
    rank: int
    entry: Entry
    score: float
    q: float | None
    g: float
    e: float | None
    """tok/s per GB of model memory."""
    q_scaled: float | None
    g_scaled: float
    e_scaled: float | None
    weights: dict[str, float]
    """The weights used, renormalised over the dimensions present (sum 1)."""
    ttft_ms: float | None
    ttft_p95_ms: float | None
    slow: bool
    """TTFT (typical or p95) above 2 s; still ranked."""


class Excluded(ArenaModel):
    entry: Entry
    reason: str


class Ranking(ArenaModel):
    preset: str
    benchmark: str | None
    weights: tuple[float, float, float]
    ranked: list[Ranked]
    excluded: list[Excluded]


def read_models(path: Path) -> dict[str, ModelInfo]:
    """A models file (``examples/models.yaml``): ``models: {name or name@profile: {memory_gb,
    quality}}``; ValueError naming the file when it is not one."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
        return {name: ModelInfo.model_validate(info) for name, info in data["models"].items()}
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError, ValidationError) as e:
        raise ValueError(f"{path}: not a models file ({e})") from None


def parse_weights(text: str) -> tuple[float, float, float]:
    """Own weights ``Q,G,E`` (``arenactl rank --weights``, the leaderboard's ``weights``): three
    numbers, none negative, not all zero; ValueError saying which rule the text breaks."""
    try:
        q, g, e = (float(part) for part in text.split(","))
    except ValueError:
        raise ValueError("three numbers Q,G,E, e.g. 50,40,10") from None
    if min(q, g, e) < 0 or not q + g + e:
        raise ValueError("three numbers Q,G,E, none negative, not all zero")
    return q, g, e


def name_of(benchmark_id: str) -> str:
    """``08-reasoning`` and ``09-reasoning`` (arena-v1, v2) are both ``reasoning``."""
    return re.sub(r"^\d+[a-z]?-", "", benchmark_id)


def info_for(models: Mapping[str, ModelInfo], entry: Entry) -> ModelInfo:
    """``model@profile`` first (footprints differ per precision), then ``model``."""
    return models.get(f"{entry.model}@{entry.profile}") or models.get(entry.model) or ModelInfo()


def rank(
    rows: Sequence[AggregateRow],
    preset: str,
    models: Mapping[str, ModelInfo],
    weights: tuple[float, float, float] | None = None,
) -> Ranking:
    chosen = PRESETS[preset]
    used = weights or chosen.weights
    by_entry: dict[Entry, list[AggregateRow]] = {}
    for row in rows:
        by_entry.setdefault(row.entry, []).append(row)
    raw: list[tuple[Entry, float | None, float, float | None, list[AggregateRow]]] = []
    excluded = []
    for entry, found in by_entry.items():
        g = _throughput(found, chosen.benchmark)
        if g is None:
            excluded.append(Excluded(entry=entry, reason=_why(found, chosen.benchmark)))
            continue
        info = info_for(models, entry)
        q = fmean(info.quality.values()) if info.quality else None
        e = g / info.memory_gb if info.memory_gb else None
        raw.append((entry, q, g, e, found))
    q_scale = _scaler([q for _, q, _, _, _ in raw])
    g_scale = _scaler([g for _, _, g, _, _ in raw])
    e_scale = _scaler([e for _, _, _, e, _ in raw])
    ranked = []
    for entry, q, g, e, found in raw:
        scaled = {"Q": q_scale(q), "G": g_scale(g), "E": e_scale(e)}
        present = {d: w for d, w in zip("QGE", used, strict=True) if scaled[d] is not None}
        total = sum(present.values())
        share = {d: w / total for d, w in present.items()} if total else {}
        score = sum(share[d] * (scaled[d] or 0.0) for d in share)
        ttft, p95 = _ttft(found, chosen.ttft_benchmark)
        ranked.append(
            Ranked(
                rank=0,
                entry=entry,
                score=score,
                q=q,
                g=g,
                e=e,
                q_scaled=scaled["Q"],
                g_scaled=scaled["G"] or 0.0,
                e_scaled=scaled["E"],
                weights=share,
                ttft_ms=ttft,
                ttft_p95_ms=p95,
                slow=any(t is not None and t > SLOW_TTFT_MS for t in (ttft, p95)),
            )
        )
    ranked.sort(key=lambda r: (-r.score, r.entry.model, r.entry.profile))
    for place, item in enumerate(ranked, start=1):
        item.rank = place
    return Ranking(
        preset=preset, benchmark=chosen.benchmark, weights=used, ranked=ranked, excluded=excluded
    )


def _throughput(rows: Sequence[AggregateRow], benchmark: str | None) -> float | None:
    per_bench: dict[str, list[float]] = {}
    for row in rows:
        stat = row.throughput
        wanted = benchmark is None or name_of(row.benchmark) == benchmark
        if wanted and row.status == OK and stat is not None and stat.mean is not None:
            per_bench.setdefault(row.benchmark, []).append(stat.mean)
    return fmean(fmean(values) for values in per_bench.values()) if per_bench else None


def _why(rows: Sequence[AggregateRow], benchmark: str | None) -> str:
    wanted = [r for r in rows if benchmark is None or name_of(r.benchmark) == benchmark]
    if not wanted:
        return f"no {benchmark} benchmark"
    statuses = sorted({r.status for r in wanted if r.status != OK})
    return ", ".join(statuses) if statuses else "no throughput recorded"


def _ttft(rows: Sequence[AggregateRow], benchmark: str) -> tuple[float | None, float | None]:
    typical: list[float] = []
    p95: list[float] = []
    for row in rows:
        if row.status != OK or name_of(row.benchmark) != benchmark:
            continue
        for key, into in ((TTFT_METRIC.get(row.kind, ""), typical), (TTFT_P95, p95)):
            stat = row.metrics.get(key)
            if stat is not None and stat.mean is not None:
                into.append(stat.mean)
    return (fmean(typical) if typical else None, fmean(p95) if p95 else None)


def _scaler(values: Sequence[float | None]) -> "Scale":
    known = [v for v in values if v is not None]
    return Scale(min(known), max(known)) if known else Scale(0.0, 0.0)


@dataclass(frozen=True)
class Scale:
    """Min-max to 0–100 within the compared set; a set of equal values all scale to 100."""

    low: float
    high: float

    def __call__(self, value: float | None) -> float | None:
        if value is None:
            return None
        if self.high == self.low:
            return 100.0
        return (value - self.low) / (self.high - self.low) * 100
