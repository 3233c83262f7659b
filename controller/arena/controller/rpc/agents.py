"""AgentService: registration, heartbeats, leases, job status and sample ingest."""

import time
from typing import Any

import grpc
import structlog
from sqlmodel import Session

from arena.common.errors import InvalidRequestError, PermissionDeniedError
from arena.common.metrics.sanity import SampleColumns
from arena.common.pb.arena.v2 import agent_pb2, agent_pb2_grpc, common_pb2
from arena.common.redact import SHAPES_ONLY
from arena.common.schemas.agent import HardwareInfo
from arena.common.schemas.job import JobProgress, JobState
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.results import MetricStat
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading
from arena.common.schemas.trust import TrustTier
from arena.common.wire import enum_member, flat_columns, from_message, get_field, to_message
from arena.controller.metrics import ControllerMetrics
from arena.controller.results.finishing import JobFinisher
from arena.controller.rpc import sanity
from arena.controller.rpc.audit import caller, granted
from arena.controller.rpc.auth import bearer_token
from arena.controller.rpc.errors import grpc_errors, reading
from arena.controller.settings import ControllerSettings
from arena.controller.store import agents as agent_store
from arena.controller.store import credentials, identity
from arena.controller.store import jobs as job_store
from arena.controller.store.admission import DEFAULT_POLICY
from arena.controller.store.aggregates import FINISHED
from arena.controller.store.credentials import Principal
from arena.controller.store.database import Database
from arena.controller.store.manifests import ManifestRejected, record_manifest
from arena.controller.store.models import AgentRow, JobRow
from arena.controller.store.specs import stored_spec
from arena.controller.work import WorkSignal

log = structlog.get_logger(__name__)

MAX_LEASE_WAIT_S = 20.0
MAX_BATCH_SAMPLES = 5000
MAX_POLICY_BYTES = 64 * 1024
"""An owner's policy lists a few images, recipes and hosts: far less than this."""
LEGACY_TOKEN_TIER = TrustTier.OFFICIAL
"""Agents that authenticate with the static ``agent_tokens`` list are the operator's own:
their results start official (enrolled community agents start community)."""
ToolMetrics = dict[str, dict[str, MetricStat]]
"""A reference tool's metrics: {variant key: {metric key: statistic}}."""


class AgentServicer(agent_pb2_grpc.AgentServiceServicer):
    def __init__(
        self,
        db: Database,
        settings: ControllerSettings,
        work: WorkSignal,
        metrics: ControllerMetrics,
        finisher: JobFinisher,
    ) -> None:
        self.db = db
        self.settings = settings
        self.work = work
        self.metrics = metrics
        self.finisher = finisher

    @grpc_errors
    async def Register(
        self, request: agent_pb2.RegisterRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.RegisterResponse:
        if not request.agent_name or not request.HasField("hardware"):
            raise InvalidRequestError("agent_name and hardware are required")
        with reading("hardware"):
            hardware = from_message(request.hardware, HardwareInfo)
        policy = _policy(request)
        row = await self.db.call(
            _register,
            caller(),
            request.agent_name,
            hardware,
            dict(request.labels),
            SHAPES_ONLY.tree(dict(request.versions)),
            time.time(),
            request.public_key,
            policy,
        )
        log.info(
            "agent registered",
            agent=row.name,
            agent_id=row.id,
            hardware=hardware.summary,
            policy=(policy or DEFAULT_POLICY).summary(),
        )
        self.work.notify()
        return agent_pb2.RegisterResponse(
            agent_id=row.id,
            heartbeat_interval_s=self.settings.heartbeat_interval_s,
            lease_ttl_s=self.settings.lease_ttl_s,
        )

    @grpc_errors
    async def Heartbeat(
        self, request: agent_pb2.HeartbeatRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.HeartbeatResponse:
        await self._acting_as(request.agent_id)
        progress = [from_message(item, JobProgress) for item in request.running]
        refused = sanity.check_progress(progress)
        if refused:  # the whole heartbeat: its leases are not renewed either
            for (job_id, attempt), reason in refused.items():
                await self.db.call(sanity.flag_job, request.agent_id, job_id, attempt, reason)
            raise sanity.ReportRejected("; ".join(refused.values()))
        orders, draining = await self.db.call_plain(
            job_store.heartbeat, request.agent_id, progress, time.time(), self.settings.lease_ttl_s
        )
        directives = [
            agent_pb2.Directive(
                cancel=agent_pb2.CancelJob(job_id=o.job_id, attempt=o.attempt, reason=o.reason)
            )
            for o in orders
        ]
        if draining:
            directives.append(agent_pb2.Directive(drain=agent_pb2.Drain()))
        return agent_pb2.HeartbeatResponse(directives=directives)

    @grpc_errors
    async def LeaseJob(
        self, request: agent_pb2.LeaseJobRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.LeaseJobResponse:
        await self._acting_as(request.agent_id)
        deadline = time.monotonic() + min(max(request.wait_s, 0.0), MAX_LEASE_WAIT_S)
        while True:
            looked = self.work.generation
            job = await self.db.call(
                job_store.lease_job, request.agent_id, time.time(), self.settings.lease_ttl_s
            )
            if job is not None:
                return agent_pb2.LeaseJobResponse(lease=_lease(job))
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not await self.work.wait(remaining, since=looked):
                return agent_pb2.LeaseJobResponse()  # nothing woke it: nothing new to find

    @grpc_errors
    async def ReportJobStatus(
        self, request: agent_pb2.JobStatusRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.JobStatusResponse:
        await self._acting_as(request.agent_id)
        if request.phase == agent_pb2.JOB_PHASE_ABANDONED:
            await self.db.call(
                job_store.abandon_job,
                request.agent_id,
                request.job_id,
                request.attempt,
                time.time(),
                self.settings.max_attempts,
                SHAPES_ONLY.text(request.message),
            )
            self.work.notify()
            return agent_pb2.JobStatusResponse()
        try:
            state = enum_member(request.phase, agent_pb2.JobPhase, JobState)
        except ValueError:
            raise InvalidRequestError("phase is required") from None
        with reading("provenance"):
            provenance = SHAPES_ONLY.tree(get_field(request, "provenance", dict[str, Any]))
        keys = (request.agent_id, request.job_id, request.attempt)
        try:
            await self.db.call(
                _report,
                *keys,
                state,
                SHAPES_ONLY.text(request.message),
                request.clock_origin_unix or None,
                request.total_samples,
                provenance,
                (request.manifest, request.signature),
            )
        except ManifestRejected as error:
            await self.db.call(sanity.flag_job, *keys, str(error))
            raise
        if state in FINISHED:  # committed: its metrics follow (finishing.py), partial or whole
            self.finisher.finish(request.job_id)
        if state.terminal:
            self.work.notify()
        return agent_pb2.JobStatusResponse()

    @grpc_errors
    async def PushSamples(
        self, request: agent_pb2.SampleBatch, context: grpc.aio.ServicerContext
    ) -> agent_pb2.SampleAck:
        received = time.perf_counter()
        await self._acting_as(request.agent_id)
        _check_batch(len(request.samples), "samples")
        with reading("samples"):
            values = flat_columns(request.samples, RequestSample)
            samples = SampleColumns(values, values.pop("chunk_times_s", []))
        keys = (request.agent_id, request.job_id, request.attempt)
        try:  # the checks run in store_samples' transaction (rpc/sanity.py)
            acked, stored = await self.db.call_plain(
                sanity.store_checked, *keys, request.first_seq, samples, self.settings, time.time()
            )
        except sanity.SamplesRejected as error:
            await self.db.call(sanity.flag_job, *keys, str(error))
            raise
        self.metrics.samples_ingested.inc(stored)
        self.metrics.ack_latency.labels("samples").observe(time.perf_counter() - received)
        return agent_pb2.SampleAck(acked_seq=acked)

    @grpc_errors
    async def PushLogs(
        self, request: agent_pb2.LogBatch, context: grpc.aio.ServicerContext
    ) -> agent_pb2.LogAck:
        received = time.perf_counter()
        await self._acting_as(request.agent_id)
        _check_batch(len(request.lines), "lines")
        acked = await self.db.call(
            job_store.store_logs,
            request.agent_id,
            request.job_id,
            request.attempt,
            request.first_seq,
            [SHAPES_ONLY.text(line) for line in request.lines],
        )
        self.metrics.ack_latency.labels("logs").observe(time.perf_counter() - received)
        return agent_pb2.LogAck(acked_seq=acked)

    @grpc_errors
    async def PushTelemetry(
        self, request: agent_pb2.TelemetryBatch, context: grpc.aio.ServicerContext
    ) -> agent_pb2.TelemetryAck:
        received = time.perf_counter()
        await self._acting_as(request.agent_id)
        _check_batch(len(request.readings), "readings")
        with reading("readings"):
            readings = [from_message(one, GpuReading) for one in request.readings]
        keys = (request.agent_id, request.job_id, request.attempt)
        try:
            acked = await self.db.call(
                sanity.store_checked_telemetry,
                *keys,
                request.first_seq,
                readings,
                self.settings,
                time.time(),
            )
        except sanity.ReportRejected as error:
            await self.db.call(sanity.flag_job, *keys, str(error))
            raise
        self.metrics.ack_latency.labels("telemetry").observe(time.perf_counter() - received)
        return agent_pb2.TelemetryAck(acked_seq=acked)

    @grpc_errors
    async def PushToolResult(
        self, request: agent_pb2.ToolResult, context: grpc.aio.ServicerContext
    ) -> agent_pb2.ToolResultAck:
        await self._acting_as(request.agent_id)
        if not request.benchmark or not request.tool:
            raise InvalidRequestError("benchmark and tool are required")
        with reading("metrics"):
            metrics = {
                variant: {
                    key: MetricStat.model_validate(stat).model_dump() for key, stat in stats.items()
                }
                for variant, stats in get_field(request, "metrics", ToolMetrics).items()
            }
        keys = (request.agent_id, request.job_id, request.attempt)
        try:
            await self.db.call(
                sanity.store_checked_tool_result,
                *keys,
                request.benchmark,
                tool=request.tool,
                command=SHAPES_ONLY.text(request.command),
                output=SHAPES_ONLY.text(request.output),
                metrics=metrics,
            )
        except sanity.ReportRejected as error:
            await self.db.call(sanity.flag_job, *keys, str(error))
            raise
        return agent_pb2.ToolResultAck()

    async def _acting_as(self, agent_id: str) -> None:
        """Every agent call names an agent id: it must be the caller's own."""
        who = caller()
        if who.static:  # the one case that needs the database: is the name enrolled?
            await self.db.call_plain(identity.check_static, agent_id, time.time())
        else:
            identity.check_own(who, agent_id)

    @grpc_errors
    async def Enroll(
        self, request: agent_pb2.EnrollRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.EnrollResponse:
        if not request.agent_name or not request.HasField("hardware"):
            raise InvalidRequestError("agent_name and hardware are required")
        with reading("hardware"):
            hardware = from_message(request.hardware, HardwareInfo)
        row, secret = await self.db.call(
            credentials.enroll,
            bearer_token(context.invocation_metadata()),
            request.agent_name,
            identity.fingerprint(hardware),
            time.time(),
        )
        granted("enrol", agent=row.name, labels=row.labels, peer=context.peer())
        return agent_pb2.EnrollResponse(credential=secret, labels=row.labels)

    @grpc_errors
    async def RotateCredential(
        self, request: agent_pb2.RotateCredentialRequest, context: grpc.aio.ServicerContext
    ) -> agent_pb2.RotateCredentialResponse:
        who = caller()
        if who.static:
            raise PermissionDeniedError("a static agent token cannot be rotated; enrol instead")
        secret, until = await self.db.call(
            credentials.rotate, who.credential_id, time.time(), self.settings.credential_grace_s
        )
        granted("rotate", agent=who.name, old_valid_until=until)
        return agent_pb2.RotateCredentialResponse(credential=secret, old_valid_until_unix=until)


def _register(
    session: Session,
    who: Principal,
    name: str,
    hardware: HardwareInfo,
    labels: dict[str, str],
    versions: dict[str, str],
    now: float,
    public_key: bytes,
    policy: AgentPolicy | None,
) -> AgentRow:
    """Check the caller may be this agent and register it, in one transaction. A new agent on
    a static token is the operator's own (official); an enrolled one starts community."""
    identity.check_registration(session, who, name, labels, hardware, now)
    tier = LEGACY_TOKEN_TIER if who.static else TrustTier.COMMUNITY
    return agent_store.register_agent(
        session,
        name,
        hardware,
        labels,
        versions,
        now,
        public_key=public_key,
        tier=tier,
        policy=policy,
    )


def _policy(request: agent_pb2.RegisterRequest) -> AgentPolicy | None:
    """The owner's policy the agent sent, validated like the agent validated it; ``None`` when
    it sent none (an older agent: held to the defaults)."""
    if not request.HasField("policy"):
        return None
    size = request.policy.ByteSize()
    if size > MAX_POLICY_BYTES:
        raise InvalidRequestError(f"policy of {size} bytes; at most {MAX_POLICY_BYTES}")
    with reading("policy"):
        policy = from_message(request.policy, AgentPolicy)
    return policy  # its text was held to the request text rules at the door (rpc/limits.py)


def _check_batch(count: int, what: str) -> None:
    if count > MAX_BATCH_SAMPLES:
        raise InvalidRequestError(f"batch of {count} {what}; at most {MAX_BATCH_SAMPLES}")


def _report(
    session: Session,
    agent_id: str,
    job_id: str,
    attempt: int,
    state: JobState,
    message: str,
    clock_origin_unix: float | None,
    total_samples: int,
    provenance: dict[str, object] | None,
    signed: tuple[bytes, bytes],
) -> None:
    """Record the phase; a success also verifies the job's signed manifest in the same
    transaction (its metrics are computed after it commits). A finished job keeps the
    fingerprint of the hardware that ran it."""
    job = job_store.report_status(
        session,
        agent_id,
        job_id,
        attempt,
        state,
        message=message,
        now=time.time(),
        clock_origin_unix=clock_origin_unix,
        total_samples=total_samples if state == JobState.SUCCEEDED else None,
        provenance=provenance,
    )
    if state.terminal:
        agent = agent_store.get_agent(session, agent_id)
        job.provenance = {**job.provenance, "hardware": agent.hardware}
        session.add(job)
    if state == JobState.SUCCEEDED:
        record_manifest(session, job, *signed)


def _lease(job: JobRow) -> agent_pb2.Lease:
    return agent_pb2.Lease(
        job_id=job.id,
        attempt=job.attempt,
        expires_at_unix=job.lease_expires_at or 0.0,
        spec=to_message(stored_spec(job.spec), common_pb2.JobSpec),  # lease_job read it
    )
