"""The agent's connection to the controller: every RPC, with gRPC errors translated.

Agents dial out (boxes sit behind NAT); controller → agent messages ride on replies.
Several controllers on one PostgreSQL database serve any agent: given their addresses, the
link moves to the next one when a call finds its controller UNAVAILABLE. Every write names
its job, attempt and sequence numbers, so a batch resent to another controller is stored once.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from pydantic import ValidationError

from arena.agent.settings import controller_addresses
from arena.common.errors import ArenaError, CertificateRefusedError
from arena.common.pb.arena.v2 import agent_pb2, agent_pb2_grpc, common_pb2
from arena.common.schemas.agent import HardwareInfo
from arena.common.schemas.job import JobProgress, JobSpec, JobState
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.results import MetricStat
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading
from arena.common.status import from_rpc_error, sent_by_arena
from arena.common.transport import ClientTls, open_channel, refused_certificate
from arena.common.wire import enum_number, from_message, set_field, to_message

CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
]
CALL_TIMEOUT_S = 15.0

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Registration:
    agent_id: str
    heartbeat_interval_s: float
    lease_ttl_s: float


@dataclass(frozen=True)
class Lease:
    job_id: str
    attempt: int
    expires_at_unix: float
    spec: JobSpec


class UnreadableLease(Exception):
    """A job leased to this agent whose spec it cannot read (its schema differs from the
    controller's): handed back with the reason, for an agent that can."""

    def __init__(self, job_id: str, attempt: int, reason: str) -> None:
        super().__init__(f"job {job_id} attempt {attempt}: {reason}")
        self.job_id, self.attempt, self.reason = job_id, attempt, reason


@dataclass(frozen=True)
class Directives:
    cancel: list[tuple[str, int, str]]
    drain: bool


class ControllerLink:
    def __init__(self, addresses: str, token: str, tls: ClientTls | None = None) -> None:
        self.addresses = controller_addresses(addresses)
        self.use_token(token)
        self._tls = tls or ClientTls()
        self._stubs: dict[int, tuple[grpc.aio.Channel, agent_pb2_grpc.AgentServiceStub]] = {}
        self._current = 0
        self.agent_id = ""
        self.versions: dict[str, str] = {}
        """What the agent registered with (arena, python, tools): signed into each manifest."""
        self.public_key = b""
        """The signing key the controller bound; without one, manifests are not sent."""

    @property
    def address(self) -> str:
        """The controller calls go to now."""
        return self.addresses[self._current]

    def use_token(self, token: str) -> None:
        """Calls from now on carry this token (after an enrolment or a rotation)."""
        self._metadata = (("authorization", f"Bearer {token}"),)

    def _stub(self, index: int) -> agent_pb2_grpc.AgentServiceStub:
        """One channel per controller, opened on first use and kept: calls still in flight
        on a controller the link moved away from finish or fail on their own."""
        if index not in self._stubs:
            channel = open_channel(grpc.aio, self.addresses[index], self._tls, CHANNEL_OPTIONS)
            self._stubs[index] = (channel, agent_pb2_grpc.AgentServiceStub(channel))
        return self._stubs[index][1]

    async def close(self) -> None:
        for channel, _ in self._stubs.values():
            await channel.close()

    async def _call(
        self, method: str, request: Any, timeout: float = CALL_TIMEOUT_S, token: str = ""
    ) -> Any:
        """Each controller at most once, from the current one on; an UNAVAILABLE one passes
        the call to the next. When none answers, the caller's retry waits and tries again."""
        metadata = (("authorization", f"Bearer {token}"),) if token else self._metadata
        for _ in self.addresses:
            index = self._current
            try:
                call = getattr(self._stub(index), method)
                return await call(request, metadata=metadata, timeout=timeout)
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE or len(self.addresses) == 1:
                    raise await self._translated(error, index) from error
                failed = error
            if self._current == index:  # a concurrent call may have moved on already
                self._current = (index + 1) % len(self.addresses)
                log.warning(
                    "controller unavailable; trying the next",
                    unavailable=self.addresses[index],
                    next=self.address,
                )
        raise await self._translated(failed, index) from failed

    async def _translated(self, error: grpc.aio.AioRpcError, index: int) -> ArenaError:
        """The Arena error a failed call stands for; a controller that hung up on this agent's
        certificate is told apart from one that is down, since no retry fixes it alone."""
        if error.code() == grpc.StatusCode.UNAVAILABLE and not sent_by_arena(error):
            address = self.addresses[index]
            refused = await asyncio.to_thread(refused_certificate, address, self._tls)
            if refused is not None:
                log.error("certificate refused", controller=address, reason=refused)
                return CertificateRefusedError(refused)
        return from_rpc_error(error)

    async def register(
        self,
        name: str,
        hardware: HardwareInfo,
        labels: dict[str, str],
        versions: dict[str, str],
        public_key: bytes = b"",
        policy: AgentPolicy | None = None,
    ) -> Registration:
        """``public_key``: the raw ed25519 key that signs this agent's job manifests;
        ``policy``: its owner's, so the controller leases it only jobs it admits (``None``:
        the controller holds it to the defaults)."""
        reply = await self._call(
            "Register",
            agent_pb2.RegisterRequest(
                agent_name=name,
                hardware=to_message(hardware, common_pb2.HardwareInfo),
                labels=labels,
                versions=versions,
                public_key=public_key,
                policy=None if policy is None else to_message(policy, common_pb2.AgentPolicy),
            ),
        )
        self.agent_id = reply.agent_id
        self.versions, self.public_key = versions, public_key
        return Registration(reply.agent_id, reply.heartbeat_interval_s, reply.lease_ttl_s)

    async def enroll(
        self, enrolment_token: str, name: str, hardware: HardwareInfo
    ) -> tuple[str, dict[str, str]]:
        """Spend the enrolment token on this agent's credential: (secret, allowed labels)."""
        reply = await self._call(
            "Enroll",
            agent_pb2.EnrollRequest(
                agent_name=name, hardware=to_message(hardware, common_pb2.HardwareInfo)
            ),
            token=enrolment_token,
        )
        return reply.credential, dict(reply.labels)

    async def rotate(self) -> tuple[str, float]:
        """A new credential (used from now on) and when the old one stops working."""
        reply = await self._call("RotateCredential", agent_pb2.RotateCredentialRequest())
        self.use_token(reply.credential)
        return reply.credential, reply.old_valid_until_unix

    async def heartbeat(self, running: Sequence[JobProgress], draining: bool) -> Directives:
        request = agent_pb2.HeartbeatRequest(agent_id=self.agent_id, draining=draining)
        set_field(request, "running", running)
        reply = await self._call("Heartbeat", request)
        cancel = [
            (d.cancel.job_id, d.cancel.attempt, d.cancel.reason)
            for d in reply.directives
            if d.HasField("cancel")
        ]
        return Directives(cancel, any(d.HasField("drain") for d in reply.directives))

    async def lease(self, wait_s: float) -> Lease | None:
        reply = await self._call(
            "LeaseJob",
            agent_pb2.LeaseJobRequest(agent_id=self.agent_id, wait_s=wait_s),
            timeout=wait_s + CALL_TIMEOUT_S,
        )
        if not reply.HasField("lease"):
            return None
        lease = reply.lease
        try:
            spec = from_message(lease.spec, JobSpec)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            reason = f"this agent cannot read the job spec: {where}: {first['msg']}"
            raise UnreadableLease(lease.job_id, lease.attempt, reason) from error
        return Lease(lease.job_id, lease.attempt, lease.expires_at_unix, spec)

    async def report(
        self,
        job_id: str,
        attempt: int,
        state: JobState,
        message: str = "",
        *,
        clock_origin_unix: float = 0.0,
        total_samples: int = 0,
        provenance: dict[str, Any] | None = None,
        manifest: bytes = b"",
        signature: bytes = b"",
    ) -> None:
        request = agent_pb2.JobStatusRequest(
            agent_id=self.agent_id,
            job_id=job_id,
            attempt=attempt,
            phase=enum_number(state, agent_pb2.JobPhase),
            message=message,
            clock_origin_unix=clock_origin_unix,
            total_samples=total_samples,
            manifest=manifest,
            signature=signature,
        )
        set_field(request, "provenance", provenance or None)
        await self._call("ReportJobStatus", request)

    async def _push(
        self, method: str, batch: Any, job_id: str, attempt: int, first_seq: int, **items: Any
    ) -> int:
        """One numbered batch of a job attempt's stream; returns the controller's ack."""
        message = batch(
            agent_id=self.agent_id, job_id=job_id, attempt=attempt, first_seq=first_seq, **items
        )
        reply = await self._call(method, message)
        return int(reply.acked_seq)

    async def push_samples(
        self, job_id: str, attempt: int, first_seq: int, samples: Sequence[RequestSample]
    ) -> int:
        pb_samples = [to_message(s, common_pb2.RequestSample) for s in samples]
        return await self._push(
            "PushSamples", agent_pb2.SampleBatch, job_id, attempt, first_seq, samples=pb_samples
        )

    async def push_logs(
        self, job_id: str, attempt: int, first_seq: int, lines: Sequence[str]
    ) -> int:
        return await self._push(
            "PushLogs", agent_pb2.LogBatch, job_id, attempt, first_seq, lines=lines
        )

    async def push_telemetry(
        self, job_id: str, attempt: int, first_seq: int, readings: Sequence[GpuReading]
    ) -> int:
        pb_readings = [to_message(r, common_pb2.GpuReading) for r in readings]
        return await self._push(
            "PushTelemetry",
            agent_pb2.TelemetryBatch,
            job_id,
            attempt,
            first_seq,
            readings=pb_readings,
        )

    async def abandon(self, job_id: str, attempt: int, reason: str) -> None:
        await self._call(
            "ReportJobStatus",
            agent_pb2.JobStatusRequest(
                agent_id=self.agent_id,
                job_id=job_id,
                attempt=attempt,
                phase=agent_pb2.JOB_PHASE_ABANDONED,
                message=reason,
            ),
        )

    async def push_tool_result(
        self,
        job_id: str,
        attempt: int,
        benchmark: str,
        tool: str,
        command: str,
        output: str,
        metrics: dict[str, Any],
    ) -> None:
        """A reference tool's verbatim command, result file(s) and metrics for one benchmark;
        sending it again replaces what was stored, so a retry never duplicates."""
        request = agent_pb2.ToolResult(
            agent_id=self.agent_id,
            job_id=job_id,
            attempt=attempt,
            benchmark=benchmark,
            tool=tool,
            command=command,
            output=output,
        )
        stats = {
            variant: {key: MetricStat.model_validate(stat) for key, stat in by_key.items()}
            for variant, by_key in metrics.items()
        }
        set_field(request, "metrics", stats)
        await self._call("PushToolResult", request)
