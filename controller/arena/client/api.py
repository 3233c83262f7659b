"""The typed client of the user-facing service, used by arenactl and by the tests."""

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import grpc

from arena.common.errors import (
    ArenaError,
    AuthError,
    CertificateRefusedError,
    PermissionDeniedError,
    RateLimitedError,
    UnavailableError,
)
from arena.common.pb.arena.v2 import common_pb2, results_pb2, user_pb2, user_pb2_grpc
from arena.common.schemas.admission import SuiteAdmission
from arena.common.schemas.agent import AgentInfo as AgentInfo  # what agents() returns
from arena.common.schemas.agent import HardwareInfo
from arena.common.schemas.base import ArenaModel
from arena.common.schemas.imported import ImportedRun
from arena.common.schemas.job import JobInfo as JobInfo  # what the calls return, re-exported
from arena.common.schemas.job import JobProgress, JobSpec
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.results import RunResults
from arena.common.schemas.run import RunDetail as RunDetail
from arena.common.schemas.run import RunInfo as RunInfo
from arena.common.schemas.sample import RequestSample
from arena.common.schemas.telemetry import GpuReading
from arena.common.schemas.user import Role, UserSummary
from arena.common.status import from_rpc_error, sent_by_arena
from arena.common.transport import ClientTls, open_channel, refused_certificate
from arena.common.wire import enum_number, from_message, get_field, to_message

if TYPE_CHECKING:  # imported where used: folders and keys load parsers, metrics, cryptography
    from arena.common.provenance.folder import SignedExport
    from arena.common.provenance.keyring import Keyring

CALL_TIMEOUT_S = 30.0
RATE_LIMIT_RETRIES = 5
MAX_RATE_LIMIT_WAIT_S = 5.0
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
"""As large as the controller accepts: a results answer for a long run is megabytes."""
STREAM_TIMEOUT_S = 600.0
"""A whole run's samples can take a while; the stream itself is bounded batches."""


class JobDetail(ArenaModel):
    """One job as ``GetJob`` serves it: its summary, run, spec and per-run metrics."""

    job: JobInfo
    run_id: str
    spec: JobSpec | None
    """``None`` for an imported job."""
    started_at_unix: float | None
    finished_at_unix: float | None
    run_metrics: dict[tuple[str, str, int], dict[str, float | None]]
    """Per (benchmark, variant, run): the metrics the controller computed for that run."""
    manifest: bytes = b""
    """The signed provenance manifest (canonical JSON); empty when the job has none."""
    signature: bytes = b""
    public_key: bytes = b""


class LogLine(ArenaModel):
    seq: int
    text: str


class LogPage(ArenaModel):
    attempt: int
    lines: list[LogLine]


def _job(job: user_pb2.JobSummary) -> JobInfo:
    return JobInfo(
        job_id=job.job_id,
        target=job.target,
        model=job.model,
        engine=job.engine,
        state=job.state,
        attempt=job.attempt,
        agent=job.agent_name,
        message=job.message,
        samples=job.samples,
        requests_expected=job.requests_expected,
        progress=get_field(job, "progress", JobProgress | None),
        simulated=job.simulated,
        flags=list(job.flags),
        tier=job.tier,
    )


def translate(error: grpc.RpcError, address: str, tls: ClientTls) -> ArenaError:
    """The Arena error behind a failed call, with what a user needs to act on it."""
    translated = from_rpc_error(error)
    unreachable = error.code() == grpc.StatusCode.UNAVAILABLE
    if isinstance(translated, UnavailableError) and unreachable and not sent_by_arena(error):
        refused = refused_certificate(address, tls)
        if refused is not None:
            return CertificateRefusedError(refused)
        return UnavailableError(f"cannot reach the controller at {address}: {translated}")
    if isinstance(translated, PermissionDeniedError):
        return translated
    if isinstance(translated, AuthError):
        return AuthError(f"the controller refused the user token: {translated}")
    return translated


class Enrolment(ArenaModel):
    enrolment_id: str
    token: str
    expires_at_unix: float


class ImportReceipt(ArenaModel):
    run_id: str
    replaced: bool
    """The same source was imported before (by the same user, or an admin replaced it)."""
    verified_by: str
    """``agent NAME, key SHA256`` when the controller verified the folder; empty: unverified."""
    unverified_reason: str


class ArenaClient:
    def __init__(self, address: str, token: str, tls: ClientTls | None = None) -> None:
        self.address = address
        self._tls = tls or ClientTls()
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._channel = open_channel(grpc, address, self._tls, CHANNEL_OPTIONS)
        self._stub = user_pb2_grpc.UserServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "ArenaClient":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def _call(self, method: Any, request: Any, timeout: float = CALL_TIMEOUT_S) -> Any:
        """One call; past the user's rate limit, the delay the controller names is waited out
        a few times (a report over many runs slows down instead of failing)."""
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                return method(request, metadata=self._metadata, timeout=timeout)
            except grpc.RpcError as error:
                arena_error = translate(error, self.address, self._tls)
                if not isinstance(arena_error, RateLimitedError) or attempt == RATE_LIMIT_RETRIES:
                    raise arena_error from error
                time.sleep(min(arena_error.retry_after_s, MAX_RATE_LIMIT_WAIT_S))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def submit(self, suite_yaml: str, filename: str) -> tuple[str, list[str]]:
        reply = self._call(
            self._stub.SubmitSuite,
            user_pb2.SubmitSuiteRequest(suite_yaml=suite_yaml, filename=filename),
        )
        return reply.run_id, list(reply.job_ids)

    def check_suite(
        self, suite_yaml: str, filename: str, timeout: float = CALL_TIMEOUT_S
    ) -> SuiteAdmission:
        """Which registered agents would take each job of the suite, and why others refuse."""
        reply = self._call(
            self._stub.CheckSuite,
            user_pb2.SubmitSuiteRequest(suite_yaml=suite_yaml, filename=filename),
            timeout,
        )
        return from_message(reply, SuiteAdmission)

    def runs(self, limit: int = 50) -> list[RunInfo]:
        reply = self._call(self._stub.ListRuns, user_pb2.ListRunsRequest(limit=limit))
        return [from_message(summary, RunInfo) for summary in reply.runs]

    def run(self, run_id: str) -> RunDetail:
        reply = self._call(self._stub.GetRun, user_pb2.GetRunRequest(run_id=run_id))
        return RunDetail(
            run=from_message(reply.summary, RunInfo),
            jobs=[_job(job) for job in reply.jobs],
            notes=list(reply.notes),
            suite_file=reply.suite_file if reply.HasField("suite_file") else None,
            suite_yaml=reply.suite_yaml if reply.HasField("suite_yaml") else None,
        )

    def job(self, job_id: str) -> JobDetail:
        reply = self._call(self._stub.GetJob, user_pb2.GetJobRequest(job_id=job_id))
        return JobDetail(
            job=_job(reply.summary),
            run_id=reply.run_id,
            spec=from_message(reply.spec, JobSpec) if reply.HasField("spec") else None,
            started_at_unix=reply.started_at_unix if reply.HasField("started_at_unix") else None,
            finished_at_unix=(
                reply.finished_at_unix if reply.HasField("finished_at_unix") else None
            ),
            run_metrics={
                (m.benchmark, m.variant, m.run): {
                    v.key: v.value if v.HasField("value") else None for v in m.metrics
                }
                for m in reply.run_metrics
            },
            manifest=reply.manifest,
            signature=reply.signature,
            public_key=reply.public_key,
        )

    def results(self, run_id: str) -> RunResults:
        reply = self._call(self._stub.GetResults, user_pb2.GetRunRequest(run_id=run_id))
        return from_message(reply.results, RunResults)

    def samples(self, job_id: str = "", run_id: str = "") -> Iterator[tuple[str, RequestSample]]:
        """(job id, sample) of a job's current attempt, or of every job of a run, streamed."""
        request = user_pb2.StreamRequest(job_id=job_id, run_id=run_id)
        for chunk in self._stream(self._stub.StreamSamples, request):
            for sample in chunk.samples:
                yield chunk.job_id, from_message(sample, RequestSample)

    def telemetry(self, job_id: str = "", run_id: str = "") -> Iterator[tuple[str, GpuReading]]:
        """(job id, reading) of a job's current attempt, or of every job of a run, streamed."""
        request = user_pb2.StreamRequest(job_id=job_id, run_id=run_id)
        for chunk in self._stream(self._stub.StreamTelemetry, request):
            for reading in chunk.readings:
                yield chunk.job_id, from_message(reading, GpuReading)

    def _stream(self, method: Callable[..., Any], request: Any) -> Iterator[Any]:
        try:
            yield from method(request, metadata=self._metadata, timeout=STREAM_TIMEOUT_S)
        except grpc.RpcError as error:
            raise translate(error, self.address, self._tls) from error

    def import_results(
        self, run: ImportedRun, signed: "SignedExport | None" = None
    ) -> ImportReceipt:
        """Store one imported run with the folder's signed provenance, if it has one."""
        request = user_pb2.ImportResultsRequest(run=to_message(run, results_pb2.ImportedRun))
        if signed is not None:
            request.manifest, request.signature = signed.manifest, signed.signature
            request.public_key = signed.public_key
            request.signed_samples.extend(
                to_message(sample, common_pb2.RequestSample) for sample in signed.samples
            )
        reply = self._call(self._stub.ImportResults, request)
        return ImportReceipt(
            run_id=reply.run_id,
            replaced=reply.replaced,
            verified_by=reply.verified_by,
            unverified_reason=reply.unverified_reason,
        )

    def cancel(self, run_id: str) -> int:
        reply = self._call(self._stub.CancelRun, user_pb2.CancelRunRequest(run_id=run_id))
        return int(reply.jobs_cancelled)

    def agents(self) -> list[AgentInfo]:
        reply = self._call(self._stub.ListAgents, user_pb2.ListAgentsRequest())
        return [
            AgentInfo(
                agent_id=agent.agent_id,
                name=agent.name,
                status=agent.status,
                hardware=from_message(agent.hardware, HardwareInfo),
                labels=dict(agent.labels),
                last_seen_unix=agent.last_seen_unix,
                draining=agent.draining,
                current_job=agent.current_job,
                trust=agent.trust,
                key_sha256=agent.key_sha256,
                policy=(
                    from_message(agent.policy, AgentPolicy) if agent.HasField("policy") else None
                ),
            )
            for agent in reply.agents
        ]

    def logs(self, job_id: str, tail: int = 0) -> list[str]:
        """The current attempt's lines (the last ``tail`` of them), read page by page."""
        if tail > 0:
            return [line.text for line in self.log_lines(job_id, tail=tail)]
        lines: list[str] = []
        page = self.log_lines(job_id)
        while page:
            lines += [line.text for line in page]
            page = self.log_lines(job_id, after_seq=page[-1].seq)
        return lines

    def log_lines(self, job_id: str, after_seq: int = 0, tail: int = 0) -> list[LogLine]:
        """The current attempt's numbered lines above ``after_seq``."""
        return self.log_page(job_id, after_seq, tail).lines

    def log_page(self, job_id: str, after_seq: int = 0, tail: int = 0) -> LogPage:
        """The current attempt's number and its lines above ``after_seq``: ``logs -f`` polls
        with the last number it printed and never reads a line twice; a new attempt numbers
        its lines from 1 again."""
        reply = self._call(
            self._stub.GetJobLogs,
            user_pb2.GetJobLogsRequest(job_id=job_id, tail=tail, after_seq=after_seq),
        )
        lines = [LogLine(seq=line.seq, text=line.text) for line in reply.lines]
        return LogPage(attempt=reply.attempt, lines=lines)

    def drain(self, name: str) -> None:
        self._call(self._stub.DrainAgent, user_pb2.DrainAgentRequest(name=name))

    def create_enrolment(self, labels: dict[str, str], expires_in_s: float, uses: int) -> Enrolment:
        reply = self._call(
            self._stub.CreateEnrolment,
            user_pb2.CreateEnrolmentRequest(labels=labels, expires_in_s=expires_in_s, uses=uses),
        )
        return Enrolment(
            enrolment_id=reply.enrolment_id,
            token=reply.token,
            expires_at_unix=reply.expires_at_unix,
        )

    def revoke_agent(self, name: str) -> tuple[int, int]:
        """Returns (credentials revoked, jobs requeued)."""
        reply = self._call(self._stub.RevokeAgent, user_pb2.RevokeAgentRequest(name=name))
        return int(reply.credentials_revoked), int(reply.jobs_requeued)

    def create_user(self, name: str, role: Role) -> str:
        """The new user's token (shown once)."""
        request = user_pb2.CreateUserRequest(name=name, role=enum_number(role, user_pb2.UserRole))
        return str(self._call(self._stub.CreateUser, request).token)

    def rotate_user(self, name: str) -> tuple[str, float]:
        """A new token, and when the earlier ones stop working."""
        reply = self._call(self._stub.RotateUserToken, user_pb2.RotateUserTokenRequest(name=name))
        return reply.token, reply.old_valid_until_unix

    def revoke_user(self, name: str) -> int:
        reply = self._call(self._stub.RevokeUser, user_pb2.RevokeUserRequest(name=name))
        return int(reply.tokens_revoked)

    def users(self) -> list[UserSummary]:
        reply = self._call(self._stub.ListUsers, user_pb2.ListUsersRequest())
        return [from_message(user, UserSummary) for user in reply.users]

    def set_trust(self, name: str, tier: str) -> None:
        self._call(self._stub.SetAgentTrust, user_pb2.SetAgentTrustRequest(name=name, tier=tier))

    def keyring(self) -> "Keyring":
        from arena.common.provenance.keyring import Keyring, KeyringEntry

        reply = self._call(self._stub.GetKeyring, user_pb2.GetKeyringRequest())
        return Keyring(
            controller=self.address,
            keys=[
                KeyringEntry(
                    agent=key.agent,
                    agent_id=key.agent_id,
                    public_key=key.public_key.hex(),
                    tier=key.tier,
                    first_seen_unix=key.first_seen_unix,
                    current=key.current,
                )
                for key in reply.keys
            ],
        )

    def reset_key(self, name: str) -> None:
        self._call(self._stub.ResetAgentKey, user_pb2.ResetAgentKeyRequest(name=name))
