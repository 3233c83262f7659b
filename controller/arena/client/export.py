"""``arenactl export``: a run's jobs as reference result folders that ``arenactl import`` reads.

The served results (``GetResults``: mean ± std per variant, hardware, provenance) are the
headline numbers; there is no RPC for raw samples, so per-run open-loop files, llama-benchy's
raw ``values`` and telemetry come from the controller's database, read directly when its URL
is given (the SQLite file ``arena-controller`` writes, or any SQLAlchemy URL). One folder per
job: ``DIR/<model-slug>/<engine-profile>/`` (the job id is appended if two jobs would share it).
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, create_engine, select

from arena.client.api import ArenaClient
from arena.common.errors import ArenaError, NotFoundError
from arena.common.exports.folder import ExportContext, JobRecord, export_job
from arena.common.schemas.job import JobSpec
from arena.common.schemas.results import JobResult
from arena.controller.store.aggregates import SUMMARY_RUN
from arena.controller.store.imports import is_imported
from arena.controller.store.jobs import samples_of
from arena.controller.store.models import AggregateRow, JobRow, RunRow, SuiteRow
from arena.controller.store.telemetry import telemetry_of

log = structlog.get_logger(__name__)


@dataclass
class ExportedJob:
    job_id: str
    folder: str
    files: list[str]
    notes: list[str] = field(default_factory=list)


def database_url(value: str) -> str:
    """A URL as given, or a plain file path taken as SQLite."""
    return value if "://" in value else f"sqlite:///{Path(value).expanduser().resolve()}"


def _iso(unix: float | None) -> str | None:
    return datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds") if unix else None


def read_records(url: str, run_id: str) -> dict[str, JobRecord]:
    """Per measured job of the run: spec, current attempt's samples, per-run metrics, telemetry."""
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            run = session.get(RunRow, run_id)
            if run is None:
                raise NotFoundError(f"run {run_id} is not in the database {url}")
            suite = session.get(SuiteRow, run.suite_id)
            records = {}
            for job in session.exec(select(JobRow).where(JobRow.run_id == run_id)):
                if is_imported(job):
                    continue
                per_run = session.exec(
                    select(AggregateRow).where(
                        AggregateRow.job_id == job.id, col(AggregateRow.run) != SUMMARY_RUN
                    )
                )
                records[job.id] = JobRecord(
                    spec=JobSpec.model_validate(job.spec),
                    samples=samples_of(session, job),
                    run_metrics={(r.benchmark, r.variant, r.run): r.metrics for r in per_run},
                    telemetry=telemetry_of(session, job),
                    finished_at=_iso(job.finished_at),
                    suite_file=suite.filename if suite else None,
                    suite_yaml=suite.source_yaml if suite else None,
                )
            return records
    except SQLAlchemyError as error:
        raise ArenaError(f"cannot read the database {url}: {error}") from error
    finally:
        engine.dispose()


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text.split("/")[-1]).strip("-").lower() or "model"


def _folder_name(job: JobResult, record: JobRecord | None, taken: set[str]) -> str:
    profile = record.spec.model.engine if record else job.engine
    name = f"{slug(job.model)}/{slug(profile)}"
    return f"{name}-{slug(job.job_id)}" if name in taken else name


def export_run(
    client: ArenaClient, run_id: str, out_dir: Path, database: str | None = None
) -> list[ExportedJob]:
    """Write one folder per job of ``run_id`` under ``out_dir``; returns what was written."""
    results = client.results(run_id)
    records = read_records(database_url(database), run_id) if database else {}
    context = ExportContext(
        run_id=run_id,
        suite=results.suite,
        exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    exported: list[ExportedJob] = []
    taken: set[str] = set()
    for job in results.jobs:
        if job.imported is not None:
            exported.append(ExportedJob(job.job_id, "", [], ["imported job: not exported"]))
            continue
        record = records.get(job.job_id)
        folder = export_job(job, record, context)
        name = _folder_name(job, record, taken)
        taken.add(name)
        target = out_dir / name
        target.mkdir(parents=True, exist_ok=True)
        for filename, text in folder.files.items():
            (target / filename).write_text(text, encoding="utf-8")
        if not database:
            folder.notes.append("no --database: closed loop as mean ± std only, no telemetry")
        exported.append(ExportedJob(job.job_id, name, sorted(folder.files), folder.notes))
        log.info("exported job", job=job.job_id, folder=str(target), files=len(folder.files))
    return exported
