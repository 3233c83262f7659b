"""Results measured elsewhere, stored as finished runs beside Arena's own.

An ``ImportedRun`` becomes one run (suite ``import:<family>/<model>/<profile>``) with one
succeeded job on the engine that ran (vLLM for the reference's folders), no agent and no spec,
its ``imports`` row (what makes it an import: source, provenance, benchmarks in order), and
summary aggregates (run = -1) under Arena's metric and variant keys, so ``arenactl show``
compares it column for column with a measured run. The run id is derived from the folder's
identity, so importing the same folder again replaces the earlier import instead of adding a
second one; only its importer (or an admin) may do that, anyone else is refused: a second copy
of the same results would count twice in every comparison, and the first importer's run must
not change under them.
"""

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session, col, delete, select

from arena.common.analysis.pareto import gpu_count
from arena.common.errors import InvalidRequestError, PermissionDeniedError
from arena.common.parsers import ParseError
from arena.common.parsers.session_results import session_steps
from arena.common.provenance.folder import (
    BROKEN,
    VERIFIED,
    SignedExport,
    Verdict,
    signed_engine,
    signed_engine_version,
    signed_session,
    signed_simulated,
    verify,
)
from arena.common.schemas.agent import HardwareInfo
from arena.common.schemas.base import ArenaModel
from arena.common.schemas.imported import ImportedRun, ImportOrigin
from arena.common.schemas.job import JobState
from arena.common.schemas.suite import SessionBenchmark
from arena.common.schemas.user import Role
from arena.common.suites.scaling import quick_note
from arena.controller.store import trust
from arena.controller.store.credentials import Principal
from arena.controller.store.models import (
    SUMMARY_RUN,
    AgentRow,
    AggregateRow,
    ImportRow,
    JobRow,
    RunOwnerRow,
    RunRow,
    SampleRow,
    SuiteRow,
)

IMPORT_TARGET = "imported"
"""The target an imported job names (it was not sent to agents through a suite's target)."""
UNKNOWN_ENGINE = "unknown"
"""The engine of an import whose source does not say which one ran."""
NO_MANIFEST = "no signed manifest"


class _VariantHeader(ArenaModel):
    key: str
    runs: int
    spread_pct: float | None = None
    """The measuring controller's run-to-run spread; ``None``: estimated from the std."""


class BenchmarkHeader(ArenaModel):
    id: str
    title: str
    kind: Literal["closed_loop", "open_loop", "sessions"]
    tool: str
    variants: list[_VariantHeader]
    session: SessionBenchmark | None = None
    """A session benchmark as it ran: what its capacity is read with."""
    engine_metrics: dict[str, float] = {}
    gpus: int | None = None
    """GPUs of the box that ran a session benchmark; ``None``: per-GPU figures left out."""
    partial: bool = False
    accept_saturated_client: bool = False
    exact_tg: bool = False
    slot_flags: list[str] = []


def imports_of(session: Session, job_ids: Collection[str]) -> dict[str, ImportRow]:
    """The imports among ``job_ids``, by job id: every other job was measured by Arena."""
    if not job_ids:
        return {}
    rows = session.exec(select(ImportRow).where(col(ImportRow.job_id).in_(job_ids)))
    return {row.job_id: row for row in rows}


def imported_ids(session: Session, job_ids: Collection[str]) -> set[str]:
    """Which of ``job_ids`` are imports, without loading what they brought (their origin JSON
    holds whole telemetry series)."""
    if not job_ids:
        return set()
    query = select(ImportRow.job_id).where(col(ImportRow.job_id).in_(job_ids))
    return set(session.exec(query))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def imported_run_id(key: str) -> str:
    return f"run-imp-{_digest(key)}"


@dataclass(frozen=True)
class StoredImport:
    run_id: str
    replaced: bool
    verified_by: str
    """``agent NAME, key SHA256``; empty: stored as unverified."""
    unverified_reason: str


def store_import(
    session: Session,
    who: Principal,
    run: ImportedRun,
    now: float,
    signed: SignedExport | None = None,
) -> StoredImport:
    """Store (or replace) one imported run owned by ``who``. Replacing another importer's run is
    refused unless ``who`` is an admin. With ``signed`` provenance whose key the registry holds
    and whose samples give every number of ``run``, it is stored verified (``simulated`` from
    the signed spec, unsigned telemetry left out); a broken one is refused; anything else is
    stored unverified."""
    digest = _digest(run.key)
    run_id, job_id, suite_id = f"run-imp-{digest}", f"job-imp-{digest}", f"suite-imp-{digest}"
    _check_replace(session, who, run_id, run.key)
    keys = trust.keyring(session, signed.public_key) if signed is not None else None
    verdict = verify(run.source, signed, keys, run)
    if verdict.state == BROKEN:
        raise InvalidRequestError("provenance does not verify: " + "; ".join(verdict.problems))
    if verdict.state == VERIFIED and signed is not None:
        signer = session.get(AgentRow, verdict.signer_id)
        box = HardwareInfo.model_validate(signer.hardware) if signer else None
        run = _as_signed(run, signed, box)
    run = _recomputed(run)
    origin = ImportOrigin.of(run).model_copy(update={"verified_by": verdict.signer})
    reason = "" if verdict.signer else "; ".join(verdict.problems) or NO_MANIFEST
    replaced = _delete(session, run_id, suite_id)
    session.add(
        SuiteRow(
            id=suite_id,
            name=f"import:{run.key}",
            filename=run.source,
            source_yaml="",
            resolved={"imported": run.key},
            submitted_at=now,
        )
    )
    session.flush()
    session.add(
        RunRow(
            id=run_id,
            suite_id=suite_id,
            suite_name=f"import:{run.key}",
            created_at=now,
            notes=_notes(run, verdict),
        )
    )
    session.flush()
    session.add(RunOwnerRow(run_id=run_id, owner=who.name))
    samples = [sample for bench in run.benchmarks for sample in bench.samples]
    session.add(
        JobRow(
            id=job_id,
            run_id=run_id,
            target=IMPORT_TARGET,
            model=run.model,
            engine_runtime=run.provenance.engine or UNKNOWN_ENGINE,
            spec={},
            selector={},
            state=JobState.SUCCEEDED.value,
            acked_seq=len(samples),
            requests_expected=len(samples),
            message="",
            created_at=now,
            started_at=now,
            finished_at=now,
        )
    )
    session.flush()
    session.add(
        ImportRow(
            job_id=job_id,
            key=run.key,
            hardware=run.hardware,
            origin=origin.model_dump(mode="json"),
            benchmarks=[header.model_dump(mode="json") for header in _headers(run)],
        )
    )
    for bench in run.benchmarks:
        for variant in bench.variants:
            metrics = {key: stat.model_dump() for key, stat in variant.metrics.items()}
            session.add(
                AggregateRow(
                    job_id=job_id,
                    benchmark=bench.id,
                    variant=variant.key,
                    run=SUMMARY_RUN,
                    kind=bench.kind,
                    metrics=metrics,
                )
            )
    for seq, sample in enumerate(samples, start=1):
        session.add(SampleRow(job_id=job_id, attempt=0, seq=seq, **sample.model_dump()))
    return StoredImport(run_id, replaced, verdict.signer, reason)


def _as_signed(run: ImportedRun, signed: SignedExport, box: HardwareInfo | None) -> ImportedRun:
    """What a verified import keeps: the engine and ``simulated`` from the signed spec and the
    hardware the signing agent registered with (``box``; its GPUs for per-GPU capacity), not
    meta.json's; a session benchmark's settings, figures and samples as signed; no telemetry
    (the agent does not sign it)."""
    signed_facts = {
        "simulated": signed_simulated(signed),
        "engine": signed_engine(signed),
        "engine_version": signed_engine_version(signed),
    }
    provenance = run.provenance.model_copy(update=signed_facts)
    gpus = gpu_count(box, None, cpu_only=None)
    benchmarks = [
        (signed_session(signed, bench) if bench.kind == "sessions" else bench).model_copy(
            update={"telemetry": [], "gpus": gpus}
        )
        for bench in run.benchmarks
    ]
    hardware = box.summary if box is not None else run.hardware
    update = {"provenance": provenance, "benchmarks": benchmarks, "hardware": hardware}
    return run.model_copy(update=update)


def _recomputed(run: ImportedRun) -> ImportedRun:
    """Session benchmarks with the metrics their samples give, not the ones sent: capacity is
    read from them, and a client can send any number."""
    benchmarks = []
    for bench in run.benchmarks:
        if (bench.kind == "sessions") != (bench.session is not None):
            # capacity is read wherever settings are: only from recomputed steps
            raise InvalidRequestError(
                f"{bench.id}: session settings belong to a session benchmark, and it needs them"
            )
        if bench.session is not None:
            try:
                steps = session_steps(bench.session, bench.samples, bench.client_load)
            except ParseError as error:
                raise InvalidRequestError(f"{bench.id}: {error}") from None
            bench = bench.model_copy(update={"variants": steps})
        benchmarks.append(bench)
    return run.model_copy(update={"benchmarks": benchmarks})


def _notes(run: ImportedRun, verdict: Verdict) -> list[str]:
    notes = [f"imported from {run.source} (sha256 {run.content_hash[:12]})"]
    if verdict.signer:
        notes.append(
            f"verified: signed by {verdict.signer}; every number agrees with the signed samples"
        )
        notes.append("hardware: as the signing agent registered it (meta.json's is not signed)")
        notes += [f"left out, not signed: {note}" for note in verdict.notes]
    else:
        reason = "; ".join(verdict.problems) or NO_MANIFEST
        notes.append(f"unverified ({reason}): left out of rankings unless asked for")
    if run.provenance.quick is not None:
        notes.append(quick_note(run.provenance.quick))
    return notes


def _headers(run: ImportedRun) -> list[BenchmarkHeader]:
    return [
        BenchmarkHeader(
            id=bench.id,
            title=bench.title,
            kind=bench.kind,
            tool=bench.tool,
            variants=[
                _VariantHeader(key=v.key, runs=v.runs, spread_pct=v.spread_pct)
                for v in bench.variants
            ],
            session=bench.session,
            engine_metrics=bench.engine_metrics,
            gpus=bench.gpus,
            partial=bench.partial,
            accept_saturated_client=bench.accept_saturated_client,
            exact_tg=bench.exact_tg,
            slot_flags=bench.slot_flags,
        )
        for bench in run.benchmarks
    ]


def _check_replace(session: Session, who: Principal, run_id: str, key: str) -> None:
    """Only the importer of a run (or an admin) replaces it; an import from before owners were
    recorded for imports has no owner, so only an admin replaces it."""
    if who.role == Role.ADMIN or session.get(RunRow, run_id) is None:
        return
    owned = session.get(RunOwnerRow, run_id)
    if owned is None or owned.owner != who.name:
        by = f"by {owned.owner!r}" if owned is not None else "before importers were recorded"
        raise PermissionDeniedError(
            f"{key} was imported {by} as {run_id}; only that importer or an admin may "
            "replace it (it is readable as it is: arenactl show " + run_id + ")"
        )


def _delete(session: Session, run_id: str, suite_id: str) -> bool:
    """Remove an earlier import of the same folder, children first; True if there was one."""
    if session.get(RunRow, run_id) is None:
        return False
    job_ids = list(session.exec(select(JobRow.id).where(JobRow.run_id == run_id)))
    session.exec(delete(SampleRow).where(col(SampleRow.job_id).in_(job_ids)))
    session.exec(delete(AggregateRow).where(col(AggregateRow.job_id).in_(job_ids)))
    session.exec(delete(ImportRow).where(col(ImportRow.job_id).in_(job_ids)))
    session.exec(delete(JobRow).where(col(JobRow.run_id) == run_id))
    session.exec(delete(RunOwnerRow).where(col(RunOwnerRow.run_id) == run_id))
    session.exec(delete(RunRow).where(col(RunRow.id) == run_id))
    session.exec(delete(SuiteRow).where(col(SuiteRow.id) == suite_id))
    session.flush()
    return True
