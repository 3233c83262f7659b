"""Walk a tree of reference result folders and turn each profile folder into an ``ImportedRun``.

A profile folder (``results/<family>/<model>/<profile>/``) holds ``meta.json``, one report per
benchmark named ``NN-<id>.md`` / ``NN-<id>.json``, the rate-sweep steps
``NN-rate-sweep-<rate>.json`` with their summary, and ``NN-telemetry.csv`` per benchmark.
Folders written by ``arenactl export`` hold one vLLM result per open-loop variant and run,
``NN-<id>.rate<rate>.run<k>.json``; the runs of a variant become mean ± std over runs; and one
``NN-<id>.sessions.json`` per session benchmark (``parsers.session_results``).
Logs and sanity files are not read (``_runner.log`` only to say why a sweep without steps
failed). llm-d Benchmark Reports anywhere under the root (or the root itself, a report file)
are read by ``parsers.llmd_import``. Any file that cannot be read becomes a ``Problem`` naming
it; the rest still imports.
"""

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import structlog

from arena.common.exports.folder import file_stem
from arena.common.metrics.client_verdict import worst_run
from arena.common.metrics.engine_slots import carried_slot_flags
from arena.common.metrics.summary import summarize
from arena.common.parsers import (
    ParseError,
    llama_benchy_json,
    llama_benchy_md,
    session_results,
    vllm_result,
)
from arena.common.parsers.llmd_import import scan_reports
from arena.common.parsers.llmd_report import ARENA_SUFFIX
from arena.common.parsers.meta import Meta, hardware_name, parse_meta
from arena.common.parsers.rate_sweep import STEP_FILE, parse_summary
from arena.common.parsers.runner_log import failure_reason
from arena.common.parsers.telemetry_csv import parse_telemetry
from arena.common.schemas.imported import (
    MAX_SPREAD_PCT,
    ImportedBenchmark,
    ImportedRun,
    ImportedStat,
    ImportedVariant,
    Provenance,
    RateSweepSummary,
)
from arena.common.suites.builtin import builtin_suite
from arena.common.suites.variants import format_rate

log = structlog.get_logger(__name__)

REPORT_FILE = re.compile(r"^(?P<id>\d\d-[A-Za-z0-9._-]+?)\.(?P<ext>md|json)$")
RUN_FILE = re.compile(
    r"^(?P<id>\d\d-[A-Za-z0-9._-]+?)\.rate(?P<rate>\d+(?:\.\d+)?|inf)\.run(?P<run>\d+)\.json$"
)
"""One run of one open-loop variant, as ``arenactl export`` names it."""
SESSION_FILE = re.compile(r"^(?P<id>\d\d-[A-Za-z0-9._-]+?)\.sessions\.json$")
"""One session benchmark, as ``arenactl export`` writes it (before ``REPORT_FILE``, which
would take ``sessions`` for part of the id)."""
TELEMETRY_FILE = re.compile(r"^(?P<prefix>\d\d)-telemetry\.csv$")
HEADING = re.compile(r"^# .*?— (?P<title>.+)$", re.M)
MODEL_LINE = re.compile(r"^\*\*Model:\*\* (?P<model>\S+)", re.M)
REFERENCE_SET = "arena-v2"


@dataclass(frozen=True)
class Problem:
    file: str
    """Path relative to the imported root."""
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class Scan:
    runs: list[ImportedRun] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Folder:
    """One profile folder being read: the files read (for the hash) and problems found."""

    path: Path
    root: Path
    problems: list[Problem] = field(default_factory=list)
    digest: "hashlib._Hash" = field(default_factory=hashlib.sha256)

    def name(self, path: Path) -> str:
        relative = path.relative_to(self.root).as_posix()
        return path.name if relative == "." else relative

    def read(self, path: Path) -> str | None:
        try:
            data = path.read_bytes()
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self.problem(path, f"cannot read: {error}")
            return None
        self.digest.update(path.name.encode() + b"\0" + data + b"\0")
        return text

    def problem(self, path: Path, message: str) -> None:
        self.problems.append(Problem(self.name(path), message))


def scan(root: Path) -> Scan:
    """Every profile folder under ``root`` (``root`` itself may be one), in path order."""
    result = Scan()
    reports = scan_reports(root, lambda path: _shown(path, root))
    result.runs += reports.runs
    result.problems += [Problem(_shown(p.path, root), p.message) for p in reports.problems]
    folders = [root, *sorted(p for p in root.rglob("*") if p.is_dir())] if root.is_dir() else []
    for folder in folders:
        if not _is_profile_folder(folder):
            continue
        reader = _Folder(folder, root)
        run = _import_folder(reader)
        result.problems += reader.problems
        if run is not None:
            result.runs.append(run)
    if not result.runs and not result.problems:
        result.problems.append(
            Problem(str(root), "no result folders (no meta.json) and no llm-d reports found")
        )
    log.debug("scanned", root=str(root), runs=len(result.runs), problems=len(result.problems))
    return result


def _shown(path: Path, root: Path) -> str:
    """A path as problems and sources show it: relative to the root, else its own name."""
    base = root if root.is_dir() else root.parent
    relative = path.relative_to(base).as_posix() if path.is_relative_to(base) else path.name
    return path.name if relative == "." else relative


def _is_profile_folder(folder: Path) -> bool:
    return (folder / "meta.json").is_file() or any(
        REPORT_FILE.match(p.name) for p in folder.iterdir() if p.is_file() and not _llmd(p)
    )


def _llmd(path: Path) -> bool:
    """An llm-d report Arena exported: ``parsers.llmd_import`` reads it, not the folder."""
    return path.name.endswith(ARENA_SUFFIX)


@cache
def _titles() -> dict[str, str]:
    suite = builtin_suite(REFERENCE_SET)
    return {bench.id: bench.title for bench in [*suite.benchmarks, *suite.extras]}


def _import_folder(folder: _Folder) -> ImportedRun | None:
    meta = _meta(folder)
    files = sorted(p for p in folder.path.iterdir() if p.is_file() and not _llmd(p))
    reports: dict[str, dict[str, Path]] = defaultdict(dict)
    steps: dict[str, list[Path]] = defaultdict(list)
    telemetry: dict[str, Path] = {}
    run_files: dict[str, list[tuple[int, Path]]] = defaultdict(list)
    benchmarks: list[ImportedBenchmark] = []
    for path in files:
        if session_file := SESSION_FILE.match(path.name):
            if (
                sessions := _sessions_benchmark(folder, session_file.group("id"), path)
            ) is not None:
                benchmarks.append(sessions)
        elif run_file := RUN_FILE.match(path.name):
            run_files[run_file.group("id")].append((int(run_file.group("run")), path))
        elif step := STEP_FILE.match(path.name):
            steps[step.group("prefix")].append(path)
        elif report := REPORT_FILE.match(path.name):
            reports[report.group("id")][report.group("ext")] = path
        elif tele := TELEMETRY_FILE.match(path.name):
            telemetry[tele.group("prefix")] = path
    sweep: RateSweepSummary | None = None
    model_hint: str | None = None
    for bench_id, found in sorted(reports.items()):
        markdown = folder.read(found["md"]) if "md" in found else None
        if markdown and model_hint is None and (line := MODEL_LINE.search(markdown)):
            model_hint = line.group("model")
        if "json" in found and _is_sweep_summary(found["json"]):
            sweep = _sweep_summary(folder, found["json"]) or sweep
            if sweep is not None and not sweep.steps and bench_id[:2] not in steps:
                sweep.failed = _failure(folder, bench_id)
                benchmarks.append(_failed_sweep(bench_id))
            continue
        bench = _benchmark(folder, bench_id, found, markdown, meta)
        if bench is not None:
            benchmarks.append(bench)
    for prefix, paths in sorted(steps.items()):
        benchmarks.append(_sweep_benchmark(folder, prefix, paths, reports))
    for bench_id, runs in sorted(run_files.items()):
        benchmarks.append(_runs_benchmark(folder, bench_id, runs))
    _attach_telemetry(folder, benchmarks, telemetry)
    if not benchmarks:
        folder.problem(folder.path, "nothing to import: no readable benchmark results")
        return None
    benchmarks = _verdict_inputs(folder, benchmarks)
    benchmarks.sort(key=lambda b: b.id)
    return _run(folder, meta, benchmarks, sweep, model_hint)


def _verdict_inputs(
    folder: _Folder, benchmarks: list[ImportedBenchmark]
) -> list[ImportedBenchmark]:
    """An Arena export's ``arena.validity``: each benchmark's ``partial``, ``exact_tg``, its
    llama.cpp slot warnings, the suite's ``accept_saturated_client`` and each variant's
    run-to-run spread, so the import is judged as the measured job was (the rest of the verdict
    is recomputed from the figures). Read from the file ``_meta`` already hashed."""
    path = folder.path / "meta.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, UnicodeDecodeError, ValueError):
        return benchmarks  # _meta named the problem
    arena = document.get("arena") if isinstance(document, dict) else None
    validity = arena.get("validity") if isinstance(arena, dict) else None
    if not isinstance(validity, dict):
        return benchmarks
    # the export names each benchmark's files by the stem of its id at its position, in the
    # order it writes ``arena.validity`` (``chat`` at position 1 is ``01-chat``)
    by_stem = {
        file_stem(position, bench_id): said
        for position, (bench_id, said) in enumerate(validity.items(), start=1)
    }
    out = []
    for bench in benchmarks:
        said = by_stem.get(bench.id)
        if isinstance(said, dict):
            bench = bench.model_copy(
                update={
                    "partial": said.get("partial") is True,
                    "accept_saturated_client": said.get("accept_saturated_client") is True,
                    "exact_tg": said.get("exact_tg") is True,
                    "slot_flags": carried_slot_flags(said.get("flags")),
                    "variants": _stated_spreads(folder, bench, said.get("spread_pct")),
                }
            )
        out.append(bench)
    return out


def _stated_spreads(
    folder: _Folder, bench: ImportedBenchmark, stated: object
) -> list[ImportedVariant]:
    """The variants with the spread the measuring controller stated for each (``None`` where
    it stated none); a value that is no finite spread is left out with a problem."""
    if stated is None:
        return bench.variants
    where = f"'arena.validity.{bench.id}.spread_pct'"
    if not isinstance(stated, dict):
        folder.problem(folder.path / "meta.json", f"{where} should be an object: left out")
        return bench.variants
    variants = []
    for variant in bench.variants:
        value = stated.get(variant.key)
        if value is not None and not _is_spread(value):
            folder.problem(
                folder.path / "meta.json",
                f"{where} of {variant.key} is {repr(value)[:40]}, expected a finite "
                f"percentage from 0 to {MAX_SPREAD_PCT:g}: recomputed from the std instead",
            )
            value = None
        spread = float(value) if value is not None else None
        variants.append(variant.model_copy(update={"spread_pct": spread}))
    return variants


def _is_spread(value: object) -> bool:
    """A number from 0 to the limit; compared as it is (NaN and infinity fail the comparison),
    since a JSON integer of 400 digits cannot even become a float."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and 0 <= value <= MAX_SPREAD_PCT
    )


def _meta(folder: _Folder) -> Meta | None:
    path = folder.path / "meta.json"
    if not path.is_file():
        folder.problem(path, "missing: model, versions and server config unknown")
        return None
    text = folder.read(path)
    if text is None:
        return None
    try:
        meta = parse_meta(text)
    except ParseError as error:
        folder.problem(path, str(error))
        return None
    for message in meta.problems:
        folder.problem(path, message)
    return meta


def _json(folder: _Folder, path: Path) -> tuple[str, object] | None:
    text = folder.read(path)
    if text is None:
        return None
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as error:
        folder.problem(path, f"not valid JSON (truncated?): {error}")
        return None


def _is_sweep_summary(path: Path) -> bool:
    """A peek at the start of the file: the summary names its capacities first."""
    with path.open(encoding="utf-8", errors="replace") as file:
        return "capacity_by_slo_ms" in file.read(4096)


def _sweep_summary(folder: _Folder, path: Path) -> RateSweepSummary | None:
    text = folder.read(path)
    if text is None:
        return None
    try:
        return parse_summary(text)
    except ParseError as error:
        folder.problem(path, str(error))
        return None


def _failure(folder: _Folder, bench_id: str) -> str:
    """Why a sweep has no step at all, as the runner's log says (not read into the hash)."""
    log_file = folder.path / "_runner.log"
    text = log_file.read_text(errors="replace") if log_file.is_file() else ""
    return failure_reason(text, bench_id[:2]) or "no step results"


def _failed_sweep(bench_id: str) -> ImportedBenchmark:
    """The sweep as a benchmark without variants, so its telemetry still has a home."""
    title = _titles().get(bench_id, bench_id)
    return ImportedBenchmark(
        id=bench_id, title=title, kind="open_loop", tool="vllm-bench", variants=[]
    )


def _benchmark(
    folder: _Folder,
    bench_id: str,
    found: dict[str, Path],
    markdown: str | None,
    meta: Meta | None,
) -> ImportedBenchmark | None:
    command = llama_benchy_md.command_line(markdown) if markdown else None
    commands = [command] if command else []
    title = _titles().get(bench_id) or _heading(markdown) or bench_id
    if "json" in found:
        loaded = _json(folder, found["json"])
        if loaded is None:
            return None
        text, document = loaded
        try:
            if llama_benchy_json.is_benchy_report(document):
                benchy = llama_benchy_json.parse_report(text)
                variants = llama_benchy_json.variants(benchy, _benchy_runs(command, meta))
                return _closed(bench_id, title, commands, variants)
            result = vllm_result.parse_result(text)
        except ParseError as error:
            folder.problem(found["json"], str(error))
            return None
        return _open(bench_id, title, commands, [(0, result)])
    if markdown is None:
        return None
    if command and "vllm" in command and "llama-benchy" not in command:
        folder.problem(found["md"], "vllm bench serve report without its result JSON: skipped")
        return None
    if "| test" not in markdown and command is None:
        return None  # a prose report (e.g. the rate sweep's), not a result table
    try:
        report = llama_benchy_md.parse_report(markdown)
    except ParseError as error:
        folder.problem(found["md"], str(error))
        return None
    variants, unpaired = llama_benchy_md.variants(report)
    for message in [*report.problems, *unpaired]:
        folder.problem(found["md"], message)
    return _closed(bench_id, title, commands, variants)


def _benchy_runs(command: str | None, meta: Meta | None = None) -> int:
    if command is None:
        return (meta.runs if meta else None) or llama_benchy_md.DEFAULT_RUNS
    return llama_benchy_md.parse_command(command).runs


def _heading(markdown: str | None) -> str | None:
    match = HEADING.search(markdown) if markdown else None
    return match.group("title").strip() if match else None


def _closed(
    bench_id: str, title: str, commands: list[str], variants: list[ImportedVariant]
) -> ImportedBenchmark:
    return ImportedBenchmark(
        id=bench_id,
        title=title,
        kind="closed_loop",
        tool="llama-benchy",
        commands=commands,
        variants=variants,
    )


def _open(
    bench_id: str,
    title: str,
    commands: list[str],
    results: list[tuple[int, vllm_result.VllmResult]],
) -> ImportedBenchmark:
    """One variant per configured rate: mean ± std over its runs (std 0 for a single run)."""
    by_rate: dict[float, list[tuple[int, vllm_result.VllmResult]]] = defaultdict(list)
    for run, result in results:
        by_rate[result.request_rate].append((run, result))
    variants, samples = [], []
    for rate, runs in sorted(by_rate.items()):
        key = f"rate{format_rate(rate)}"
        runs.sort(key=lambda item: item[0])
        per_run = [result.metrics for _, result in runs]
        summary = summarize(per_run) | worst_run(per_run, [run for run, _ in runs])
        metrics = {
            name: ImportedStat(mean=stat.mean, std=stat.std, n=stat.n)
            for name, stat in summary.items()
        }
        variants.append(ImportedVariant(key=key, runs=len(runs), metrics=metrics))
        for run, result in runs:
            samples += vllm_result.request_samples(result, bench_id, key, run)
    return ImportedBenchmark(
        id=bench_id,
        title=title,
        kind="open_loop",
        tool="vllm-bench",
        commands=commands,
        variants=variants,
        samples=samples,
    )


def _sweep_benchmark(
    folder: _Folder, prefix: str, paths: list[Path], reports: dict[str, dict[str, Path]]
) -> ImportedBenchmark:
    bench_id = next((i for i in reports if i.startswith(f"{prefix}-")), f"{prefix}-rate-sweep")
    results = []
    for path in paths:
        text = folder.read(path)
        if text is None:
            continue
        try:
            results.append((0, vllm_result.parse_result(text)))
        except ParseError as error:
            folder.problem(path, str(error))
    return _open(bench_id, _titles().get(bench_id, bench_id), [], results)


def _sessions_benchmark(folder: _Folder, bench_id: str, path: Path) -> ImportedBenchmark | None:
    text = folder.read(path)
    if text is None:
        return None
    try:
        return session_results.session_benchmark(
            bench_id, session_results.parse_session_results(text)
        )
    except ParseError as error:
        folder.problem(path, str(error))
        return None


def _runs_benchmark(
    folder: _Folder, bench_id: str, paths: list[tuple[int, Path]]
) -> ImportedBenchmark:
    results = []
    for run, path in sorted(paths):
        text = folder.read(path)
        if text is None:
            continue
        try:
            results.append((run, vllm_result.parse_result(text)))
        except ParseError as error:
            folder.problem(path, str(error))
    return _open(bench_id, _titles().get(bench_id, bench_id), [], results)


def _attach_telemetry(
    folder: _Folder, benchmarks: list[ImportedBenchmark], files: dict[str, Path]
) -> None:
    for prefix, path in sorted(files.items()):
        bench = next((b for b in benchmarks if b.id.startswith(f"{prefix}-")), None)
        if bench is None:
            folder.problem(path, f"no benchmark results numbered {prefix}: telemetry skipped")
            continue
        text = folder.read(path)
        if text is None:
            continue
        try:
            parsed = parse_telemetry(text)
        except ParseError as error:
            folder.problem(path, str(error))
            continue
        for message in parsed.problems:
            folder.problem(path, f"{message}: row skipped")
        for message in parsed.gaps:
            folder.problem(path, message)
        bench.telemetry = parsed.samples


def _run(
    folder: _Folder,
    meta: Meta | None,
    benchmarks: list[ImportedBenchmark],
    sweep: RateSweepSummary | None,
    model_hint: str | None,
) -> ImportedRun:
    family, model_dir, profile_dir = (["", "", ""] + list(folder.path.resolve().parts))[-3:]
    served = meta.served_name if meta else None
    return ImportedRun(
        key=f"{family}/{model_dir}/{profile_dir}",
        source=folder.name(folder.path),
        content_hash=folder.digest.hexdigest(),
        model=(meta.model if meta else None) or model_hint or model_dir,
        served_name=served,
        profile=(meta.profile if meta else None) or profile_dir,
        hardware=meta.hardware if meta else hardware_name(None),
        provenance=meta.provenance if meta else Provenance(),
        benchmarks=benchmarks,
        rate_sweep=sweep,
    )
