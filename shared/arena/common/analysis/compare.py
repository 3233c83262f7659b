"""N-way compare: the same benchmarks side by side across jobs (hardware, precisions, engines).

Contract (pure functions, no I/O; the CLI, the HTML report and the dashboard share them):

- ``compare(runs, *, model=None, benchmark=None, hardware=None, baseline=None) -> Comparison``
  takes every job of ``runs`` (in order) whose model and hardware contain ``model`` and
  ``hardware`` and which has a benchmark whose id contains ``benchmark`` (``selection.contains``:
  case-insensitive substrings, ``None`` matches all) and makes one ``Column`` per job. Rows are
  aligned on (benchmark id, variant key, headline metric of ``metrics.catalogue.HEADLINE``) in
  the order they are first met; a row is kept when at least two columns have a value (one,
  with a single column). ``CompareRow.values`` holds each column's own ``MetricStat``,
  unchanged, in column order (``None``: not measured there). ``CompareRow.spreads`` holds
  each column's run-to-run spread of the variant (``VariantResult.spread_pct``, what ``show``
  prints as ``spread %``: the largest deviation of one run's throughput from the mean, in %)
  on the row of that throughput (``metrics.validity.SPREAD_METRIC``), ``None`` elsewhere: the
  spread is measured on the throughput only, and no other figure stands in for it.
- ``baseline`` picks the column ratios are taken against (default: the first of the columns
  with a value in the most rows): a 1-based column number, a run id or job id, or a text
  found in exactly one column's label (``pick_baseline``); one that names no column, or
  several, raises ``ValueError``.
  ``CompareRow.ratios[i] = values[i].mean / values[baseline].mean`` (``None`` where either
  is missing or the baseline is 0).
- After the metric rows of a benchmark comes its energy row: J per output token
  (``EnergyFigures.joules_per_output_token``; one value per benchmark window, so variant
  ``ENERGY_VARIANT`` and ``n`` 1), kept under the same two-column rule.
- ``ValueError`` when no job is left to compare.
- ``Comparison.notes`` says where columns are not comparable, each ``Note`` naming the
  columns and their differing values: quick factor, engine version, simulated vs measured,
  imported vs measured, model or precision across hardware, benchmark parameters (the tool
  that generated the load, the variants measured, a benchmark only one column has), and a
  benchmark invalid or partial in a column (``invalid``, naming its first invalid flag).
- ``quick_factor(run)`` reads the ``quick`` factor from a run's notes (``None``: full scale
  or, for an imported run, not recorded).
"""

from collections.abc import Sequence

from arena.common.analysis.aggregate import entry_of
from arena.common.analysis.selection import contains
from arena.common.metrics.catalogue import HEADLINE, headline_kind, metric
from arena.common.metrics.validity import SPREAD_METRIC
from arena.common.schemas.base import ArenaModel
from arena.common.schemas.results import BenchmarkResult, JobResult, MetricStat, RunResults
from arena.common.suites.scaling import quick_of

ENERGY_METRIC = "joules_per_output_token"
ENERGY_VARIANT = "(whole benchmark)"
"""Energy is measured per benchmark window, not per variant: its row has this variant."""


class Column(ArenaModel):
    """One job: what it measured, on what, with what."""

    label: str
    """Unique and short: model, precision profile or engine, hardware."""
    run_id: str
    job_id: str
    model: str
    profile: str
    """Precision profile of an imported job (``bf16``, ``fp8``, ``nvfp4``); empty if measured."""
    engine: str
    engine_version: str | None
    hardware: str
    source: str
    """``measured``, ``imported`` (verified), ``unverified`` (an import nothing signed) or
    ``simulated``."""
    quick: float | None
    """The run's ``quick`` factor; ``None``: full scale, or not recorded (imported)."""


class CompareRow(ArenaModel):
    benchmark: str
    variant: str
    metric: str
    """Metric key (``output_throughput``; ``joules_per_output_token`` for energy)."""
    label: str
    unit: str
    values: list[MetricStat | None]
    """One per column, in column order."""
    ratios: list[float | None]
    """Each column's mean / the baseline column's mean."""
    spreads: list[float | None]
    """Each column's run-to-run spread in % (``VariantResult.spread_pct``) on the row of the
    variant's throughput; ``None`` on other rows, with under two runs, or not measured."""


class Note(ArenaModel):
    """Columns that are not comparable, and why."""

    kind: str
    """``quick``, ``engine-version``, ``simulated``, ``imported``, ``model``, ``precision``;
    per benchmark (``benchmark`` set) ``tool``, ``variants``, ``only-one`` (a benchmark no
    other column measured, so it has no rows) or ``invalid`` (invalid or partial there)."""
    text: str
    """One line naming the columns and their values."""
    values: dict[str, str]
    """Column label → its value."""
    benchmark: str | None = None
    """The benchmark a per-benchmark note is about; ``None``: about the columns throughout."""


class Comparison(ArenaModel):
    columns: list[Column]
    baseline: int
    """0-based index of the column ratios are taken against."""
    rows: list[CompareRow]
    notes: list[Note]


def quick_factor(run: RunResults) -> float | None:
    return quick_of(run.notes)


def _engine_version(job: JobResult) -> str | None:
    version = job.origin.engine_version or job.provenance.get("engine_version")
    return str(version) if version else None


def _short(hardware: str) -> str:
    return hardware.split(" (")[0].strip() or hardware


def _column(run: RunResults, job: JobResult) -> Column:
    entry = entry_of(job)
    source = "simulated" if job.simulated else job.origin.label
    model = job.model.rstrip("/").split("/")[-1]
    label = f"{model} {entry.profile or job.engine} @ {_short(entry.hardware) or '?'}"
    return Column(
        label=label,
        run_id=run.run_id,
        job_id=job.job_id,
        model=job.model,
        profile=entry.profile,
        engine=job.engine,
        engine_version=_engine_version(job),
        hardware=entry.hardware,
        source=source,
        quick=quick_factor(run),
    )


def _unique_labels(columns: list[Column]) -> list[Column]:
    labels = [c.label for c in columns]
    return [
        c.model_copy(update={"label": f"{c.label} [{c.job_id}]"})
        if labels.count(c.label) > 1
        else c
        for c in columns
    ]


def pick_baseline(columns: Sequence[Column], baseline: str | None) -> int:
    """The baseline column's index: a 1-based number, a run or job id, or a label's part."""
    if baseline is None:
        return 0
    if baseline.isdigit():
        if 1 <= int(baseline) <= len(columns):
            return int(baseline) - 1
        raise ValueError(f"baseline {baseline}: there are {len(columns)} column(s)")
    for i, column in enumerate(columns):
        if baseline in (column.run_id, column.job_id):
            return i
    found = [i for i, column in enumerate(columns) if contains(column.label, baseline)]
    if len(found) == 1:
        return found[0]
    which = "no column" if not found else f"{len(found)} columns"
    raise ValueError(
        f"baseline {baseline!r} matches {which}; give a column number 1–{len(columns)}"
    )


def compare(
    runs: Sequence[RunResults],
    *,
    model: str | None = None,
    benchmark: str | None = None,
    hardware: str | None = None,
    baseline: str | None = None,
) -> Comparison:
    picked = [
        (run, job)
        for run in runs
        for job in run.jobs
        if contains(job.model, model)
        and contains(job.hardware, hardware)
        and any(contains(bench.id, benchmark) for bench in job.benchmarks)
    ]
    if not picked:
        raise ValueError("no job to compare: the runs have none that match the filters")
    columns = _unique_labels([_column(run, job) for run, job in picked])
    jobs = [job for _, job in picked]
    tables = [{b.id: b for b in job.benchmarks if contains(b.id, benchmark)} for job in jobs]
    bench_ids = list(dict.fromkeys(bench for table in tables for bench in table))

    def rows_against(base: int) -> list[CompareRow]:
        rows: list[CompareRow] = []
        for bench_id in bench_ids:
            rows += _benchmark_rows(bench_id, [table.get(bench_id) for table in tables], base)
        return rows

    rows = rows_against(0)
    base = pick_baseline(columns, baseline) if baseline is not None else _fullest(rows)
    if base != 0:
        rows = rows_against(base)
    notes = _column_notes(columns) + _benchmark_notes(columns, bench_ids, tables)
    return Comparison(columns=columns, baseline=base, rows=rows, notes=notes)


def _fullest(rows: Sequence[CompareRow]) -> int:
    """The default baseline: the first of the columns with a value in the most rows, so that
    a column which shares little with the others does not leave the ratios empty."""
    counts = [0] * (len(rows[0].values) if rows else 1)
    for row in rows:
        for i, value in enumerate(row.values):
            counts[i] += value is not None and value.mean is not None
    return counts.index(max(counts))


def _ratios(values: list[MetricStat | None], base: int) -> list[float | None]:
    baseline = values[base]
    reference = baseline.mean if baseline is not None else None
    return [
        v.mean / reference if v is not None and v.mean is not None and reference else None
        for v in values
    ]


def _enough(values: list[MetricStat | None]) -> bool:
    known = sum(1 for v in values if v is not None and v.mean is not None)
    return known >= min(2, len(values))


def _benchmark_rows(
    bench_id: str, benches: list[BenchmarkResult | None], base: int
) -> list[CompareRow]:
    present = [b for b in benches if b is not None]
    kind = headline_kind(present[0].kind)
    spread_key = SPREAD_METRIC.get(present[0].kind)
    variants = [{v.key: v for v in b.variants} if b is not None else {} for b in benches]
    keys = list(dict.fromkeys(key for table in variants for key in table))
    rows = []
    for key in keys:
        found = [table.get(key) for table in variants]
        for headline in HEADLINE[kind]:
            values = [v.metrics.get(headline.key) if v else None for v in found]
            if _enough(values):
                spreads = [
                    v.spread_pct if v and headline.key == spread_key else None for v in found
                ]
                rows.append(
                    CompareRow(
                        benchmark=bench_id,
                        variant=key,
                        metric=headline.key,
                        label=headline.label,
                        unit=headline.unit,
                        values=values,
                        ratios=_ratios(values, base),
                        spreads=spreads,
                    )
                )
    energy = [_energy(b) for b in benches]
    if _enough(energy):
        rows.append(
            CompareRow(
                benchmark=bench_id,
                variant=ENERGY_VARIANT,
                metric=ENERGY_METRIC,
                label=metric(ENERGY_METRIC).label,
                unit=metric(ENERGY_METRIC).unit,
                values=energy,
                ratios=_ratios(energy, base),
                spreads=[None] * len(energy),
            )
        )
    return rows


def _energy(bench: BenchmarkResult | None) -> MetricStat | None:
    if bench is None or bench.energy is None or bench.energy.joules_per_output_token is None:
        return None
    return MetricStat(mean=bench.energy.joules_per_output_token, std=None, n=1)


def _differ(
    kind: str,
    what: str,
    columns: Sequence[Column],
    values: Sequence[str],
    benchmark: str | None = None,
) -> list[Note]:
    """A note when ``values`` (one per column) are not all equal: values grouped by column."""
    if len(set(values)) < 2:
        return []
    groups: dict[str, list[str]] = {}
    for column, value in zip(columns, values, strict=True):
        groups.setdefault(value, []).append(column.label)
    text = f"{what}: " + "; ".join(f"{', '.join(c)} = {v}" for v, c in groups.items())
    return [
        Note(
            kind=kind,
            text=text,
            values={c.label: v for c, v in zip(columns, values, strict=True)},
            benchmark=benchmark,
        )
    ]


def _quick(column: Column) -> str:
    if column.quick is not None:
        return f"quick {column.quick:g}"
    return "not recorded (imported)" if column.source == "imported" else "full scale"


def _column_notes(columns: list[Column]) -> list[Note]:
    notes: list[Note] = []
    if any(c.quick is not None and c.quick != 1 for c in columns):
        notes += _differ("quick", "quick factor differs", columns, [_quick(c) for c in columns])
    versions = [f"{c.engine} {c.engine_version or 'version unknown'}" for c in columns]
    if any(c.engine_version for c in columns):
        notes += _differ("engine-version", "engine versions differ", columns, versions)
    sources = [c.source for c in columns]
    if "simulated" in sources:  # a simulated engine's numbers compare with no real engine's
        notes += _differ("simulated", "simulated vs measured", columns, sources)
    mixed = [c for c in columns if c.source in ("imported", "unverified", "measured")]
    origins = ["measured" if c.source == "measured" else "imported" for c in mixed]
    notes += _differ("imported", "imported vs measured", mixed, origins)
    if len({c.hardware for c in columns}) > 1:
        notes += _differ(
            "model", "models differ across hardware", columns, [c.model for c in columns]
        )
        profiles = [c.profile or "not recorded" for c in columns]
        notes += _differ(
            "precision", "profiles (precision or engine) differ across hardware", columns, profiles
        )
    return notes


def _benchmark_notes(
    columns: list[Column], bench_ids: list[str], tables: list[dict[str, BenchmarkResult]]
) -> list[Note]:
    notes: list[Note] = []
    for bench_id in bench_ids:
        having = [(c, t[bench_id]) for c, t in zip(columns, tables, strict=True) if bench_id in t]
        if len(having) == 1 and len(columns) > 1:
            (column, _), *_ = having
            text = f"{bench_id}: measured by one column only, {column.label}"
            notes.append(
                Note(
                    kind="only-one", text=text, values={column.label: bench_id}, benchmark=bench_id
                )
            )
        if len(having) < 2:
            notes += _standing_notes(bench_id, having)
            continue
        notes += _standing_notes(bench_id, having)
        cols = [c for c, _ in having]
        tools = [b.tool for _, b in having]
        notes += _differ("tool", f"{bench_id}: load generators differ", cols, tools, bench_id)
        variants = [" ".join(v.key for v in b.variants) or "none" for _, b in having]
        notes += _differ(
            "variants", f"{bench_id}: variants measured differ", cols, variants, bench_id
        )
    return notes


def _standing(bench: BenchmarkResult) -> str | None:
    """Why a benchmark's numbers stand apart (``show`` flags it, a ranking leaves it out):
    its first invalid flag, or partial; ``None`` for a whole, valid benchmark."""
    if not bench.valid:
        return next((f for f in bench.flags if f.startswith("invalid")), "invalid")
    return "partial: its job stopped after it" if bench.partial else None


def _standing_notes(bench_id: str, having: list[tuple[Column, BenchmarkResult]]) -> list[Note]:
    """One note naming the columns whose ``bench_id`` is invalid or partial, and why."""
    found = {c.label: why for c, b in having if (why := _standing(b)) is not None}
    if not found:
        return []
    text = f"{bench_id}: not valid in " + "; ".join(f"{c} ({why})" for c, why in found.items())
    return [Note(kind="invalid", text=text, values=found, benchmark=bench_id)]
