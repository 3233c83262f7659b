"""llm-d Benchmark Reports (a file, or every report in a folder tree) as imported runs.

The reports of one folder form one run, as a profile folder does (its key is the folder's last
three path components; a single file imported alone is keyed ``<model dir>/<folder>/<stem>``,
so sibling files imported one at a time stay apart). Each report is one run of one variant:
a report Arena wrote names its benchmark, variant and run (``results.observability.arena``);
any other is benchmark ``01-<load tool>`` (``stage<n>`` appended past stage 0) and variant
``rate<qps>``, else ``c<concurrency>``, else ``stage<n>``, its runs numbered in file-name
order. A variant's runs become mean ± std over its runs. A file that is no report, or a
malformed one, becomes a ``Problem``; the rest still imports.
"""

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from arena.common.metrics.box import box_summary
from arena.common.metrics.client_verdict import worst_run
from arena.common.metrics.engine_slots import carried_slot_flags
from arena.common.metrics.summary import summarize
from arena.common.parsers import ParseError
from arena.common.parsers.llmd_report import MAX_BYTES, LlmdReport, parse_report
from arena.common.parsers.meta import hardware_name
from arena.common.schemas.imported import (
    ImportedBenchmark,
    ImportedRun,
    ImportedStat,
    ImportedVariant,
    Provenance,
)
from arena.common.suites.variants import format_rate

SUFFIXES = (".json", ".yaml", ".yml")
MAX_REPORTS = 5000
"""Reports read under one root: more is refused (an llm-d sweep writes tens to hundreds)."""
PEEK = 4096
LOOKS_LIKE = re.compile(r"""(^|[{,])\s*"?version"?\s*:\s*["']?0\.\d""", re.M)
UID = re.compile(r"""(^|[{,\s])"?uid"?\s*:""", re.M)
"""A v0.x ``version`` near the top or the end, ``run.uid`` and ``results``: what tells a report
from the other JSON in a tree (llama-benchy's reports have a ``version`` too)."""
UNKNOWN = "unknown"
SLUG = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ReportProblem:
    path: Path
    message: str


@dataclass
class LlmdScan:
    runs: list[ImportedRun]
    problems: list[ReportProblem]


def is_llmd_report(path: Path) -> bool:
    """A JSON/YAML file that reads like a v0.x report at its start or end and carries results."""
    if path.suffix.lower() not in SUFFIXES or not path.is_file() or path.name == "meta.json":
        return False
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            head = file.read(PEEK)
    except OSError:
        return False
    text = head + "\n" + _tail(path)
    # ``version`` may come last (a serializer that sorts or appends keys): head and tail
    return bool(LOOKS_LIKE.search(text)) and "results" in text and bool(UID.search(text))


def _tail(path: Path) -> str:
    """``results`` may follow a long scenario; the peek looks at the end too."""
    with path.open("rb") as file:
        file.seek(max(0, path.stat().st_size - PEEK))
        return file.read().decode("utf-8", errors="replace")


def scan_reports(root: Path, name: Callable[[Path], str]) -> LlmdScan:
    """``name`` gives the path shown in problems and kept as the run's source."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if is_llmd_report(p))
    problems: list[ReportProblem] = []
    if len(files) > MAX_REPORTS:
        problems.append(ReportProblem(root, f"{len(files)} llm-d reports: more than {MAX_REPORTS}"))
        return LlmdScan([], problems)
    by_folder: dict[Path, list[tuple[Path, LlmdReport]]] = defaultdict(list)
    digests: dict[Path, hashlib._Hash] = defaultdict(hashlib.sha256)
    for path in files:
        try:
            if path.stat().st_size > MAX_BYTES:
                raise ParseError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB: not read")
            data = path.read_bytes()
            report = parse_report(data.decode("utf-8"))
        except (OSError, UnicodeDecodeError, ParseError) as error:
            problems.append(ReportProblem(path, str(error)))
            continue
        digests[path.parent].update(path.name.encode() + b"\0" + data + b"\0")
        by_folder[path.parent].append((path, report))
    runs = []
    single = root if root.is_file() else None
    for folder, reports in sorted(by_folder.items()):
        run, folder_problems = _run(folder, reports, name, digests[folder].hexdigest(), single)
        problems += folder_problems
        if run is not None:
            runs.append(run)
    return LlmdScan(runs, problems)


def _identity(report: LlmdReport) -> tuple[str, str, str, str]:
    """(benchmark id, title, kind, variant) of a report."""
    if report.arena is not None:
        arena = report.arena
        return arena.benchmark, arena.title or arena.benchmark, arena.kind, arena.variant
    tool = SLUG.sub("-", report.load_tool).strip("-").lower() or "llm-d"
    bench = f"01-{tool}" + (f"-stage{report.stage}" if report.stage else "")
    if report.rate_qps is not None:
        variant = f"rate{format_rate(report.rate_qps)}"
    elif report.concurrency is not None and report.concurrency != float("inf"):
        variant = f"c{format_rate(report.concurrency)}"
    else:
        variant = f"stage{report.stage}"
    return bench, f"{report.load_tool} (llm-d report)", "open_loop", variant


def _run(
    folder: Path,
    reports: list[tuple[Path, LlmdReport]],
    name: Callable[[Path], str],
    digest: str,
    single: Path | None = None,
) -> tuple[ImportedRun | None, list[ReportProblem]]:
    """``single``: the one file imported on its own, which keys the run by its folder and stem
    (a sibling report imported next is another run, not a replacement of this one)."""
    problems: list[ReportProblem] = []
    runs: dict[tuple[str, str], dict[int, dict[str, float]]] = defaultdict(dict)
    headers: dict[str, tuple[str, str, str]] = {}
    verdicts: dict[str, tuple[bool, bool, bool]] = defaultdict(lambda: (False, False, False))
    """Per benchmark: (partial, accept_saturated_client, exact_tg), as Arena's block says."""
    slots: dict[str, list[str]] = defaultdict(list)
    """Per benchmark: the measured job's llama.cpp slot warnings, as Arena's block says."""
    for path, report in reports:
        bench, title, kind, variant = _identity(report)
        if kind not in ("open_loop", "closed_loop"):
            problems.append(ReportProblem(path, f"benchmark kind {kind!r} is not imported"))
            continue
        taken = runs[(bench, variant)]
        run = report.arena.run if report.arena is not None else len(taken)
        if run in taken:
            problems.append(ReportProblem(path, f"{bench} {variant} run {run} appears twice"))
            continue
        taken[run] = (
            report.arena.metrics if report.arena and report.arena.metrics else report.metrics
        )
        tool = _tool(report)
        headers.setdefault(bench, (title, kind, tool))
        if report.arena is not None:
            partial, accepts, exact = verdicts[bench]
            verdicts[bench] = (
                partial or report.arena.partial,
                accepts or report.arena.accept_saturated_client,
                exact or report.arena.exact_tg,
            )
            slots[bench] = carried_slot_flags(slots[bench] + report.arena.flags)
    if not runs:
        return None, problems
    benchmarks = []
    for bench, (title, kind, tool) in sorted(headers.items()):
        variants = [
            _variant(variant, per_run) for (b, variant), per_run in runs.items() if b == bench
        ]
        partial, accepts, exact = verdicts[bench]
        benchmarks.append(
            ImportedBenchmark(
                id=bench,
                title=title,
                kind=kind,
                tool=tool,
                variants=variants,
                partial=partial,
                accept_saturated_client=accepts,
                exact_tg=exact,
                slot_flags=slots[bench],
            )
        )
    first = reports[0][1]
    engine = first.engine
    family, model_dir, profile_dir = (["", "", ""] + list(folder.resolve().parts))[-3:]
    key = f"{family}/{model_dir}/{profile_dir}"
    if single is not None:
        key = f"{model_dir}/{profile_dir}/{_stem(single)}"
    imported = ImportedRun(
        key=key,
        source=name(single if single is not None else folder),
        content_hash=digest,
        model=(engine.model if engine else None) or model_dir,
        served_name=engine.model if engine else None,
        profile=engine.label if engine else profile_dir,
        hardware=_hardware(first),
        provenance=Provenance(
            image=engine.version if engine else None,
            hardware_reported=engine.accelerator if engine else None,
            server_config=engine.args if engine else {},
            generated_at=first.ended_at,
            simulated=any(report.simulated for _, report in reports),
            engine=engine.tool if engine else None,
        ),
        benchmarks=benchmarks,
    )
    return imported, problems


def _hardware(report: LlmdReport) -> str:
    """Arena's own name of the box where its block carries one (a round trip keeps it), else
    the accelerator's ``<count>× <model>``."""
    if report.arena is not None and report.arena.hardware:
        return hardware_name(report.arena.hardware)
    engine = report.engine
    return hardware_name(engine.accelerator) if engine and engine.accelerator else UNKNOWN


def _stem(path: Path) -> str:
    """``a.br.json`` → ``a.br``: the file's name without its last suffix."""
    return path.name[: -len(path.suffix)] if path.suffix else path.name


def _tool(report: LlmdReport) -> str:
    if report.arena is not None and report.arena.tool in ("builtin", "llama-benchy", "vllm-bench"):
        return report.arena.tool
    return "llm-d"


def _variant(key: str, per_run: dict[int, dict[str, float]]) -> ImportedVariant:
    numbers = sorted(per_run)
    runs = [per_run[run] for run in numbers]
    # the box's throttled-run count and the client verdict's worst run, as a measured job
    # summarises them
    summary = summarize(runs) | box_summary(runs) | worst_run(runs, numbers)
    return ImportedVariant(
        key=key,
        runs=len(per_run),
        metrics={k: ImportedStat(mean=s.mean, std=s.std, n=s.n) for k, s in summary.items()},
    )
