"""One measured job as llm-d Benchmark Reports (schema v0.2): one report per benchmark, variant
and run, the unit llm-d's own converters write (one per workload stage).

Schema followed: github.com/llm-d/llm-d-benchmark, ``llmdbenchmark/analysis/benchmark_report/``
at commit 2a46f34cdcf8254b5f2b8a20924339b96fd80a3b (the last to change it; repository head
8bc9f1ddd873, 2026-08-21): ``schema_v0_2.py`` (pydantic, ``extra="forbid"``) and
its generated ``br_v0_2_json_schema.json`` (a copy, Apache-2.0, in ``tests/data/llm-d/``, which
the tests validate every export against). Units are the schema's: latency in ``ms``, per-token
latency in ``ms/token``, rates in ``tokens/s`` and ``queries/s``, lengths in ``count``.

Every figure is computed from the run's samples with the functions Arena's open-loop metrics use
(``metrics.open_loop``), so TTFT, TPOT, ITL and E2E latency read as ``arenactl show`` prints them
for an open-loop run. The schema has no place for Arena's own keys (closed-loop llama-benchy
figures, client checks) nor for "simulated"; both go where the schema allows free content:
``results.observability.arena`` (``Observability`` takes ad-hoc keys) holds the benchmark,
variant, run, per-run metrics and the ``simulated`` label, and a simulated job also says so in
``run.keywords`` and ``run.description``, where a reader of any tool sees it.
"""

import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from arena.common import stats
from arena.common.exports.folder import (
    ExportContext,
    ExportedFolder,
    JobRecord,
    file_stem,
    server_config,
)
from arena.common.metrics.open_loop import (
    open_loop_metrics,
    output_tokens,
    percentile_key,
    succeeded,
)
from arena.common.parsers.llmd_report import ARENA_SUFFIX
from arena.common.schemas.results import BenchmarkResult, JobResult
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import Benchmark, ClosedLoopBenchmark, OpenLoopBenchmark
from arena.common.suites.variants import closed_variants, open_variants
from arena.common.version import arena_version

SCHEMA_VERSION = "0.2"
PERCENTILES: dict[str, float] = {
    "p0p1": 0.1,
    "p1": 1,
    "p5": 5,
    "p10": 10,
    "p25": 25,
    "p50": 50,
    "p75": 75,
    "p90": 90,
    "p95": 95,
    "p99": 99,
    "p99p9": 99.9,
}
"""The schema's ``Statistics`` percentile fields and the percentile each one names."""
LATENCIES = {
    "time_to_first_token": ("ttft", "ms"),
    "time_per_output_token": ("tpot", "ms/token"),
    "inter_token_latency": ("itl", "ms/token"),
    "request_latency": ("e2el", "ms"),
}
"""The schema's latency fields → Arena's (vLLM's) metric and the schema's unit."""
THROUGHPUTS = {
    "input_token_rate": ("input_throughput", "tokens/s"),
    "output_token_rate": ("output_throughput", "tokens/s"),
    "total_token_rate": ("total_token_throughput", "tokens/s"),
    "request_rate": ("request_throughput", "queries/s"),
}
"""The schema's throughput fields → Arena's metric key and the schema's unit."""
SIMULATED_KEYWORD = "simulated"
PARTIAL_KEYWORD = "partial"
INVALID_KEYWORD = "invalid"


def llmd_reports(job: JobResult, record: JobRecord, context: ExportContext) -> ExportedFolder:
    """Every (benchmark, variant, run) with samples; what has none is named in the notes."""
    folder = ExportedFolder()
    specs = {bench.id: bench for bench in record.spec.benchmarks}
    grouped: dict[tuple[str, str, int], list[RequestSample]] = defaultdict(list)
    for sample in record.samples:
        grouped[(sample.benchmark, sample.variant, sample.run)].append(sample)
    for position, bench in enumerate(job.benchmarks, start=1):
        if bench.kind == "sessions":
            folder.notes.append(f"{bench.id}: session benchmarks are not exported as llm-d reports")
            continue
        stem = file_stem(position, bench.id)
        for variant in bench.variants:
            runs = sorted(r for (b, v, r) in grouped if b == bench.id and v == variant.key)
            if not runs:
                folder.notes.append(f"{bench.id} {variant.key}: no samples, no report")
            for run in runs:
                samples = sorted(grouped[(bench.id, variant.key, run)], key=lambda s: s.index)
                report = llmd_report(
                    job, record, context, bench, specs.get(bench.id), variant.key, run, samples
                )
                name = f"{stem}.{_slug(variant.key)}.run{run}{ARENA_SUFFIX}"
                folder.files[name] = json.dumps(report, indent=2, allow_nan=False) + "\n"
    return folder


def llmd_report(
    job: JobResult,
    record: JobRecord,
    context: ExportContext,
    bench: BenchmarkResult,
    spec: Benchmark | None,
    variant: str,
    run: int,
    samples: Sequence[RequestSample],
) -> dict[str, Any]:
    """One run of one variant as a v0.2 report (a JSON-ready dict, ``None`` fields left out)."""
    metrics = open_loop_metrics(samples, tuple(PERCENTILES.values()))
    identity = f"{context.run_id}/{job.job_id}/{bench.id}/{variant}/{run}"
    return {
        "version": SCHEMA_VERSION,
        "run": _run(job, context, bench, variant, run, identity, metrics.get("duration")),
        "scenario": {"stack": [_engine(job, record)], "load": _load(bench, spec, variant, samples)},
        "results": {
            "request_performance": {"aggregate": _aggregate(samples, metrics)},
            "observability": {
                "arena": {
                    "benchmark": bench.id,
                    "title": bench.title,
                    "kind": bench.kind,
                    "tool": bench.tool,
                    "variant": variant,
                    "run": run,
                    "simulated": job.simulated,
                    "valid": bench.valid,
                    "partial": bench.partial,
                    "flags": bench.flags,
                    "accept_saturated_client": bool(
                        spec is not None and spec.accept_saturated_client
                    ),
                    "exact_tg": bench.exact_tg,
                    "hardware": job.hardware,
                    "metrics": _finite(record.run_metrics.get((bench.id, variant, run), {})),
                }
            },
        },
    }


def _slug(variant: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", variant).strip("-")


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _finite(metrics: Mapping[str, float | None]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if v is not None and math.isfinite(v)}


def _run(
    job: JobResult,
    context: ExportContext,
    bench: BenchmarkResult,
    variant: str,
    run: int,
    identity: str,
    duration: float | None,
) -> dict[str, Any]:
    what = f"Arena run {context.run_id}, job {job.job_id}: {bench.title}, {variant}, run {run}"
    keywords = ["arena", bench.id, variant, f"run{run}"]
    if bench.partial:
        what = f"PARTIAL (its job stopped after this benchmark; never ranked): {what}"
        keywords.append(PARTIAL_KEYWORD)
    if not bench.valid:
        what = f"INVALID ({_first_invalid(bench.flags)}): {what}"
        keywords.append(INVALID_KEYWORD)
    if job.simulated:
        what = f"SIMULATED (no real engine, {job.engine}): {what}"
        keywords.append(SIMULATED_KEYWORD)
    document: dict[str, Any] = {
        "uid": _hash(identity),
        "eid": context.run_id,
        "description": what,
        "keywords": keywords,
    }
    if duration:
        document["time"] = {"duration": iso_seconds(duration)}
    return document


def iso_seconds(seconds: float) -> str:
    """ISO 8601 duration in fixed point (``PT12.5S``, never ``PT1e-05S``), to the microsecond."""
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return f"PT{text or '0'}S"


def _first_invalid(flags: Sequence[str]) -> str:
    return next((f.removeprefix("invalid: ") for f in flags if f.startswith("invalid")), "invalid")


def _engine(job: JobResult, record: JobRecord) -> dict[str, Any]:
    gpus = job.hardware_detail.gpus if job.hardware_detail else []
    args = server_config(record.spec)
    return {
        "metadata": {
            "label": record.spec.model.engine,
            "cfg_id": _hash(json.dumps(args, sort_keys=True, default=str)),
            "description": f"{job.engine} on {job.hardware or 'unknown hardware'}",
        },
        "standardized": {
            "kind": "inference_engine",
            "tool": job.engine,
            "tool_version": str(
                job.provenance.get("engine_version") or job.provenance.get("image") or "unknown"
            ),
            "role": "replica",
            "replicas": 1,
            "model": {"name": job.model},
            "accelerator": {  # the GPU's name: the count is the schema's own field
                "model": gpus[0].name if gpus else (job.hardware or "unknown"),
                "count": len(gpus),
                "parallelism": {},
            },
        },
        "native": {"args": json.loads(json.dumps(args, default=str))},
    }


def _load(
    bench: BenchmarkResult, spec: Benchmark | None, variant: str, samples: Sequence[RequestSample]
) -> dict[str, Any]:
    standardized: dict[str, Any] = {
        "tool": "arena" if bench.tool == "builtin" else bench.tool,
        "tool_version": arena_version() if bench.tool == "builtin" else "unknown",
        "source": "random",
        "input_seq_len": _lengths(
            [s.prompt_tokens for s in samples if s.prompt_tokens is not None]
        ),
    }
    shape = (
        next((v for v in closed_variants(spec) if v.key == variant), None)
        if isinstance(spec, ClosedLoopBenchmark)
        else None
    )
    step = (
        next((v for v in open_variants(spec) if v.key == variant), None)
        if isinstance(spec, OpenLoopBenchmark)
        else None
    )
    if shape is not None:
        standardized["input_seq_len"] = {"distribution": "fixed", "value": shape.pp + shape.depth}
        standardized["output_seq_len"] = {"distribution": "fixed", "value": shape.tg}
        standardized["concurrency"] = shape.concurrency
    elif step is not None and isinstance(spec, OpenLoopBenchmark):
        standardized["source"] = "random" if spec.dataset == "random" else "sampled"
        if math.isfinite(step.rate):
            standardized["rate_qps"] = step.rate
        if spec.max_concurrency is not None:
            standardized["concurrency"] = spec.max_concurrency
    native = {"args": json.loads(spec.model_dump_json())} if spec else {}
    return {
        "metadata": {
            "cfg_id": _hash(json.dumps(native, sort_keys=True)),
            "description": bench.title,
        },
        "standardized": standardized,
        "native": native,
    }


def _lengths(values: Sequence[int]) -> dict[str, Any]:
    if not values:
        return {"distribution": "other", "value": 0}
    if min(values) == max(values):
        return {"distribution": "fixed", "value": values[0]}
    return {
        "distribution": "other",
        "value": sum(values) / len(values),
        "min": min(values),
        "max": max(values),
    }


def _aggregate(
    samples: Sequence[RequestSample], metrics: Mapping[str, float | None]
) -> dict[str, Any]:
    done = [s for s in samples if succeeded(s)]
    requests: dict[str, Any] = {"total": len(samples), "failures": len(samples) - len(done)}
    if inputs := [float(s.prompt_tokens) for s in done if s.prompt_tokens is not None]:
        requests["input_length"] = _counts(inputs)
    if done:
        requests["output_length"] = _counts([float(output_tokens(s)) for s in done])
    latency = {
        field: stat
        for field, (metric, units) in LATENCIES.items()
        if (stat := _distribution(metrics, metric, units)) is not None
    }
    duration = metrics.get("duration")
    rates = dict(metrics)
    if duration:
        rates["input_throughput"] = (metrics.get("total_input_tokens") or 0.0) / duration
    throughput = {
        field: {"units": units, "mean": value}
        for field, (key, units) in THROUGHPUTS.items()
        if (value := rates.get(key)) is not None
    }
    aggregate: dict[str, Any] = {"requests": requests}
    if latency:
        aggregate["latency"] = latency
    if throughput:
        aggregate["throughput"] = throughput
    return aggregate


def _counts(values: Sequence[float]) -> dict[str, Any]:
    return {
        "units": "count",
        "mean": stats.mean(values),
        "min": min(values),
        "max": max(values),
        "p50": stats.percentile(values, 50),
        "p99": stats.percentile(values, 99),
    }


def _distribution(
    metrics: Mapping[str, float | None], metric: str, units: str
) -> dict[str, Any] | None:
    """Arena's mean, median, std and percentiles of one latency (already in ms)."""
    mean = metrics.get(f"mean_{metric}_ms")
    if mean is None:
        return None
    stat: dict[str, Any] = {"units": units, "mean": mean}
    if (std := metrics.get(f"std_{metric}_ms")) is not None:
        stat["stddev"] = std
    for field, p in PERCENTILES.items():
        if (value := metrics.get(percentile_key(p, metric))) is not None:
            stat[field] = value
    return stat
