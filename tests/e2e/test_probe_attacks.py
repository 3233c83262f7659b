"""Attacks a prober found after issue 21's fixes, against a real controller and a real agent.

- An external endpoint on a host the owner allows, with ``health_path: "@other-host/…"``: the
  health URL ``http://allowed@other-host/…`` sent the agent's probes to a host the policy does
  not list (a status oracle into whatever the box can reach: the LAN, a cloud's metadata).
"""

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
