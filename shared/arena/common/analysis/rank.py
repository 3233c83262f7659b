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

Like with like: G is read on the benchmarks *every* ranked entry has an ``ok`` row of (by name,
so ``08-reasoning`` and ``09-reasoning`` are one); each entry lists the benchmarks the others
had and it lacks (``missing``), which took no part in anyone's score. The ranked entries are the
largest group that shares a benchmark (those having the benchmark most entries have; a tie, the
first by name); an entry outside it is listed apart, so one odd entry never empties the
ranking.

Uncertainty: the ranking is redone ``DRAWS`` times (seeded) with each variant's throughput
drawn from a normal around its mean with std σ/√n (σ the population std over its n runs, as
stored). Stored results keep mean ± std per variant, not the per-run values, so this is the
parametric form of resampling the runs, the same for measured and imported entries.
``rank_low``–``rank_high`` is the 95 % interval of an entry's rank over the draws; neighbours
whose intervals overlap are tied (``place`` "=2"). An entry with a variant of one run or no std
has no known spread: its interval is unknown (``None``, shown "?"), and it is tied with both
its neighbours, since nothing says the order between them would hold.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

import numpy as np
import yaml
from pydantic import ValidationError

from arena.common.analysis.aggregate import OK, AggregateRow, Entry
from arena.common.schemas.base import ArenaModel

SLOW_TTFT_MS = 2000.0
TTFT_METRIC = {"closed_loop": "e2e_ttft", "open_loop": "median_ttft_ms"}
"""The typical TTFT shown: llama-benchy's mean end-to-end TTFT (its pp rows; it keeps no
median), vLLM's median TTFT open loop; the p95 is shown where vLLM recorded ``p95_ttft_ms``."""
TTFT_P95 = "p95_ttft_ms"
DRAWS = 1000
SEED = 24
INTERVAL = (0.025, 0.975)


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


class Cost(ArenaModel):
    """The point an entry's cost is read at, and the figures read there."""

    per_user_tps: float
    """The target: tokens/s each request must at least see."""
    benchmark: str | None = None
    variant: str | None = None
    output_tps: float | None = None
    """The rate the cost is read with (``rate_key``)."""
    rate_key: str | None = None
    """``output_throughput`` (wall clock, prefill included) or, where only that was recorded,
    ``tg_throughput`` (decode only: the cost is a lower bound)."""
    user_tps: float | None = None
    gpus: int | None = None
    """The engine's GPUs; 0: it ran on none (no GPU-hour cost)."""
    usd_per_mtok: float | None = None
    """``None``: no price given, no GPU or GPUs not known, or no point met the target
    (``note``)."""
    tokens_per_kwh: float | None = None
    note: str = ""


class Ranked(ArenaModel):
    rank: int
    place: str = ""
    """The rank as shown: ``2``, or ``=2`` for each of a run of neighbours whose rank
    intervals overlap (tied: the first place of the run)."""
    rank_low: int | None = 0
    rank_high: int | None = 0
    """95 % interval of the rank over the resampled rankings; ``None``: unknown (a variant of
    one run or without std: no spread to resample)."""
    benchmarks: list[str] = []
    """The benchmarks the score was read on (shared by every ranked entry)."""
    missing: list[str] = []
    """Benchmarks other ranked entries have and this one lacks (left out of every score)."""
    cost: Cost | None = None
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
    costs: Mapping[Entry, Cost] | None = None,
) -> Ranking:
    chosen = PRESETS[preset]
    used = weights or chosen.weights
    by_entry: dict[Entry, list[AggregateRow]] = {}
    for row in rows:
        by_entry.setdefault(row.entry, []).append(row)
    measured = {entry: _per_bench(found, chosen.benchmark) for entry, found in by_entry.items()}
    entries = _comparable([entry for entry, benches in measured.items() if benches], measured)
    shared = set.intersection(*(set(measured[e]) for e in entries)) if entries else set()
    every = set().union(*(measured[e] for e in entries))
    excluded = []
    for entry, found in by_entry.items():
        if not measured[entry]:
            excluded.append(Excluded(entry=entry, reason=_why(found, chosen.benchmark)))
        elif entry not in entries:
            has = ", ".join(sorted(measured[entry]))
            reason = (
                f"no benchmark the ranked entries share ({', '.join(sorted(shared))}): has {has}"
            )
            excluded.append(Excluded(entry=entry, reason=reason))
    if not entries:
        return Ranking(
            preset=preset, benchmark=chosen.benchmark, weights=used, ranked=[], excluded=excluded
        )
    infos = [info_for(models, entry) for entry in entries]
    q = [fmean(i.quality.values()) if i.quality else None for i in infos]
    memory = [i.memory_gb or None for i in infos]
    common = sorted(shared)
    shared_only = [{b: measured[e][b] for b in common} for e in entries]
    rng = np.random.default_rng(SEED)
    point = np.stack([_g(benches, None, rng) for benches in shared_only])
    draws = np.stack([_g(benches, DRAWS, rng) for benches in shared_only])
    scores, scaled, shares = _scores(point, q, memory, used)
    drawn, _, _ = _scores(draws, q, memory, used)
    spread_known = [
        all(error is not None for v in b.values() for _, error in v) for b in shared_only
    ]
    ranked = []
    for i, entry in enumerate(entries):
        found = by_entry[entry]
        g, footprint = float(point[i, 0]), memory[i]
        ttft, p95 = _ttft(found, chosen.ttft_benchmark)
        ranked.append(
            Ranked(
                rank=0,
                entry=entry,
                score=float(scores[i, 0]),
                q=q[i],
                g=g,
                e=g / footprint if footprint else None,
                q_scaled=_known(scaled["Q"][i, 0]),
                g_scaled=_known(scaled["G"][i, 0]) or 0.0,
                e_scaled=_known(scaled["E"][i, 0]),
                weights=shares[i],
                ttft_ms=ttft,
                ttft_p95_ms=p95,
                slow=any(t is not None and t > SLOW_TTFT_MS for t in (ttft, p95)),
                benchmarks=common,
                missing=sorted(every - set(measured[entry])),
                cost=costs.get(entry) if costs is not None else None,
            )
        )
    _place(ranked, drawn, spread_known)
    return Ranking(
        preset=preset, benchmark=chosen.benchmark, weights=used, ranked=ranked, excluded=excluded
    )


Variants = list[tuple[float, float | None]]
"""One benchmark's variants of an entry: (mean, standard error of the mean) each; the error
``None`` for one run or no std (unknown, not zero)."""


def _comparable(
    candidates: list[Entry], measured: Mapping[Entry, Mapping[str, Variants]]
) -> list[Entry]:
    """The entries having the benchmark most of them have (a tie: the first by name)."""
    names = sorted(set().union(*(measured[e] for e in candidates)))
    if not names:
        return []
    top = max(names, key=lambda name: sum(name in measured[e] for e in candidates))
    return [entry for entry in candidates if top in measured[entry]]


def _per_bench(rows: Sequence[AggregateRow], benchmark: str | None) -> dict[str, Variants]:
    """The entry's ``ok`` throughput per benchmark name (the preset's only, or all)."""
    per_bench: dict[str, Variants] = {}
    for row in rows:
        stat = row.throughput
        wanted = benchmark is None or name_of(row.benchmark) == benchmark
        if wanted and row.status == OK and stat is not None and stat.mean is not None:
            known = stat.n > 1 and stat.std is not None
            error = stat.std / stat.n**0.5 if known and stat.std is not None else None
            per_bench.setdefault(name_of(row.benchmark), []).append((stat.mean, error))
    return per_bench


def _g(
    per_bench: Mapping[str, Variants], draws: int | None, rng: np.random.Generator
) -> np.ndarray:
    """G: the mean over benchmarks of the mean over their variants; ``draws`` resampled
    values, or the point value (one) when ``None``."""
    columns = []
    for name in sorted(per_bench):
        means = np.array([mean for mean, _ in per_bench[name]])
        if draws is None:
            columns.append(np.array([means.mean()]))
            continue
        errors = np.array([error or 0.0 for _, error in per_bench[name]])
        sampled = rng.normal(means[:, None], errors[:, None], size=(len(means), draws))
        columns.append(sampled.mean(axis=0))
    return np.asarray(np.mean(columns, axis=0))


def _scores(
    g: np.ndarray,
    q: Sequence[float | None],
    memory: Sequence[float | None],
    weights: tuple[float, float, float],
) -> tuple[np.ndarray, dict[str, np.ndarray], list[dict[str, float]]]:
    """Scores (entries × draws), the scaled dimensions (NaN: missing) and each entry's weights
    renormalised over the dimensions it has."""
    count = g.shape[1]
    q_values = np.array([[v if v is not None else np.nan] * count for v in q], dtype=float)
    per_gb = np.array([[1.0 / m if m else np.nan] for m in memory], dtype=float)
    scaled = {
        "Q": _scale(q_values.reshape(len(q), count)),
        "G": _scale(g),
        "E": _scale(g * per_gb.reshape(len(q), 1)),
    }
    shares = []
    scores = np.zeros((len(q), count))
    for i in range(len(q)):
        present = {
            d: w for d, w in zip("QGE", weights, strict=True) if not np.isnan(scaled[d][i, 0])
        }
        total = sum(present.values())
        share = {d: w / total for d, w in present.items()} if total else {}
        shares.append(share)
        for d, w in share.items():
            scores[i] += w * scaled[d][i]
    return scores, scaled, shares


def _scale(values: np.ndarray) -> np.ndarray:
    """Min-max to 0–100 per draw within the compared set (NaN stays missing); a set of equal
    values all scale to 100."""
    if not values.size or np.isnan(values).all():
        return values
    low = np.nanmin(values, axis=0)
    span = np.nanmax(values, axis=0) - low
    safe = np.where(span > 0, span, 1.0)
    return np.where(
        span > 0, (values - low) / safe * 100, np.where(np.isnan(values), np.nan, 100.0)
    )


def _known(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _place(ranked: list[Ranked], drawn: np.ndarray, spread_known: Sequence[bool]) -> None:
    """Ranks by score, each with its 95 % interval over the draws (unknown where the entry's
    spread is); neighbours whose intervals overlap, or either of which has an unknown one, are
    tied and shown as ``=`` the first place of their run."""
    # 1 + how many entries scored strictly higher in that draw: equal scores share a rank
    ranks = np.empty(drawn.shape, dtype=int)
    for column in range(drawn.shape[1]):
        lower_first = -drawn[:, column]
        ranks[:, column] = np.searchsorted(np.sort(lower_first), lower_first, side="left") + 1
    for i, item in enumerate(ranked):
        low, high = np.quantile(ranks[i], INTERVAL)
        known = spread_known[i] or len(ranked) == 1
        item.rank_low = int(np.floor(low)) if known else None
        item.rank_high = int(np.ceil(high)) if known else None
    ranked.sort(key=lambda r: (-r.score, r.entry.model, r.entry.profile))
    starts: list[int] = []
    for place, item in enumerate(ranked, start=1):
        item.rank = place
        tied = place > 1 and _overlap(ranked[place - 2], item)
        starts.append(starts[-1] if tied else place)
    for item, start in zip(ranked, starts, strict=True):
        item.place = f"={start}" if starts.count(start) > 1 else str(start)


def _overlap(above: Ranked, below: Ranked) -> bool:
    if above.rank_high is None or below.rank_low is None:
        return True
    return below.rank_low <= above.rank_high


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
