"""One measured job as a reference result folder, the layout ``arenactl import`` reads.

The folder holds ``meta.json``; per closed-loop benchmark ``NN-<id>.json`` in llama-benchy's
JSON format; per open-loop variant and run ``NN-<id>.rate<rate>.run<k>.json`` in vLLM's
``--save-result`` format (detailed arrays included); per session benchmark
``NN-<id>.sessions.json`` in Arena's own format (``exports.sessions``); and
``NN-telemetry.csv`` per benchmark when the job had GPU telemetry. Summaries come from the
controller's results (what ``arenactl show`` prints); raw samples, per-run metrics and
telemetry from its database, when given. Without the database, closed-loop numbers are written
as mean, std and ``n`` (no raw values) and open-loop and session benchmarks cannot be written:
each such gap is returned as a note.
"""

import json
import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from arena.common.analysis.pareto import gpu_count
from arena.common.exports.folder_telemetry import telemetry_csv
from arena.common.exports.llama_benchy import BenchyVariant, llama_benchy_json
from arena.common.exports.sessions import SESSION_RESULTS_SUFFIX, session_results
from arena.common.exports.vllm import VllmRunInfo, vllm_save_result
from arena.common.metrics.client_load import cpu_utils_of
from arena.common.metrics.client_verdict import REPORTED_KEYS
from arena.common.schemas.job import JobSpec
from arena.common.schemas.results import BenchmarkResult, JobResult, VariantResult
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import (
    Benchmark,
    ClosedLoopBenchmark,
    OpenLoopBenchmark,
    SessionBenchmark,
)
from arena.common.schemas.telemetry import GpuReading
from arena.common.suites.variants import closed_variants, format_rate, open_variants

NUMBERED = re.compile(r"^\d\d-")
CLOSED_KEY = re.compile(r"^pp(?P<pp>\d+)/tg(?P<tg>\d+)/d(?P<depth>\d+)/c(?P<c>\d+)$")
VLLM_PERCENTILE_METRICS = ("ttft", "tpot", "itl", "e2el")


@dataclass(frozen=True)
class JobRecord:
    """What the controller's database holds about one job beyond its served results."""

    spec: JobSpec
    samples: Sequence[RequestSample]
    run_metrics: Mapping[tuple[str, str, int], Mapping[str, float | None]]
    """Per (benchmark, variant, run ≥ 0): the metrics the controller computed for that run."""
    telemetry: Sequence[GpuReading] = ()
    finished_at: str | None = None
    suite_file: str | None = None
    suite_yaml: str | None = None


@dataclass(frozen=True)
class ExportContext:
    run_id: str
    suite: str
    exported_at: str
    """ISO 8601, UTC."""
    quick: float | None = None
    """The run's ``quick`` factor; ``None``: full scale."""


@dataclass
class ExportedFolder:
    files: dict[str, str] = field(default_factory=dict)
    """File name → text."""
    notes: list[str] = field(default_factory=list)
    """What could not be exported, and why."""


def file_stem(position: int, bench_id: str) -> str:
    """The reference numbering: ``01-chat`` stays, ``chat`` at position 1 becomes ``01-chat``."""
    return bench_id if NUMBERED.match(bench_id) else f"{position:02d}-{bench_id}"


def export_job(job: JobResult, record: JobRecord | None, context: ExportContext) -> ExportedFolder:
    folder = ExportedFolder()
    folder.files["meta.json"] = _dump(_meta(job, record, context))
    specs = {bench.id: bench for bench in record.spec.benchmarks} if record else {}
    grouped: dict[tuple[str, str, int], list[RequestSample]] = defaultdict(list)
    for sample in record.samples if record else ():
        grouped[(sample.benchmark, sample.variant, sample.run)].append(sample)
    for position, bench in enumerate(job.benchmarks, start=1):
        stem = file_stem(position, bench.id)
        spec = specs.get(bench.id)
        if bench.kind == "closed_loop":
            model = _served_name(record.spec) if record else job.model
            document = _closed(bench, spec, grouped, context, model)
            folder.files[f"{stem}.json"] = _dump(document)
        elif bench.kind == "sessions":
            if record is None or not isinstance(spec, SessionBenchmark):
                folder.notes.append(f"{bench.id}: sessions need the database (--database)")
                continue
            samples = [sample for sample in record.samples if sample.benchmark == bench.id]
            client_load = cpu_utils_of(job.provenance, bench.id)
            written = session_results(
                bench,
                spec,
                samples,
                client_load,
                gpu_count(job.hardware_detail, bench.energy, cpu_only=None),
            )
            folder.files[f"{stem}{SESSION_RESULTS_SUFFIX}"] = _dump(written.model_dump(mode="json"))
        elif record is None or not isinstance(spec, OpenLoopBenchmark):
            folder.notes.append(f"{bench.id}: open loop needs the database (--database)")
            continue
        else:
            folder.files |= _open(stem, bench, spec, record, grouped)
        if record and record.telemetry:
            bench_samples = [s for s in record.samples if s.benchmark == bench.id]
            if csv := telemetry_csv(record.telemetry, bench_samples):
                folder.files[f"{stem[:2]}-telemetry.csv"] = csv
    return folder


def _dump(document: Any) -> str:
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def _meta(job: JobResult, record: JobRecord | None, context: ExportContext) -> dict[str, Any]:
    """The reference's keys first (``arena.common.parsers.meta`` reads them), then Arena's own."""
    provenance = job.provenance
    gpu = job.hardware_detail.gpus[0] if job.hardware_detail and job.hardware_detail.gpus else None
    image = provenance.get("image")
    engine_version = provenance.get("engine_version")
    is_vllm = "vllm" in f"{image} {provenance.get('command', '')}".lower()
    spec = record.spec if record else None
    return {
        "model": job.model,
        "served_name": _served_name(spec) if spec else job.model,
        "profile": spec.model.engine if spec else job.engine,
        "hardware": job.hardware,
        "vllm_image": image,
        "vllm_version_reported": engine_version if is_vllm else None,
        "driver_version": gpu.driver if gpu else None,
        "vbios_version": gpu.vbios if gpu else None,
        "server_config": server_config(spec) if spec else {},
        "generated_at": (record.finished_at if record else None) or context.exported_at,
        "runs": spec.runs if spec else max(_variant_runs(job), default=None),
        "arena": {
            "run_id": context.run_id,
            "job_id": job.job_id,
            "suite": context.suite,
            "suite_file": record.suite_file if record else None,
            "suite_yaml": record.suite_yaml if record else None,
            "seed": spec.seed if spec else None,
            "quick": context.quick,
            "target": job.target,
            "agent": job.agent,
            "engine_runtime": job.engine,
            "engine_version": engine_version,
            "simulated": job.simulated,
            "tools": {bench.id: bench.tool for bench in job.benchmarks},
            "hardware_detail": job.hardware_detail.model_dump() if job.hardware_detail else None,
            "telemetry": job.telemetry,
            "validity": _validity(job, spec),
            "provenance": {k: v for k, v in provenance.items() if k != "engine_metrics"},
            "exported_at": context.exported_at,
        },
    }


def _validity(job: JobResult, spec: JobSpec | None) -> dict[str, Any]:
    """Per benchmark, what ``arena.common.metrics.validity`` said: a reader of the folder sees
    an invalid benchmark and the metrics that are no measurement, as ``show`` does. ``partial``,
    the suite's ``accept_saturated_client`` and ``exact_tg`` are read back on import
    (``result_folder``), so the imported benchmark is judged and labelled as the measured one
    was."""
    accepts = {b.id: b.accept_saturated_client for b in spec.benchmarks} if spec else {}
    return {
        bench.id: {
            "valid": bench.valid,
            "partial": bench.partial,
            "accept_saturated_client": accepts.get(bench.id, False),
            "exact_tg": bench.exact_tg,
            "failed_share": bench.failed_share,
            "flags": bench.flags,
            "not_meaningful": {v.key: v.not_meaningful for v in bench.variants if v.not_meaningful},
            "spread_pct": {v.key: v.spread_pct for v in bench.variants},
        }
        for bench in job.benchmarks
    }


def _variant_runs(job: JobResult) -> list[int]:
    return [variant.runs for bench in job.benchmarks for variant in bench.variants]


def _served_name(spec: JobSpec) -> str:
    served = getattr(spec.engine, "served_model_name", None)
    return served if isinstance(served, str) and served else spec.model.name


def server_config(spec: JobSpec) -> dict[str, Any]:
    """The engine's arguments (never its secrets or API key)."""
    args: dict[str, Any] = dict(getattr(spec.engine, "args", {}) or {})
    return {"runtime": spec.engine.runtime, **args, **spec.model.engine_args}


def _vllm_date(iso: str | None) -> str:
    """``2026-08-16T12:02:29+00:00`` → ``20260816-120229``, vLLM's ``date``."""
    digits = re.sub(r"\D", "", iso or "")[:14]
    return f"{digits[:8]}-{digits[8:]}" if len(digits) == 14 else ""


def _runs_of(
    grouped: Mapping[tuple[str, str, int], list[RequestSample]], bench_id: str, variant: str
) -> list[tuple[int, list[RequestSample]]]:
    """The variant's runs in order, each run's requests in sending order."""
    runs = sorted(r for (b, v, r) in grouped if b == bench_id and v == variant)
    return [(r, sorted(grouped[(bench_id, variant, r)], key=lambda s: s.index)) for r in runs]


def _closed(
    bench: BenchmarkResult,
    spec: Benchmark | None,
    grouped: Mapping[tuple[str, str, int], list[RequestSample]],
    context: ExportContext,
    model: str,
) -> dict[str, Any]:
    """From the raw samples when Arena's generator measured them (llama-benchy's own pooling,
    so the numbers equal the served ones), else from the served mean ± std."""
    timestamp = context.exported_at[:19].replace("T", " ") + "Z"
    latency_mode = spec.latency_mode if isinstance(spec, ClosedLoopBenchmark) else "none"
    if isinstance(spec, ClosedLoopBenchmark) and spec.tool == "builtin" and grouped:
        shapes = {v.key: v for v in closed_variants(spec)}
        variants = []
        baselines = []
        for result in bench.variants:
            shape = shapes[result.key]
            runs = [samples for _, samples in _runs_of(grouped, bench.id, result.key)]
            baselines += [s.baseline_latency_s for run in runs for s in run]
            variants.append(
                BenchyVariant(
                    prompt_size=shape.pp,
                    response_size=shape.tg,
                    context_size=shape.depth,
                    concurrency=shape.concurrency,
                    runs=runs,
                    expected_prompt_tokens=shape.pp,
                )
            )
        document = llama_benchy_json(
            variants,
            model=model,
            latency_mode=latency_mode,
            latency_ms=next((b * 1000.0 for b in baselines if b is not None), 0.0),
            timestamp=timestamp,
        )
        for entry, result in zip(document["benchmarks"], bench.variants, strict=True):
            entry |= _served(result, REPORTED_KEYS)  # from the agent's figures, not samples
        return document
    return _closed_from_summaries(bench, model, latency_mode, timestamp)


def _served(result: VariantResult, keys: Sequence[str]) -> dict[str, Any]:
    """Served mean ± std of ``keys`` as a llama-benchy report states a metric."""
    return {
        key: {"mean": stat.mean, "std": stat.std or 0.0, "values": [], "n": stat.n}
        for key in keys
        if (stat := result.metrics.get(key)) is not None
        and stat.mean is not None
        and math.isfinite(stat.mean)
    }


def _closed_from_summaries(
    bench: BenchmarkResult, model: str, latency_mode: str, timestamp: str
) -> dict[str, Any]:
    entries = []
    for result in bench.variants:
        shape = CLOSED_KEY.match(result.key)
        if shape is None:
            continue
        entry: dict[str, Any] = {
            "concurrency": int(shape["c"]),
            "context_size": int(shape["depth"]),
            "prompt_size": int(shape["pp"]),
            "response_size": int(shape["tg"]),
            "is_context_prefill_phase": False,
        }
        entry |= _served(result, list(result.metrics))
        entries.append(entry)
    return {
        "version": "0.4.0",
        "timestamp": timestamp,
        "latency_mode": latency_mode,
        "latency_ms": 0.0,
        "model": model,
        "prefix_caching_enabled": False,
        "max_concurrency": max((e["concurrency"] for e in entries), default=1),
        "benchmarks": entries,
    }


def _open(
    stem: str,
    bench: BenchmarkResult,
    spec: OpenLoopBenchmark,
    record: JobRecord,
    grouped: Mapping[tuple[str, str, int], list[RequestSample]],
) -> dict[str, str]:
    """One vLLM result per variant and run, carrying Arena's per-run numbers beside vLLM's."""
    shapes = {v.key: v for v in open_variants(spec)}
    date = _vllm_date(record.finished_at)
    files: dict[str, str] = {}
    for result in bench.variants:
        shape = shapes[result.key]
        for run, samples in _runs_of(grouped, bench.id, result.key):
            info = VllmRunInfo(
                model_id=_served_name(record.spec),
                num_prompts=shape.num_prompts,
                request_rate=shape.rate,
                burstiness=spec.burstiness,
                max_concurrency=spec.max_concurrency,
                date=date,
                label=bench.id,
            )
            document = vllm_save_result(
                samples,
                info,
                percentiles=spec.percentiles,
                percentile_metrics=VLLM_PERCENTILE_METRICS,
                goodput_slo_ms={str(k): v for k, v in spec.goodput_slo_ms.items()} or None,
            )
            arena = record.run_metrics.get((bench.id, result.key, run))
            if arena is not None:
                document["arena_metrics"] = dict(arena)
            files[f"{stem}.rate{format_rate(shape.rate)}.run{run}.json"] = _dump(document)
    return files
