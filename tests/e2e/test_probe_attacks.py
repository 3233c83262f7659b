"""Attacks a prober found after issue 21's fixes, against a real controller and a real agent.

- An external endpoint on a host the owner allows, with ``health_path: "@other-host/…"``: the
  health URL ``http://allowed@other-host/…`` sent the agent's probes to a host the policy does
  not list (a status oracle into whatever the box can reach: the LAN, a cloud's metadata).
- An engine that answers the agent with a redirect (a submitter's command in an allowed image
  can, as can a listed endpoint): the agent followed it to a host the policy does not list,
  the box's own loopback included, and put what came back into the job's message and
  provenance (the version probe, the sanity answer, the tokenizer's error).
- A benchmark's ``dataset_path`` naming any file on the box: the agent read it as its own user
  (root) and sent its conversations as prompts to the engine (a submitter's), or read
  ``/dev/zero`` until the box ran out of memory. It must now lie under ``models_dir``.
- A suite with ``request_rate: [inf]`` (documented: all requests at once): its spec was stored
  with null for the rate, so reading it back failed: the lease raised an internal error, the
  agent that leased it exited, and every agent the job went back to after its lease expired
  would too. One submitter could stop a whole fleet.
"""

import http.server
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.client.api import ArenaClient
from arena.common.errors import SuiteError
from arena.common.policy import REFUSED
from arena.common.settings import DEV_USER_TOKEN
from tests.policy_files import write_policy
from tests.support import Processes, http_serving

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


@pytest.fixture
def unlisted_host() -> Iterator[tuple[int, list[str]]]:
    Listener.heard = []
    with http_serving(Listener) as port:
        yield port, Listener.heard


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
        with (
            ArenaClient(processes.address, DEV_USER_TOKEN) as client,
            pytest.raises(SuiteError, match="health_path"),
        ):
            run_id, _ = client.submit(suite, "detour.yaml")
            deadline = time.monotonic() + 30  # on a controller that takes it: the agent probes
            while not client.run(run_id).finished and time.monotonic() < deadline:
                time.sleep(0.3)
    finally:
        processes.stop_all()
    assert heard == []


def test_an_engines_redirect_does_not_lead_the_agent_elsewhere(tmp_path: Path) -> None:
    LoopbackService.heard = []
    with http_serving(LoopbackService) as secret_port, http_serving(Redirector) as engine_port:
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


def sharegpt(path: Path) -> Path:
    turn = "a conversation the box's owner keeps to themself, long enough to be a prompt"
    conversations = [{"from": "human", "value": turn}, {"from": "gpt", "value": turn}]
    path.write_text(json.dumps([{"conversations": conversations}] * 4))
    return path


def test_a_dataset_path_reads_only_under_the_models_dir(tmp_path: Path) -> None:
    models = tmp_path / "models"
    private = tmp_path / "private"
    models.mkdir()
    private.mkdir()
    outside = sharegpt(private / "chats.json")
    outside.chmod(0o600)
    (models / "linked.json").symlink_to(outside)
    sharegpt(models / "chats.json")
    policy = write_policy(tmp_path, {"runtimes": ["simulated"], "models_dir": str(models)})

    def suite(dataset_path: str) -> str:
        return (
            "name: datasets\nmodels: [{name: m, engine: e}]\n"
            "engines: {e: {runtime: simulated, decode_step_ms: 1}}\nruns: 1\nbenchmarks:\n"
            "  - {kind: open_loop, id: chats, dataset: sharegpt, output_len: 4, "
            f"dataset_path: {dataset_path!r}, num_prompts: 2, request_rate: [inf]}}\n"
        )

    processes = Processes(tmp_path)
    jobs = {}
    try:
        processes.start_controller()
        processes.start_agent(AGENT, env={"ARENA_POLICY_FILE": str(policy)})
        with ArenaClient(processes.address, DEV_USER_TOKEN) as client:
            for path in (str(outside), "linked.json", "/dev/zero", "chats.json"):
                run_id, _ = client.submit(suite(path), "datasets.yaml")
                deadline = time.monotonic() + 60
                while not (run := client.run(run_id)).finished and time.monotonic() < deadline:
                    time.sleep(0.3)
                [jobs[path]] = run.jobs
    finally:
        processes.stop_all()
    assert jobs[str(outside)].message == (
        f"{REFUSED}: chats: dataset_path {str(outside)!r} is not under the policy's models_dir"
    )
    assert jobs["linked.json"].message == (
        f"{REFUSED}: chats: dataset_path 'linked.json' leads out of the policy's models_dir "
        "through a link"
    )
    assert jobs["/dev/zero"].message.startswith(f"{REFUSED}: chats: dataset_path '/dev/zero'")
    assert jobs["chats.json"].state == "succeeded", jobs["chats.json"]


def test_a_suite_with_an_infinite_request_rate_runs_and_stops_no_agent(tmp_path: Path) -> None:
    def suite(name: str, rate: str) -> str:
        return (
            f"name: {name}\nmodels: [{{name: m, engine: e}}]\n"
            "engines: {e: {runtime: simulated, decode_step_ms: 1}}\nruns: 1\nbenchmarks:\n"
            "  - {kind: open_loop, id: burst, dataset: random, input_len: 16, output_len: 4, "
            f"num_prompts: 2, request_rate: [{rate}]}}\n"
        )

    processes = Processes(tmp_path)
    states = {}
    try:
        processes.start_controller()
        processes.start_agent(AGENT)
        with ArenaClient(processes.address, DEV_USER_TOKEN) as client:
            rates = {"burst": "inf", "after": "1"}
            runs = {
                name: client.submit(suite(name, rate), "burst.yaml")[0]
                for name, rate in rates.items()
            }
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(
                client.run(run_id).finished for run_id in runs.values()
            ):
                time.sleep(0.3)
            for name, run_id in runs.items():
                [job] = client.run(run_id).jobs
                states[name] = job.state
        assert processes.running[AGENT].poll() is None, "the agent exited"
    finally:
        processes.stop_all()
    assert states == {"burst": "succeeded", "after": "succeeded"}
