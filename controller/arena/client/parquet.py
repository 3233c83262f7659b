"""``arenactl export RUN DIR --parquet``: a run's raw material as two Parquet tables.

``samples.parquet``: one row per request (every attempt the controller serves: the current
one), every timestamp the sample has, chunk arrival times as a list column, token counts and
the error, with the job's keys. ``telemetry.parquet``: one row per GPU reading (measured jobs),
or per telemetry row of an imported benchmark. Everything is read through the user API
(``StreamSamples``, ``StreamTelemetry``, ``GetResults``), never from the database. Types are the
explicit schemas below; units are in the column names and in the schema's metadata.
``job_state`` tells a failed or cancelled job's rows apart: its completed benchmarks are the
ones ``GetResults`` marks partial.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import structlog

from arena.client.api import ArenaClient
from arena.common.analysis.aggregate import entry_of
from arena.common.schemas.results import JobResult, RunResults
from arena.common.schemas.sample import RequestSample

log = structlog.get_logger(__name__)

BATCH_ROWS = 50_000
"""Rows held before a batch is written: a long run's samples never sit in memory at once."""

JOB_KEYS = [
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("job_id", pa.string(), nullable=False),
    pa.field("model", pa.string(), nullable=False),
    pa.field("profile", pa.string(), nullable=False),
    pa.field("engine", pa.string(), nullable=False),
    pa.field("hardware", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("job_state", pa.string(), nullable=False),
]
TIME_AXIS = (
    "seconds on the agent's monotonic clock, from the job's origin (samples and telemetry of a "
    "measured job share it); an imported job keeps its source's own clock"
)

SAMPLES = pa.schema(
    [
        *JOB_KEYS,
        pa.field("benchmark", pa.string(), nullable=False),
        pa.field("variant", pa.string(), nullable=False),
        pa.field("run_index", pa.int32(), nullable=False),
        pa.field("request_index", pa.int32(), nullable=False),
        pa.field("scheduled_s", pa.float64()),
        pa.field("queued_s", pa.float64()),
        pa.field("sent_s", pa.float64(), nullable=False),
        pa.field("first_response_s", pa.float64()),
        pa.field("first_token_s", pa.float64()),
        pa.field("end_s", pa.float64()),
        pa.field("chunk_times_s", pa.list_(pa.float64()), nullable=False),
        pa.field("prompt_tokens", pa.int64()),
        pa.field("completion_tokens", pa.int64()),
        pa.field("max_tokens", pa.int64()),
        pa.field("error", pa.string()),
        pa.field("baseline_latency_s", pa.float64()),
        pa.field("session", pa.string()),
        pa.field("turn", pa.int32()),
        pa.field("cached_tokens", pa.int64()),
    ],
    metadata={
        "arena.table": "samples: one row per request",
        "arena.time_unit": "s",
        "arena.time_axis": TIME_AXIS,
        "arena.token_unit": "tokens",
        "arena.sessions": "session benchmarks: session (s12; sub-agent s12.1), turn (0-based); "
        "cached_tokens: prompt tokens the engine served from its prefix cache, any benchmark, "
        "null where the engine did not say",
    },
)

TELEMETRY = pa.schema(
    [
        *JOB_KEYS,
        pa.field("benchmark", pa.string()),
        pa.field("t_s", pa.float64(), nullable=False),
        pa.field("gpu", pa.int32()),
        pa.field("power_w", pa.float64()),
        pa.field("energy_mj", pa.float64()),
        pa.field("gpu_util_pct", pa.float64()),
        pa.field("mem_util_pct", pa.float64()),
        pa.field("mem_used_mib", pa.float64()),
        pa.field("sm_mhz", pa.float64()),
        pa.field("mem_mhz", pa.float64()),
        pa.field("temp_c", pa.float64()),
        pa.field("throttle_mask", pa.int64()),
        pa.field("throttle_reasons", pa.list_(pa.string()), nullable=False),
    ],
    metadata={
        "arena.table": "telemetry: one row per GPU reading",
        "arena.time_unit": "s",
        "arena.time_axis": TIME_AXIS,
        "arena.energy_mj": "NVML's total-energy counter, millijoules since the driver loaded",
        "arena.imported": "imported rows: benchmark set, gpu null, t_s = the file's elapsed_s, "
        "mem_used_mib = its mem_used_mb (nvidia-smi reports MiB)",
    },
)


@dataclass
class ParquetExport:
    samples: int
    telemetry: int
    files: list[str]


def _keys(run_id: str, job: JobResult) -> dict[str, Any]:
    entry = entry_of(job)
    source = "simulated" if job.simulated else job.origin.kind
    return {
        "run_id": run_id,
        "job_id": job.job_id,
        "model": job.model,
        "profile": entry.profile,
        "engine": job.engine,
        "hardware": entry.hardware,
        "source": source,
        "job_state": job.state,
    }


def _sample_rows(client: ArenaClient, results: RunResults) -> Iterator[dict[str, Any]]:
    keys = {job.job_id: _keys(results.run_id, job) for job in results.jobs}
    for job_id, sample in client.samples(run_id=results.run_id):
        yield sample_row(keys[job_id], sample)


def sample_row(keys: dict[str, Any], sample: RequestSample) -> dict[str, Any]:
    """One row of ``samples.parquet``: the job's keys, then every field of the sample (its
    session, turn and cached tokens among them)."""
    row = sample.model_dump()
    row["run_index"], row["request_index"] = row.pop("run"), row.pop("index")
    return keys | row


def _telemetry_rows(client: ArenaClient, results: RunResults) -> Iterator[dict[str, Any]]:
    keys = {job.job_id: _keys(results.run_id, job) for job in results.jobs}
    for job_id, reading in client.telemetry(run_id=results.run_id):
        yield keys[job_id] | {"benchmark": None} | reading.model_dump()
    for job in results.jobs:
        for bench_id, rows in job.origin.telemetry.items():
            for row in rows:
                yield keys[job.job_id] | {
                    "benchmark": bench_id,
                    "t_s": row.elapsed_s,
                    "gpu": None,
                    "power_w": row.power_w,
                    "temp_c": row.temp_c,
                    "sm_mhz": row.sm_mhz,
                    "gpu_util_pct": row.gpu_util,
                    "mem_used_mib": row.mem_used_mb,
                    "throttle_reasons": [],
                }


def write_table(rows: Iterator[dict[str, Any]], schema: pa.Schema, path: Path) -> int:
    """Write ``rows`` in batches under ``schema``; returns how many."""
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH_ROWS:
                writer.write_batch(pa.RecordBatch.from_pylist(batch, schema=schema))
                count += len(batch)
                batch = []
        writer.write_batch(pa.RecordBatch.from_pylist(batch, schema=schema))
        count += len(batch)
    return count


def export_parquet(client: ArenaClient, run_id: str, out_dir: Path) -> ParquetExport:
    """``out_dir/samples.parquet`` and ``out_dir/telemetry.parquet`` for every job of the run."""
    results = client.results(run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = write_table(_sample_rows(client, results), SAMPLES, out_dir / "samples.parquet")
    readings = write_table(
        _telemetry_rows(client, results), TELEMETRY, out_dir / "telemetry.parquet"
    )
    log.info("exported parquet", run=run_id, samples=samples, telemetry=readings)
    return ParquetExport(samples, readings, ["samples.parquet", "telemetry.parquet"])
