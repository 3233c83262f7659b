"""arena.common.status against a real controller on loopback: every class in the table,
raised inside a servicer's store call, reaches arenactl's client and the agent's link as the
same class with the same message; a controller bug reaches them as an InternalError."""

import re
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy.exc
import structlog
from click.testing import CliRunner

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.client import cli as arenactl
from arena.client.api import ArenaClient
from arena.client.commands import suites as suite_commands
from arena.common.errors import (
    ArenaError,
    AuthError,
    ConflictError,
    EngineError,
    InternalError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    SuiteError,
    SuiteProblem,
    UnavailableError,
)
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.common.status import TABLE, Row, from_rpc_error, is_retryable, sent_by_arena
from arena.common.suites.loader import load_suite_text
from arena.controller.rpc import errors as rpc_errors
from arena.controller.server import Controller
from arena.controller.store import agents as agent_store
from arena.controller.store import runs as run_store
from tests.support import ControllerThread

SUITE_PROBLEMS = [
    SuiteProblem("suite.yaml", 7, "benchmarks[0].request_rate[0]", "must be positive"),
    SuiteProblem("suite.yaml", None, "", "unknown engine profile 'vllm'"),
]
EXAMPLES: list[ArenaError] = [
    SuiteError.from_problems(SUITE_PROBLEMS),
    InvalidRequestError("batch of 9000 samples; at most 5000"),
    AuthError("unknown user token"),
    PermissionDeniedError("SubmitSuite needs the submitter role; user 'ann' is viewer"),
    NotFoundError("no run 'run-nope'"),
    ConflictError("job j-1 attempt 1 is stale: attempt 2 holds the lease"),
    UnavailableError("controller storage unavailable: disk I/O error"),
    EngineError("engine exited with code 137 (killed: out of memory)"),
    InternalError("internal controller error (incident 0123abcd4567)", "0123abcd4567"),
]


def raising(error: BaseException) -> Callable[..., Any]:
    def fail(*_: Any, **__: Any) -> Any:
        raise error

    return fail


def test_the_examples_cover_the_whole_table() -> None:
    assert {type(error) for error in EXAMPLES} == {row.error for row in TABLE}


def same_error(received: ArenaError, sent: ArenaError, prefix: str = "") -> None:
    assert type(received) is type(sent)
    assert str(received) == prefix + str(sent)
    if isinstance(sent, SuiteError):
        assert isinstance(received, SuiteError)
        assert received.errors == sent.errors
    if isinstance(sent, InternalError):
        assert isinstance(received, InternalError)
        assert received.incident == sent.incident


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda error: type(error).__name__)
def test_client_gets_the_class_and_message_the_controller_raised(
    controller_in_thread: ControllerThread, monkeypatch: pytest.MonkeyPatch, error: ArenaError
) -> None:
    monkeypatch.setattr(run_store, "list_runs", raising(error))
    with (
        ArenaClient(controller_in_thread.address, DEV_USER_TOKEN) as client,
        pytest.raises(ArenaError) as caught,
    ):
        client.runs()
    refusal = isinstance(error, AuthError) and not isinstance(error, PermissionDeniedError)
    prefix = "the controller refused the user token: " if refusal else ""
    same_error(caught.value, error, prefix)


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda error: type(error).__name__)
async def test_agent_link_gets_the_class_and_message_the_controller_raised(
    controller: Controller, monkeypatch: pytest.MonkeyPatch, error: ArenaError
) -> None:
    monkeypatch.setattr(agent_store, "register_agent", raising(error))
    link = ControllerLink(f"127.0.0.1:{controller.port}", DEV_AGENT_TOKEN)
    try:
        with pytest.raises(ArenaError) as caught:
            await link.register("box", probe(), {}, {"arena": "test"})
    finally:
        await link.close()
    same_error(caught.value, error)


def test_a_controller_bug_is_an_internal_error_with_an_incident_in_the_log(
    controller_in_thread: ControllerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    bug = ValueError("invalid literal for int()")
    monkeypatch.setattr(run_store, "list_runs", raising(bug))
    logged = structlog.testing.LogCapture()
    monkeypatch.setattr(rpc_errors, "log", structlog.wrap_logger(None, processors=[logged]))
    with (
        ArenaClient(controller_in_thread.address, DEV_USER_TOKEN) as client,
        pytest.raises(InternalError) as caught,
    ):
        client.runs()
    incident = caught.value.incident
    assert len(incident) == 12
    assert f"internal controller error (incident {incident})" in str(caught.value)
    assert "not in the request" in str(caught.value)
    assert "literal" not in str(caught.value)  # a bug's words and traceback are the operator's
    [line] = logged.entries
    assert line["log_level"] == "error" and line["event"] == "internal error"
    assert line["incident"] == incident and line["method"] == "ListRuns"
    assert line["exc_info"] is bug


def test_storage_trouble_is_unavailable_and_retried(
    controller_in_thread: ControllerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk or a locked database: the agents' retry loops wait it out (tests/faults)."""
    full = sqlalchemy.exc.OperationalError("INSERT ...", {}, sqlite3.OperationalError("disk full"))
    monkeypatch.setattr(run_store, "list_runs", raising(full))
    with (
        ArenaClient(controller_in_thread.address, DEV_USER_TOKEN) as client,
        pytest.raises(UnavailableError) as caught,
    ):
        client.runs()
    assert str(caught.value) == "controller storage unavailable: disk full"
    assert is_retryable(caught.value)


def test_a_suite_refused_by_the_controller_keeps_its_problems(
    controller_in_thread: ControllerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same problems as local validation: file, line, field path and message each."""
    text = "name: x\nmodels: []\nbenchmarks:\n  - kind: nope\n    id: a\n"
    with pytest.raises(SuiteError) as local:
        load_suite_text(text, "bad.yaml")
    with (
        ArenaClient(controller_in_thread.address, DEV_USER_TOKEN) as client,
        pytest.raises(SuiteError) as remote,
    ):
        client.submit(text, "bad.yaml")
    assert remote.value.errors == local.value.errors
    assert str(remote.value) == str(local.value)


def test_a_suite_with_very_many_problems_still_arrives(
    controller_in_thread: ControllerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Headers are limited: the first problems come, and the message says how many did not."""
    many = [
        SuiteProblem("big.yaml", line, f"benchmarks[{line}].id", "x" * 80) for line in range(500)
    ]
    monkeypatch.setattr(run_store, "list_runs", raising(SuiteError.from_problems(many)))
    with (
        ArenaClient(controller_in_thread.address, DEV_USER_TOKEN) as client,
        pytest.raises(SuiteError) as caught,
    ):
        client.runs()
    *kept, note = caught.value.errors
    assert 1 <= len(kept) < len(many)
    assert kept == many[: len(kept)]
    assert note == SuiteProblem("big.yaml", None, "", f"and {len(many) - len(kept)} more problems")


NEGATIVE_RATE = """\
name: bad
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
benchmarks:
  - kind: open_loop
    id: x
    input_len: 8
    output_len: 8
    num_prompts: 4
    request_rate: [-1]
"""


def test_arenactl_prints_the_controllers_suite_problems_as_local_ones(
    controller_in_thread: ControllerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(NEGATIVE_RATE)
    command = ["--controller", controller_in_thread.address, "submit", str(path.resolve())]
    local = CliRunner().invoke(arenactl.cli, command)
    # now only the controller checks
    monkeypatch.setattr(suite_commands, "load_suite_file", lambda _: None)
    remote = CliRunner().invoke(arenactl.cli, command)
    assert local.exit_code == remote.exit_code == 2
    assert re.search(r"bad.yaml:\d+: benchmarks\[0\]\.request_rate\[0\]", remote.output)
    assert remote.output == local.output


def test_a_request_the_controller_refuses_is_a_usage_error_in_arenactl(
    controller_in_thread: ControllerThread, tmp_path: Path
) -> None:
    """Valid YAML, too big to send: InvalidRequestError, exit status 2 like a bad suite."""
    path = tmp_path / "huge.yaml"
    path.write_text(NEGATIVE_RATE.replace("request_rate: [-1]", "request_rate: [1]") + "#" * 2**20)
    result = CliRunner().invoke(
        arenactl.cli, ["--controller", controller_in_thread.address, "submit", str(path)]
    )
    assert result.exit_code == 2, result.output
    assert "suite file larger than 1000000 bytes" in result.output


@pytest.fixture(scope="module")
def foreign() -> Iterator[grpc.Channel]:
    """A gRPC server that is not Arena: it aborts with the code named in the request, and no
    details, as gRPC itself or a proxy in between would."""

    def abort(request: bytes, context: grpc.ServicerContext) -> bytes:
        context.abort(grpc.StatusCode[request.decode()], "said by someone else")
        raise AssertionError("unreachable")

    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    handler = grpc.unary_unary_rpc_method_handler(abort)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("x.Foreign", {"Call": handler})]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    server.stop(None)


@pytest.mark.parametrize(
    ("code", "row"),
    [(code, row) for row in TABLE for code in (row.code, *row.also)],
    ids=lambda value: value.name if isinstance(value, grpc.StatusCode) else "",
)
def test_a_status_without_arena_details_is_read_by_its_code(
    foreign: grpc.Channel, code: grpc.StatusCode, row: Row
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        foreign.unary_unary("/x.Foreign/Call")(code.name.encode(), timeout=10)
    error = from_rpc_error(caught.value)
    expected = InvalidRequestError if code == grpc.StatusCode.INVALID_ARGUMENT else row.error
    assert type(error) is expected
    assert str(error) == "said by someone else"
    assert not sent_by_arena(caught.value)


def test_a_code_outside_the_table_is_a_plain_arena_error(foreign: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        foreign.unary_unary("/x.Foreign/Call")(b"UNIMPLEMENTED", timeout=10)
    error = from_rpc_error(caught.value)
    assert type(error) is ArenaError
    assert str(error) == "UNIMPLEMENTED: said by someone else"


def test_unreachable_controller_is_unavailable_with_its_address() -> None:
    with ArenaClient("127.0.0.1:1", DEV_USER_TOKEN) as client, pytest.raises(UnavailableError) as e:
        client.runs()
    assert "cannot reach the controller at 127.0.0.1:1" in str(e.value)


async def test_a_missing_token_is_an_auth_error_on_the_link(controller: Controller) -> None:
    link = ControllerLink(f"127.0.0.1:{controller.port}", "")
    try:
        with pytest.raises(AuthError, match="missing agent token"):
            await link.register("box", probe(), {}, {})
    finally:
        await link.close()


def test_a_malformed_request_is_an_invalid_request(controller_in_thread: ControllerThread) -> None:
    with grpc.insecure_channel(controller_in_thread.address) as channel:
        call = channel.unary_unary("/arena.v2.UserService/ListRuns")
        with pytest.raises(grpc.RpcError) as caught:
            call(b"\xff\xff\xff", metadata=(("authorization", f"Bearer {DEV_USER_TOKEN}"),))
    error = from_rpc_error(caught.value)
    assert type(error) is InvalidRequestError
    assert str(error).startswith("malformed request:")
