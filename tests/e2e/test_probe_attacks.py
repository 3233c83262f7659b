"""Attacks a prober found after issue 21's fixes, against a real controller and a real agent.

- An external endpoint on a host the owner allows, with ``health_path: "@other-host/…"``: the
  health URL ``http://allowed@other-host/…`` sent the agent's probes to a host the policy does
  not list (a status oracle into whatever the box can reach: the LAN, a cloud's metadata).
- An engine that answers the agent with a redirect (a submitter's command in an allowed image
  can, as can a listed endpoint): the agent followed it to a host the policy does not list,
  the box's own loopback included, and put what came back into the job's message and
  provenance (the version probe, the sanity answer, the tokenizer's error).
"""

import contextlib
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.client.api import ArenaClient
from arena.common.errors import SuiteError
from arena.common.settings import DEV_USER_TOKEN
from tests.policy_files import write_policy
from tests.support import Processes

pytestmark = pytest.mark.slow

AGENT = "probed-box"
BENCHMARKS = """
runs: 1
benchmarks:
  - {kind: closed_loop, id: chat, pp: [16], tg: [4], concurrency: [1]}
"""


class Listener(http.server.BaseHTTPRequestHandler):
    """A host on the box's network that the owner never listed."""

    heard: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (the handler's name is http.server's)
        self.heard.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return None


class Redirector(http.server.BaseHTTPRequestHandler):
    """An engine that is healthy, then sends every other request elsewhere."""

    target = ""

    def do_GET(self) -> None:  # noqa: N802 (the handler's name is http.server's)
        if self.path == "/health":
            self.send_response(200)
        else:
            self.send_response(307)
            self.send_header("Location", self.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *_: object) -> None:
        return None


class LoopbackService(Listener):
    """Something on the box's loopback that no one outside the box should read."""

    def do_GET(self) -> None:  # noqa: N802 (the handler's name is http.server's)
        self.heard.append(self.path)
        body = f'{{"version": "{LOOPBACK_SECRET}"}}'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET


LOOPBACK_SECRET = "loopback-only-4f1c"


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def unlisted_host() -> Iterator[tuple[int, list[str]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    Listener.heard = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], Listener.heard
    finally:
        server.shutdown()
        server.server_close()


def test_a_health_path_cannot_lead_the_agent_to_a_host_the_policy_does_not_list(
    tmp_path: Path, unlisted_host: tuple[int, list[str]]
) -> None:
    port, heard = unlisted_host
    allowed = "127.0.0.1:9"  # the endpoint the owner lists (nothing needs to answer there)
    policy = write_policy(tmp_path, {"runtimes": ["external"], "external": {"hosts": [allowed]}})
    suite = (
        "name: detour\nmodels: [{name: m, engine: e}]\nengines:\n  e:\n"
        f"    runtime: external\n    url: http://{allowed}\n"
        f'    health_path: "@127.0.0.1:{port}/latest/meta-data/"\n' + BENCHMARKS
    )
    processes = Processes(tmp_path)
    try:
        processes.start_controller()
        processes.start_agent(AGENT, env={"ARENA_POLICY_FILE": str(policy)})
        with ArenaClient(processes.address, DEV_USER_TOKEN) as client:
            with pytest.raises(SuiteError, match="health_path"):
                run_id, _ = client.submit(suite, "detour.yaml")
                deadline = time.monotonic() + 30
                while not client.run(run_id).finished and time.monotonic() < deadline:
                    time.sleep(0.3)
    finally:
        processes.stop_all()
    assert heard == []


def test_an_engines_redirect_does_not_lead_the_agent_elsewhere(tmp_path: Path) -> None:
    LoopbackService.heard = []
    with serving(LoopbackService) as secret_port, serving(Redirector) as engine_port:
        Redirector.target = f"http://127.0.0.1:{secret_port}"
        policy = write_policy(
            tmp_path,
            {"runtimes": ["external"], "external": {"hosts": [f"127.0.0.1:{engine_port}"]}},
        )
        suite = (
            "name: redirected\nmodels: [{name: m, engine: e}]\nengines:\n  e:\n"
            f"    runtime: external\n    url: http://127.0.0.1:{engine_port}/v1\n" + BENCHMARKS
        )
        processes = Processes(tmp_path)
        try:
            processes.start_controller()
            processes.start_agent(AGENT, env={"ARENA_POLICY_FILE": str(policy)})
            with ArenaClient(processes.address, DEV_USER_TOKEN) as client:
                run_id, _ = client.submit(suite, "redirected.yaml")
                deadline = time.monotonic() + 60
                while not (run := client.run(run_id)).finished and time.monotonic() < deadline:
                    time.sleep(0.3)
                [job] = run.jobs
                logs = client.logs(job.job_id)
        finally:
            processes.stop_all()
    assert job.state == "failed", job
    assert LOOPBACK_SECRET not in job.message and LOOPBACK_SECRET not in "\n".join(logs)
    assert LoopbackService.heard == []
