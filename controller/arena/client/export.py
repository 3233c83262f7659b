"""``arenactl export``: a run's jobs as reference result folders that ``arenactl import`` reads.

Everything comes through the user API: the served results (``GetResults``: mean ± std per
variant, hardware, provenance) are the headline numbers; each measured job's spec and per-run
metrics (``GetJob``), raw samples (``StreamSamples``) and telemetry (``StreamTelemetry``) give
the per-run open-loop files, llama-benchy's raw ``values`` and the telemetry files. One folder
per job: ``DIR/<model-slug>/<engine-profile>/`` (the job id is appended if two jobs would share
it), with the job's signed manifest and its samples (``arena.common.provenance.folder``).
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog

from arena.client.api import ArenaClient, RunDetail
from arena.common.errors import ArenaError
from arena.common.exports.folder import ExportContext, JobRecord, export_job
from arena.common.exports.llmd_report import llmd_reports
from arena.common.provenance.folder import provenance_files
from arena.common.schemas.results import JobResult
from arena.common.suites.scaling import quick_of

log = structlog.get_logger(__name__)


@dataclass
class ExportedJob:
    job_id: str
    folder: str
    files: list[str]
    notes: list[str] = field(default_factory=list)


def _iso(unix: float | None) -> str | None:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds") if unix else None


def read_record(client: ArenaClient, job_id: str, run: RunDetail) -> JobRecord:
    """One measured job's spec, current attempt's samples, per-run metrics and telemetry."""
    detail = client.job(job_id)
    if detail.spec is None:
        raise ArenaError(f"job {job_id} has no spec: it was not measured by an agent")
    return JobRecord(
        spec=detail.spec,
        samples=[sample for _, sample in client.samples(job_id=job_id)],
        run_metrics=detail.run_metrics,
        telemetry=[reading for _, reading in client.telemetry(job_id=job_id)],
        finished_at=_iso(detail.finished_at_unix),
        suite_file=run.suite_file,
        suite_yaml=run.suite_yaml,
    )


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text.split("/")[-1]).strip("-").lower() or "model"


def _folder_name(record: JobRecord, job: JobResult, taken: set[str]) -> str:
    profile = record.spec.model.engine
    name = f"{slug(job.model)}/{slug(profile)}"
    return f"{name}-{slug(job.job_id)}" if name in taken else name


def export_run(
    client: ArenaClient, run_id: str, out_dir: Path, *, llm_d: bool = False
) -> list[ExportedJob]:
    """Write one folder per job of ``run_id`` under ``out_dir``; returns what was written.
    ``llm_d``: llm-d Benchmark Reports (``arena.common.exports.llmd_report``) instead of the
    reference tools' files, without the signed provenance (the schema has no place for it)."""
    results = client.results(run_id)
    run = client.run(run_id)
    context = ExportContext(
        run_id=run_id,
        suite=results.suite,
        exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
        quick=quick_of(results.notes),
    )
    exported: list[ExportedJob] = []
    taken: set[str] = set()
    for job in results.jobs:
        if job.origin.kind == "imported":
            exported.append(ExportedJob(job.job_id, "", [], ["imported job: not exported"]))
            continue
        record = read_record(client, job.job_id, run)
        if llm_d:
            folder = llmd_reports(job, record, context)
        else:
            folder = export_job(job, record, context)
            signed = client.job(job.job_id)
            folder.files.update(
                provenance_files(
                    signed.manifest, signed.signature, signed.public_key, record.samples
                )
            )
        name = _folder_name(record, job, taken)
        taken.add(name)
        target = out_dir / name
        target.mkdir(parents=True, exist_ok=True)
        for filename, text in folder.files.items():
            (target / filename).write_text(text, encoding="utf-8")
        exported.append(ExportedJob(job.job_id, name, sorted(folder.files), folder.notes))
        log.info("exported job", job=job.job_id, folder=str(target), files=len(folder.files))
    return exported
