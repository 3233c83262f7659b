"""The gRPC API under malformed, oversized and out-of-order messages: every call gets a clear
status code and message, the controller keeps serving, and nothing is half-written."""

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arena.common.pb.arena.v2 import agent_pb2, common_pb2, results_pb2, user_pb2
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from tests.databases import rows
from tests.support import ControllerThread

AGENT_METHODS = [
    "Register",
    "Heartbeat",
    "LeaseJob",
    "ReportJobStatus",
    "PushSamples",
    "PushLogs",
    "PushTelemetry",
    "PushToolResult",
    "Enroll",
    "RotateCredential",
]
USER_METHODS = [
    "SubmitSuite",
    "ListRuns",
    "GetRun",
    "GetResults",
    "CancelRun",
    "ListAgents",
    "DrainAgent",
    "GetJobLogs",
    "ImportResults",
    "GetJob",
    "CreateEnrolment",
    "RevokeAgent",
    "CreateUser",
    "RotateUserToken",
    "RevokeUser",
    "ListUsers",
]
STREAM_METHODS = ["StreamSamples", "StreamTelemetry"]
CLEAR_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
}
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerThread]:
    from arena.controller.settings import ControllerSettings

    settings_ = ControllerSettings(  # thousands of calls at once: not the rate limit's test
        listen="127.0.0.1:0", data_dir=tmp_path_factory.mktemp("c"), user_burst=1_000_000
    )
    with ControllerThread(settings_) as running:
        yield running


@pytest.fixture(scope="module")
def channel(server: ControllerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as opened:
        yield opened


def raw_call(
    channel: grpc.Channel, service: str, method: str, body: bytes, token: str
) -> grpc.StatusCode:
    call = channel.unary_unary(
        f"/arena.v2.{service}/{method}", request_serializer=None, response_deserializer=None
    )
    try:
        call(body, metadata=(("authorization", f"Bearer {token}"),), timeout=10)
    except grpc.RpcError as error:
        code = error.code()
        details = error.details() or ""
        assert details, f"{method}: {code} without a message"
        assert code in CLEAR_CODES, (method, code, details)
        return code
    return grpc.StatusCode.OK


def still_serving(channel: grpc.Channel) -> None:
    body = user_pb2.ListRunsRequest(limit=1).SerializeToString()
    assert raw_call(channel, "UserService", "ListRuns", body, DEV_USER_TOKEN) == grpc.StatusCode.OK


@FUZZ
@given(st.sampled_from(AGENT_METHODS), st.binary(max_size=300))
def test_random_bytes_to_the_agent_service(channel: grpc.Channel, method: str, body: bytes) -> None:
    raw_call(channel, "AgentService", method, body, DEV_AGENT_TOKEN)
    still_serving(channel)


@FUZZ
@given(st.sampled_from(USER_METHODS), st.binary(max_size=300))
def test_random_bytes_to_the_user_service(channel: grpc.Channel, method: str, body: bytes) -> None:
    if method == "ImportResults" and body:
        body = user_pb2.ImportResultsRequest(
            run=results_pb2.ImportedRun(key=body.decode(errors="replace"))
        ).SerializeToString()
    raw_call(channel, "UserService", method, body, DEV_USER_TOKEN)
    still_serving(channel)


@FUZZ
@given(st.sampled_from(STREAM_METHODS), st.binary(max_size=300))
def test_random_bytes_to_the_streams(channel: grpc.Channel, method: str, body: bytes) -> None:
    call = channel.unary_stream(
        f"/arena.v2.UserService/{method}", request_serializer=None, response_deserializer=None
    )
    try:
        list(call(body, metadata=(("authorization", f"Bearer {DEV_USER_TOKEN}"),), timeout=10))
    except grpc.RpcError as error:
        assert error.details(), f"{method}: {error.code()} without a message"
        assert error.code() in CLEAR_CODES, (method, error.code(), error.details())
    still_serving(channel)


ids = st.text(alphabet="abcdefjob-0123456789", max_size=20)
samples = st.builds(
    common_pb2.RequestSample,
    benchmark=st.text(max_size=10),
    variant=st.text(max_size=10),
    run=st.integers(-5, 5),
    index=st.integers(-5, 5),
    sent_s=st.floats(allow_nan=True, allow_infinity=True),
    chunk_times_s_packed=st.binary(max_size=40),
)


@FUZZ
@given(
    ids,
    st.integers(-3, 5),
    st.integers(-10, 10),
    st.lists(samples, max_size=5),
    st.sampled_from(list(agent_pb2.JobPhase.values())) | st.integers(0, 99),
)
def test_out_of_order_and_nonsense_agent_calls(
    channel: grpc.Channel,
    server: ControllerThread,
    job_id: str,
    attempt: int,
    first_seq: int,
    batch: list[common_pb2.RequestSample],
    phase: int,
) -> None:
    agent_id = "agent-unknown"
    raw_call(
        channel,
        "AgentService",
        "PushSamples",
        agent_pb2.SampleBatch(
            agent_id=agent_id,
            job_id=job_id,
            attempt=attempt,
            first_seq=first_seq,
            samples=batch,
        ).SerializeToString(),
        DEV_AGENT_TOKEN,
    )
    raw_call(
        channel,
        "AgentService",
        "ReportJobStatus",
        agent_pb2.JobStatusRequest(
            agent_id=agent_id,
            job_id=job_id,
            attempt=attempt,
            phase=phase,  # type: ignore[arg-type]  # out-of-range phases on purpose
            total_samples=first_seq,
        ).SerializeToString(),
        DEV_AGENT_TOKEN,
    )
    lease = agent_pb2.LeaseJobRequest(agent_id=agent_id, wait_s=float(first_seq))
    raw_call(channel, "AgentService", "LeaseJob", lease.SerializeToString(), DEV_AGENT_TOKEN)
    still_serving(channel)
    assert rows(server.settings.database, "SELECT COUNT(*) FROM samples") == [(0,)]


def test_oversized_inputs_are_refused_clearly(channel: grpc.Channel) -> None:
    huge = user_pb2.SubmitSuiteRequest(suite_yaml="x" * 2_000_000, filename="big.yaml")
    code = raw_call(channel, "UserService", "SubmitSuite", huge.SerializeToString(), DEV_USER_TOKEN)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    batch = agent_pb2.SampleBatch(
        agent_id="a",
        job_id="j",
        attempt=1,
        first_seq=1,
        samples=[common_pb2.RequestSample()] * 5001,
    )
    code = raw_call(
        channel, "AgentService", "PushSamples", batch.SerializeToString(), DEV_AGENT_TOKEN
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    still_serving(channel)


names = st.text(max_size=80)
labels = st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=4)


@FUZZ
@given(
    names,
    labels,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 10),
    st.integers(-3, 9),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=60),
)
def test_access_methods_with_nonsense_arguments(
    channel: grpc.Channel,
    server: ControllerThread,
    name: str,
    wanted: dict[str, str],
    expires: float,
    uses: int,
    role: int,
    token: str,
) -> None:
    """Enrolment, users and revocation with any names, labels, expiries, roles and tokens:
    clear statuses only, and an enrolment with a token nobody issued stores nothing."""

    def user(method: str, request: Message) -> grpc.StatusCode:
        return raw_call(channel, "UserService", method, request.SerializeToString(), DEV_USER_TOKEN)

    user(
        "CreateEnrolment",
        user_pb2.CreateEnrolmentRequest(labels=wanted, expires_in_s=expires, uses=uses),
    )
    user("CreateUser", user_pb2.CreateUserRequest(name=name, role=role))  # type: ignore[arg-type]
    user("RotateUserToken", user_pb2.RotateUserTokenRequest(name=name))
    user("RevokeUser", user_pb2.RevokeUserRequest(name=name))
    user("RevokeAgent", user_pb2.RevokeAgentRequest(name=name))
    agent_credentials = "SELECT COUNT(*) FROM credentials WHERE kind = 'agent'"
    before = rows(server.settings.database, agent_credentials)
    enroll = agent_pb2.EnrollRequest(
        agent_name=name,
        hardware=common_pb2.HardwareInfo(
            cpu_model="x",
            cpu_arch="x86_64",
            cpu_cores=1,
            ram_gb=1,
            os="linux",
            kernel="6",
            hostname="h",
        ),
    )
    if token.strip():
        raw_call(channel, "AgentService", "Enroll", enroll.SerializeToString(), token.strip())
    still_serving(channel)
    assert rows(server.settings.database, agent_credentials) == before
    hashes = [h for (h,) in rows(server.settings.database, "SELECT token_hash FROM credentials")]
    assert all(len(h) == 64 and set(h) <= set("0123456789abcdef") for h in hashes)
