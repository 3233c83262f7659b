"""UserService: submit suites, follow runs, read results and raw data, cancel, list and drain
agents."""

import asyncio
import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
import structlog
from google.protobuf.message import Message
from sqlmodel import Session

from arena.common.errors import InvalidRequestError
from arena.common.pb.arena.v2 import common_pb2, results_pb2, user_pb2, user_pb2_grpc
from arena.common.provenance.folder import SignedExport
from arena.common.provenance.keys import fingerprint
from arena.common.schemas.agent import HardwareInfo
from arena.common.schemas.imported import ImportedRun
from arena.common.schemas.job import JobInfo
from arena.common.schemas.results import RunResults
from arena.common.schemas.run import RunInfo
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.suite import ResolvedSuite
from arena.common.wire import from_message, set_field, to_message
from arena.controller.results.finishing import JobFinisher
from arena.controller.results.runs import run_results
from arena.controller.rpc.access import AccessMethods
from arena.controller.rpc.audit import caller
from arena.controller.rpc.errors import grpc_errors, reading
from arena.controller.settings import ControllerSettings
from arena.controller.store import admission, owners, reads, trust
from arena.controller.store import agents as agent_store
from arena.controller.store import imports as import_store
from arena.controller.store import jobs as job_store
from arena.controller.store import runs as run_store
from arena.controller.store.database import Database
from arena.controller.store.models import AgentRow, JobRow
from arena.controller.store.specs import UnsendableJob, stored_spec
from arena.controller.suite_workers import SuiteJob, SuiteWorkers
from arena.controller.work import WorkSignal

log = structlog.get_logger(__name__)

MAX_SUITE_BYTES = 1_000_000
MAX_STREAM_BATCH = 1000
MAX_STREAM_BYTES = 1024 * 1024
"""Samples or readings per streamed message: bounded both ways (never one per sample, never
a whole run in one message)."""

ItemT = TypeVar("ItemT")


class UserServicer(AccessMethods, user_pb2_grpc.UserServiceServicer):
    def __init__(
        self,
        db: Database,
        settings: ControllerSettings,
        work: WorkSignal,
        suite_workers: SuiteWorkers,
        finisher: JobFinisher,
    ) -> None:
        self.db = db
        self.settings = settings
        self.work = work
        self.suite_workers = suite_workers
        self.finisher = finisher

    @grpc_errors
    async def SubmitSuite(
        self, request: user_pb2.SubmitSuiteRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.SubmitSuiteResponse:
        resolved = await self._load_suite(request)
        run_id, job_ids = await self.db.call(
            owners.submit_owned,
            caller().name,
            resolved,
            request.suite_yaml,
            request.filename,
            time.time(),
        )
        log.info("run submitted", run_id=run_id, suite=resolved.spec.name, jobs=len(job_ids))
        self.work.notify()
        return user_pb2.SubmitSuiteResponse(run_id=run_id, job_ids=job_ids)

    @grpc_errors
    async def CheckSuite(
        self, request: user_pb2.SubmitSuiteRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.SuiteAdmission:
        resolved = await self._load_suite(request)
        agents = await self.db.call(admission.candidates)
        checked = await asyncio.to_thread(admission.check_suite, resolved, agents)
        return to_message(checked, user_pb2.SuiteAdmission)

    async def _load_suite(self, request: user_pb2.SubmitSuiteRequest) -> ResolvedSuite:
        """Parse and expand a submitted suite in a worker process, within the caller's share
        of the workers and the parse budget (suite_workers.py)."""
        if len(request.suite_yaml.encode()) > MAX_SUITE_BYTES:
            raise InvalidRequestError(f"suite file larger than {MAX_SUITE_BYTES} bytes")
        filename = request.filename or "<suite>"
        base_dir = Path(filename).parent if Path(filename).is_absolute() else None
        job = SuiteJob(request.suite_yaml, filename, base_dir, self.settings.limits)
        return await self.suite_workers.load(caller().name, job)

    @grpc_errors
    async def ListRuns(
        self, request: user_pb2.ListRunsRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.ListRunsResponse:
        if not 0 <= request.limit <= self.settings.max_list_limit:
            raise InvalidRequestError(
                f"limit {request.limit}: between 1 and {self.settings.max_list_limit} "
                "(0 for the default, 50)"
            )
        runs = await self.db.call(run_store.list_runs, request.limit or 50)
        return user_pb2.ListRunsResponse(runs=[_summary(run) for run in runs])

    @grpc_errors
    async def GetRun(
        self, request: user_pb2.GetRunRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.RunDetail:
        detail = await self.db.call(run_store.run_detail, request.run_id)
        return user_pb2.RunDetail(
            summary=_summary(detail.run),
            jobs=[_job(job) for job in detail.jobs],
            notes=detail.notes,
            suite_file=detail.suite_file,
            suite_yaml=detail.suite_yaml,
        )

    @grpc_errors
    async def GetJob(
        self, request: user_pb2.GetJobRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.JobDetail:
        await self.finisher.settle(job_id=request.job_id)
        detail, agent, waiting = await self.db.call(_job_with_agent, request.job_id)
        job = detail.job
        return user_pb2.JobDetail(
            summary=_job(run_store.job_info(job, agent, waiting)),
            run_id=job.run_id,
            spec=_spec(job),
            started_at_unix=job.started_at,
            finished_at_unix=job.finished_at,
            run_metrics=[
                user_pb2.RunMetrics(
                    benchmark=row.benchmark,
                    variant=row.variant,
                    run=row.run,
                    metrics=[_metric(key, value) for key, value in row.metrics.items()],
                )
                for row in detail.run_metrics
            ],
            manifest=job.manifest.encode(),
            signature=bytes.fromhex(job.signature),
            public_key=bytes.fromhex(job.signer_key),
        )

    # grpc.aio serves a stream from a coroutine that writes with context.write as well as from
    # an async generator; the coroutine keeps grpc_errors' status mapping.
    @grpc_errors
    async def StreamSamples(  # type: ignore[override]
        self, request: user_pb2.StreamRequest, context: grpc.aio.ServicerContext
    ) -> None:
        def chunk(job: reads.StreamedJob, first_seq: int, samples: list[Any]) -> Any:
            return user_pb2.SampleChunk(
                job_id=job.job_id, attempt=job.attempt, first_seq=first_seq, samples=samples
            )

        convert = functools.partial(to_message, message_type=common_pb2.RequestSample)
        await self._stream(request, context, reads.sample_page, convert, chunk)

    @grpc_errors
    async def StreamTelemetry(  # type: ignore[override]
        self, request: user_pb2.StreamRequest, context: grpc.aio.ServicerContext
    ) -> None:
        def chunk(job: reads.StreamedJob, first_seq: int, readings: list[Any]) -> Any:
            return user_pb2.TelemetryChunk(
                job_id=job.job_id, attempt=job.attempt, first_seq=first_seq, readings=readings
            )

        convert = functools.partial(to_message, message_type=common_pb2.GpuReading)
        await self._stream(request, context, reads.telemetry_page, convert, chunk)

    async def _stream(
        self,
        request: user_pb2.StreamRequest,
        context: grpc.aio.ServicerContext,
        page: Callable[..., tuple[list[int], list[ItemT]]],
        convert: Callable[[ItemT], Message],
        chunk: Callable[[reads.StreamedJob, int, list[Message]], Message],
    ) -> None:
        """Write each job's rows in sequence order: one bounded page per read, split into
        messages of at most ``MAX_STREAM_BYTES`` (a sample's chunk times grow with its output)."""
        jobs = await self.db.call(reads.stream_jobs, request.job_id, request.run_id)
        for job in jobs:
            after = 0
            while True:
                seqs, items = await self.db.call(page, job, after, MAX_STREAM_BATCH)
                if not items:
                    break
                start, size = 0, 0
                messages = [convert(item) for item in items]
                for index, message in enumerate(messages):
                    size += message.ByteSize()
                    if size > MAX_STREAM_BYTES and index > start:
                        await context.write(chunk(job, seqs[start], messages[start:index]))
                        start, size = index, message.ByteSize()
                await context.write(chunk(job, seqs[start], messages[start:]))
                after = seqs[-1]

    @grpc_errors
    async def GetResults(
        self, request: user_pb2.GetRunRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.GetResultsResponse:
        await self.finisher.settle(request.run_id)
        run, results = await self.db.call(
            _summary_and_results,
            request.run_id,
            self.settings.max_error_rate,
            self.settings.accept_saturated_clients,
        )
        return user_pb2.GetResultsResponse(
            summary=_summary(run), results=to_message(results, results_pb2.RunResults)
        )

    @grpc_errors
    async def ImportResults(
        self, request: user_pb2.ImportResultsRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.ImportResultsResponse:
        with reading("run"):
            if not request.HasField("run"):
                raise InvalidRequestError("run is required")
            run = from_message(request.run, ImportedRun)
        with reading("signed_samples"):
            signed = _signed_export(request)
        stored = await self.db.call(import_store.store_import, caller(), run, time.time(), signed)
        log.info(
            "results imported",
            run_id=stored.run_id,
            source=run.key,
            replaced=stored.replaced,
            verified_by=stored.verified_by,
        )
        return user_pb2.ImportResultsResponse(
            run_id=stored.run_id,
            replaced=stored.replaced,
            verified_by=stored.verified_by,
            unverified_reason=stored.unverified_reason,
        )

    @grpc_errors
    async def GetKeyring(
        self, request: user_pb2.GetKeyringRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.Keyring:
        keyring = await self.db.call(trust.keyring)
        return user_pb2.Keyring(
            keys=[
                user_pb2.KeyringEntry(
                    **(key.model_dump() | {"public_key": bytes.fromhex(key.public_key)})
                )
                for key in keyring.keys
            ]
        )

    @grpc_errors
    async def CancelRun(
        self, request: user_pb2.CancelRunRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.CancelRunResponse:
        cancelled = await self.db.call(owners.cancel_as, caller(), request.run_id, time.time())
        log.info("run cancelled", run_id=request.run_id, jobs=cancelled)
        return user_pb2.CancelRunResponse(jobs_cancelled=cancelled)

    @grpc_errors
    async def ListAgents(
        self, request: user_pb2.ListAgentsRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.ListAgentsResponse:
        listed = await self.db.call(_agents_with_jobs)
        now = time.time()
        return user_pb2.ListAgentsResponse(
            agents=[
                user_pb2.AgentSummary(
                    agent_id=row.id,
                    name=row.name,
                    status=agent_store.agent_status(
                        row, now, self.settings.heartbeat_interval_s, self.settings.lease_ttl_s
                    ),
                    hardware=to_message(
                        HardwareInfo.model_validate(row.hardware), common_pb2.HardwareInfo
                    ),
                    labels=row.labels,
                    last_seen_unix=row.last_seen_at,
                    draining=row.draining,
                    current_job=current_job,
                    trust=row.tier,
                    key_sha256=_fingerprint(row.public_key),
                    policy=to_message(admission.policy_of(row), common_pb2.AgentPolicy),
                )
                for row, current_job in listed
            ]
        )

    @grpc_errors
    async def GetJobLogs(
        self, request: user_pb2.GetJobLogsRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.JobLogs:
        attempt, lines = await self.db.call(
            reads.log_lines, request.job_id, max(request.after_seq, 0), max(request.tail, 0)
        )
        return user_pb2.JobLogs(
            job_id=request.job_id,
            attempt=attempt,
            lines=[user_pb2.LogLine(seq=seq, text=text) for seq, text in lines],
        )

    @grpc_errors
    async def DrainAgent(
        self, request: user_pb2.DrainAgentRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.DrainAgentResponse:
        await self.db.call(agent_store.set_draining, request.name)
        log.info("agent draining", agent=request.name)
        return user_pb2.DrainAgentResponse()

    @grpc_errors
    async def SetAgentTrust(
        self, request: user_pb2.SetAgentTrustRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.SetAgentTrustResponse:
        await self.db.call(agent_store.set_trust, request.name, request.tier)
        self.work.notify()  # jobs for that tier may now be its
        return user_pb2.SetAgentTrustResponse()

    @grpc_errors
    async def ResetAgentKey(
        self, request: user_pb2.ResetAgentKeyRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.ResetAgentKeyResponse:
        await self.db.call(agent_store.reset_key, request.name)
        return user_pb2.ResetAgentKeyResponse()


def _signed_export(request: user_pb2.ImportResultsRequest) -> SignedExport | None:
    if not request.manifest:
        return None
    samples = [from_message(sample, RequestSample) for sample in request.signed_samples]
    return SignedExport(request.manifest, request.signature, request.public_key, samples)


def _summary(run: RunInfo) -> user_pb2.RunSummary:
    return user_pb2.RunSummary(**run.model_dump())


def _job(job: JobInfo) -> user_pb2.JobSummary:
    summary = user_pb2.JobSummary(
        agent_name=job.agent, **job.model_dump(exclude={"agent", "progress"})
    )
    set_field(summary, "progress", job.progress)
    return summary


def _summary_and_results(
    session: Session, run_id: str, max_error_rate: float, accept_saturated_clients: bool
) -> tuple[RunInfo, RunResults]:
    """Both from one transaction, so the summary counts the jobs the results show."""
    results = run_results(session, run_id, max_error_rate, accept_saturated_clients)
    return run_store.get_run(session, run_id), results


def _spec(job: JobRow) -> common_pb2.JobSpec | None:
    """None for an imported job (it has none) or a spec that no longer reads (the job's message
    says why)."""
    try:
        return to_message(stored_spec(job.spec), common_pb2.JobSpec)
    except UnsendableJob:
        return None


def _metric(key: str, value: float | None) -> user_pb2.MetricValue:
    return user_pb2.MetricValue(key=key, value=None if value is None else float(value))


def _job_with_agent(
    session: Session, job_id: str
) -> tuple[reads.JobDetailView, AgentRow | None, str]:
    """The job, its agent and why it waits (empty unless no agent admits it)."""
    detail = reads.job_detail(session, job_id)
    agent_id = detail.job.agent_id
    agent = run_store.agent_names(session, {agent_id} if agent_id else set()).get(agent_id or "")
    waiting = admission.waiting_notes(session, [detail.job]).get(job_id, "")
    return detail, agent, waiting


def _agents_with_jobs(session: Session) -> list[tuple[AgentRow, str]]:
    return job_store.agents_with_current_jobs(session)


def _fingerprint(public_key_hex: str) -> str:
    return fingerprint(bytes.fromhex(public_key_hex)) if public_key_hex else ""
