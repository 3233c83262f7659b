"""No caller stalls or bloats the controller for the others (issue 21, must-have 5), against a
real controller on loopback: every refusal returns its status and stores nothing."""

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import psutil
import pytest
from click.testing import CliRunner

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.common.errors import InvalidRequestError, RateLimitedError, SuiteError
from arena.common.pb.arena.v2 import user_pb2, user_pb2_grpc
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.common.status import from_rpc_error
from arena.common.suites.loader import load_suite_text
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.integration.test_protocol import SUITE, address, submit
from tests.support import ControllerThread, Processes

TABLES = ("agents", "credentials", "enrolments", "suites", "runs", "jobs")
ADMIN = "admin-token-for-the-second-user"


def counts(controller: Controller) -> dict[str, int]:
    with sqlite3.connect(controller.settings.data_dir / "arena.db") as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def submit_as(controller: Controller, text: str, token: str = DEV_USER_TOKEN) -> str:
    with ArenaClient(address(controller), token) as client:
        return client.submit(text, "big.yaml")[0]


def many_targets(count: int = 20_000) -> str:
    """The issue's stall: a 0.9 MB suite of 20,000 targets (each a selector with a label)."""
    targets = "".join(f"  - {{name: t{i:05d}, labels: {{rack: r{i:05d}}}}}\n" for i in range(count))
    return SUITE.format(target="any", labels="{}").replace(
        "targets:\n  - name: any\n    labels: {}\n", "targets:\n" + targets
    )


async def longest_stall(during: asyncio.Future[Any]) -> float:
    """The longest the event loop (the controller's: it runs on the test's loop) went without
    running a 5 ms timer while ``during`` was pending."""
    longest, last = 0.0, time.monotonic()
    while not during.done():
        await asyncio.sleep(0.005)
        now = time.monotonic()
        longest, last = max(longest, now - last), now
    return longest


async def test_parsing_a_huge_suite_does_not_stall_the_controller(
    controller: Controller,
) -> None:
    """Before: the parse ran on the event loop and stalled every call for its whole length.
    The bound is relative to what the parse itself costs here, so load does not change it."""
    text = many_targets()
    assert 850_000 < len(text) < 1_000_000
    started = time.monotonic()
    with pytest.raises(SuiteError):
        await asyncio.to_thread(load_suite_text, text, limits=controller.settings.limits)
    parse_s = time.monotonic() - started
    await submit(controller)  # the workers are started and warm
    before = counts(controller)
    submitted = asyncio.ensure_future(asyncio.to_thread(submit_as, controller, text))
    stall = await longest_stall(submitted)
    with pytest.raises(SuiteError):  # 20,000 jobs, or over the parse budget on a slow box
        await submitted
    assert stall < parse_s / 3, (stall, parse_s)
    assert counts(controller) == before


async def test_a_suite_over_its_parse_budget_is_refused_and_its_worker_replaced(
    tmp_path: Path,
) -> None:
    settings = ControllerSettings(
        listen="127.0.0.1:0", data_dir=tmp_path / "c", suite_budget_s=0.2, suite_workers=1
    )
    async with Controller(settings) as controller:
        await submit(controller)  # the one worker is warm: the budget is all parse
        before = counts(controller)
        with pytest.raises(SuiteError, match=r"took longer than 0\.2 s"):
            await asyncio.to_thread(submit_as, controller, many_targets())
        assert counts(controller) == before
        await submit(controller)  # a fresh worker took the killed one's place
        assert counts(controller)["runs"] == before["runs"] + 1


async def test_a_user_has_a_bounded_number_of_suites_being_parsed(tmp_path: Path) -> None:
    settings = ControllerSettings(
        listen="127.0.0.1:0", data_dir=tmp_path / "c", submissions_per_user=1, admin_token=ADMIN
    )
    async with Controller(settings) as controller:
        await submit(controller)
        slow = asyncio.ensure_future(asyncio.to_thread(submit_as, controller, many_targets()))
        for _ in range(6000):  # a minute: the first parse waits for its worker's imports
            if controller.suite_workers.parsing("dev"):
                break
            await asyncio.sleep(0.01)
        async with grpc.aio.insecure_channel(address(controller)) as channel:  # no retries
            stub = user_pb2_grpc.UserServiceStub(channel)
            request = user_pb2.SubmitSuiteRequest(suite_yaml=SUITE.format(target="a", labels="{}"))
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.SubmitSuite(
                    request, metadata=(("authorization", f"Bearer {DEV_USER_TOKEN}"),)
                )
        error = from_rpc_error(caught.value)
        assert isinstance(error, RateLimitedError) and error.retry_after_s > 0
        assert "already has 1 suites being parsed" in str(error)
        await asyncio.to_thread(submit_as, controller, SUITE.format(target="b", labels="{}"), ADMIN)
        with pytest.raises(SuiteError):
            await slow


def laughing_descriptions(benchmarks: int = 128, chars: int = 4000) -> str:
    """A 16 kB suite whose aliases repeat a 4 kB description in 128 benchmarks of 256 jobs:
    130 MB of job specs."""
    benches = "".join(
        f"  - {{kind: closed_loop, id: b{i}, pp: [1], tg: [1], description: *d}}\n"
        for i in range(benchmarks)
    )
    models = "".join(f"  - {{name: m{i}, engine: sim}}\n" for i in range(16))
    targets = "".join(f"  - {{name: t{i}}}\n" for i in range(16))
    return (
        f"description: &d {'y' * chars}\nname: laughs\nruns: 1\n"
        f"engines: {{sim: {{runtime: simulated}}}}\n"
        f"models:\n{models}targets:\n{targets}benchmarks:\n{benches}"
    )


async def test_an_alias_bomb_of_long_strings_is_refused_by_its_bytes(
    controller: Controller,
) -> None:
    text = laughing_descriptions()
    assert len(text) < 30_000
    before = counts(controller)
    with pytest.raises(SuiteError, match="specs would take .* bytes; this controller accepts"):
        await asyncio.to_thread(submit_as, controller, text)
    assert counts(controller) == before
    chars = "s: &s " + "z" * 4000 + "\nname: many\nlist: [" + ", ".join(["*s"] * 1200) + "]\n"
    with pytest.raises(SuiteError, match="characters through its aliases"):
        await asyncio.to_thread(submit_as, controller, chars)
    assert counts(controller) == before


@pytest.mark.parametrize(
    ("where", "value", "problem"),
    [
        ("model", "m" * 900_000, "900000 characters; at most 4096"),
        ("model", r'"evil\e]0;pwned\a"', r"control character \x1b"),
        ("label", "v" * 900_000, "900000 characters; at most 4096"),
    ],
    ids=["900k-model-name", "escape-in-model-name", "900k-label"],
)
async def test_a_suite_with_overlong_or_control_text_is_refused(
    controller: Controller, where: str, value: str, problem: str
) -> None:
    text = SUITE.format(target="any", labels="{}")
    if where == "model":
        text = text.replace("  - name: tiny", f"  - name: {value}")
    else:
        text = text.replace("labels: {}", f"labels: {{rack: {value}}}")
    before = counts(controller)
    with pytest.raises(SuiteError) as caught:
        await asyncio.to_thread(submit_as, controller, text)
    assert problem in str(caught.value)
    assert "mmmmmmmm" not in str(caught.value) and "pwned" not in str(caught.value)
    assert counts(controller) == before


async def test_overlong_names_and_labels_are_refused_at_the_door(
    controller: Controller,
) -> None:
    before = counts(controller)
    link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
    with pytest.raises(InvalidRequestError, match="labels: 900000 characters; at most 1024"):
        await link.register("box", probe(), {"rack": "v" * 900_000}, {})
    with pytest.raises(InvalidRequestError, match="agent_name: 900000 characters"):
        await link.register("b" * 900_000, probe(), {}, {})
    with pytest.raises(InvalidRequestError, match=r"agent_name: holds the control character"):
        await link.register("box\x1b[2J", probe(), {}, {})
    await link.close()
    with (
        ArenaClient(address(controller), DEV_USER_TOKEN) as client,
        pytest.raises(InvalidRequestError, match="labels: 50000 characters"),
    ):
        await asyncio.to_thread(client.create_enrolment, {"site": "s" * 50_000}, 3600.0, 1)
    assert counts(controller) == before


async def test_list_limits_are_bounded(controller: Controller) -> None:
    await submit(controller)
    async with grpc.aio.insecure_channel(address(controller)) as channel:
        stub = user_pb2_grpc.UserServiceStub(channel)
        metadata = (("authorization", f"Bearer {DEV_USER_TOKEN}"),)
        for limit in (-1, 1_000_000):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.ListRuns(user_pb2.ListRunsRequest(limit=limit), metadata=metadata)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "between 1 and 1000" in (caught.value.details() or "")
        listed = await stub.ListRuns(user_pb2.ListRunsRequest(limit=1000), metadata=metadata)
        assert len(listed.runs) == 1


async def test_a_user_past_its_rate_limit_is_told_when_to_retry(tmp_path: Path) -> None:
    """A bucket of 3 that refills one call per 20 s: the fourth call is refused whatever the
    machine's load; another user has a bucket of its own."""
    settings = ControllerSettings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "c",
        user_rate_per_s=0.05,
        user_burst=3,
        admin_token=ADMIN,
    )
    async with Controller(settings) as controller:
        with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
            for _ in range(3):
                await asyncio.to_thread(client.runs)
        async with grpc.aio.insecure_channel(address(controller)) as channel:
            stub = user_pb2_grpc.UserServiceStub(channel)
            metadata = (("authorization", f"Bearer {DEV_USER_TOKEN}"),)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.ListRuns(user_pb2.ListRunsRequest(), metadata=metadata)
        error = from_rpc_error(caught.value)
        assert isinstance(error, RateLimitedError) and "user:dev" in str(error)
        assert 0 < error.retry_after_s <= 20
        with ArenaClient(address(controller), ADMIN) as other:
            await asyncio.to_thread(other.runs)


def test_arenactl_escapes_control_characters_in_what_it_prints(
    controller_in_thread: ControllerThread,
) -> None:
    """A model name stored with an escape sequence (before the submit check existed, or written
    by another tool) reaches the terminal as text, in every table and format."""
    with ArenaClient(controller_in_thread.address, DEV_USER_TOKEN) as client:
        run_id, _ = client.submit(SUITE.format(target="any", labels="{}"), "ok.yaml")
    database = controller_in_thread.settings.data_dir / "arena.db"
    evil = "evil\x1b]0;pwned\x07\x1b[2J"
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE jobs SET model = ?", (evil,))
        (job_id,) = conn.execute("SELECT id FROM jobs").fetchone()
        conn.execute(
            "INSERT INTO job_logs (job_id, attempt, seq, line) VALUES (?, 0, 1, ?)", (job_id, evil)
        )
    flags = ["--controller", controller_in_thread.address]
    commands = [["jobs", run_id, "-o", output] for output in ("table", "csv", "md")]
    for command in [*commands, ["logs", job_id]]:
        result = CliRunner().invoke(cli, [*flags, *command])
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output
        assert r"evil\x1b]0;pwned\x07\x1b[2J" in result.output


@pytest.mark.slow
def test_unauthenticated_huge_messages_are_refused_before_they_are_read(tmp_path: Path) -> None:
    """Before: 16 unauthenticated 60 MB calls in parallel were received and parsed, taking the
    controller from 0.95 to 1.6 GB. Now the call is refused from its metadata and its body is
    never read: the controller (a process of its own) grows by far less than one message."""
    processes = Processes(tmp_path)
    try:
        processes.start_controller()
        controller = psutil.Process(processes.running["controller"].pid)
        baseline = controller.memory_info().rss
        peak = [baseline]
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], controller.memory_info().rss)
                time.sleep(0.01)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            codes = asyncio.run(_huge_calls(processes.address, parallel=8, size=60 << 20))
        finally:
            done.set()
            watcher.join()
        assert codes == {grpc.StatusCode.UNAUTHENTICATED}
        assert peak[0] - baseline < 120 << 20, (baseline, peak[0])  # 8 × 60 MB were sent
    finally:
        processes.stop_all()


async def _huge_calls(address: str, parallel: int, size: int) -> set[grpc.StatusCode]:
    body = b"\x0a" + b"\xff" * 5 + b"x" * size  # any bytes: they must not be looked at
    options = [("grpc.max_send_message_length", size + 1024)]

    async def one(method: str, token: str) -> grpc.StatusCode:
        async with grpc.aio.insecure_channel(address, options=options) as channel:
            call = channel.unary_unary(method)
            try:
                await call(body, metadata=(("authorization", f"Bearer {token}"),), timeout=120)
            except grpc.aio.AioRpcError as error:
                return error.code()
            return grpc.StatusCode.OK

    methods = ["/arena.v2.UserService/ImportResults", "/arena.v2.AgentService/PushSamples"]
    calls = [one(methods[i % 2], "not-a-token") for i in range(parallel)]
    return set(await asyncio.gather(*calls))
