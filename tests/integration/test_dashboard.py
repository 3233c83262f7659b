"""The dashboard over a real controller (its own event loop, real SQLite, uvicorn on port 0):
every page answers, JSON endpoints match the shared analysis, and writes need a user token."""

import json
import re
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from arena.client.api import ArenaClient
from arena.common.analysis.aggregate import aggregate
from arena.common.analysis.cost import DEFAULT_PER_USER_TPS, entry_costs
from arena.common.analysis.rank import PRESETS, rank, read_models
from arena.common.schemas.user import Role
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.support import BIN, ControllerThread

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "results" / "dgx-spark-sample"
QUEUED_SUITE = """
name: waits
models: [{name: sim, engine: sim}]
engines: {sim: {runtime: simulated}}
targets: [{name: nowhere, agent: no-such-agent}]
benchmarks:
  - {kind: closed_loop, id: chat, title: Chat, pp: [16], tg: [8], concurrency: [1]}
"""
PAGES = ["/runs", "/agents", "/leaderboard", "/capacity", "/pareto", "/compare"]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ControllerThread, str]]:
    settings = ControllerSettings(
        listen="127.0.0.1:0", data_dir=tmp_path_factory.mktemp("dash"), dashboard="127.0.0.1:0"
    )
    with ControllerThread(settings) as running:
        assert running.controller.dashboard_url is not None
        yield running, running.controller.dashboard_url.rstrip("/")


def _lower(headers: Message) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def get(url: str, method: str = "GET", token: str | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(), _lower(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), _lower(error.headers)


def test_health_and_empty_pages(dashboard: tuple[ControllerThread, str]) -> None:
    _, base = dashboard
    status, body, _ = get(f"{base}/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok", "database": "reachable"})
    for page in PAGES:
        status, body, headers = get(base + page)
        assert status == 200, (page, body)
        assert headers["content-type"].startswith("text/html")
        assert headers["server-timing"].startswith("app;dur=")
        assert not re.search(r"""src=["']https?://""", body)  # nothing from outside


def test_pages_over_imported_results(dashboard: tuple[ControllerThread, str]) -> None:
    running, base = dashboard
    subprocess.run(
        [BIN / "arenactl", "--controller", running.address, "import", str(SAMPLE)],
        check=True,
        capture_output=True,
    )
    with ArenaClient(running.address, DEV_USER_TOKEN) as client:
        runs = client.runs(100)
        results = [client.results(run.run_id) for run in runs]
    imported = runs[0].run_id
    status, body, _ = get(f"{base}/runs")
    assert status == 200 and imported in body and "imported" in body
    status, body, _ = get(f"{base}/runs/{imported}")
    assert status == 200 and 'src="/vendor/plotly.min.js"' in body and "data-figure" in body
    for preset in PRESETS:
        status, body, _ = get(f"{base}/api/leaderboard?preset={preset}")
        expected = rank(aggregate(job for r in results for job in r.jobs), preset, {})
        assert json.loads(body) == expected.model_dump(mode="json")
        assert get(f"{base}/leaderboard?preset={preset}")[0] == 200
    for page in ("/capacity", "/pareto", f"/compare?run={imported}&run={imported}"):
        status, body, _ = get(base + page)
        assert status == 200, (page, body)
    status, body, _ = get(f"{base}/api/runs/{imported}")
    assert json.loads(body)["run"]["run_id"] == imported


def test_leaderboard_with_a_models_file_and_weights(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text("models:\n  Qwen/Qwen3.5-0.8B: {memory_gb: 1.6, quality: {mmlu: 30}}\n")
    settings = ControllerSettings(
        listen="127.0.0.1:0", data_dir=tmp_path, dashboard="127.0.0.1:0", models_file=models
    )
    with ControllerThread(settings) as running:
        base = (running.controller.dashboard_url or "").rstrip("/")
        subprocess.run(
            [BIN / "arenactl", "--controller", running.address, "import", str(SAMPLE)],
            check=True,
            capture_output=True,
        )
        with ArenaClient(running.address, DEV_USER_TOKEN) as client:
            jobs = [job for run in client.runs(100) for job in client.results(run.run_id).jobs]
        status, body, _ = get(f"{base}/api/leaderboard?preset=chat&weights=50,40,10")
        energy = entry_costs(jobs, "chat", DEFAULT_PER_USER_TPS, None)
        unsigned = rank(aggregate(jobs), "chat", read_models(models), (50, 40, 10), energy)
        assert status == 200 and json.loads(body) == unsigned.model_dump(mode="json")
        assert unsigned.ranked == []  # the sample is an unsigned import: asked for below
        query = "preset=chat&weights=50,40,10&unverified=true"
        status, body, _ = get(f"{base}/api/leaderboard?{query}")
        energy = entry_costs(jobs, "chat", DEFAULT_PER_USER_TPS, None, True)
        expected = rank(aggregate(jobs, True), "chat", read_models(models), (50, 40, 10), energy)
        assert status == 200 and json.loads(body) == expected.model_dump(mode="json")
        cost = expected.ranked[0].cost  # tokens per kWh where telemetry has power; no price
        assert cost is not None and cost.usd_per_mtok is None
        assert expected.ranked[0].q == 30 and expected.ranked[0].e is not None  # the file's
        assert str(models) in get(f"{base}/leaderboard")[1]
        assert get(f"{base}/api/leaderboard?weights=1,2")[0] == 422


def test_errors_are_plain(dashboard: tuple[ControllerThread, str]) -> None:
    _, base = dashboard
    status, body, headers = get(f"{base}/runs/run-nope")
    assert status == 404 and headers["content-type"].startswith("text/html")
    assert "no run &#39;run-nope&#39;" in body  # a page for a person
    status, body, _ = get(f"{base}/api/runs/run-nope")
    assert (status, json.loads(body)) == (404, {"detail": "no run 'run-nope'"})
    status, body, _ = get(f"{base}/leaderboard?preset=fastest")
    assert status == 422 and "unknown preset &#39;fastest&#39;" in body
    assert get(f"{base}/no/such/page")[0] == 404


def test_plotly_comes_from_the_package(dashboard: tuple[ControllerThread, str]) -> None:
    _, base = dashboard
    status, body, headers = get(f"{base}/vendor/plotly.min.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    assert "plotly.js" in body[:200]


def test_cancel_needs_a_user_token(dashboard: tuple[ControllerThread, str], tmp_path: Path) -> None:
    running, base = dashboard
    suite = tmp_path / "waits.yaml"
    suite.write_text(QUEUED_SUITE)
    with ArenaClient(running.address, DEV_USER_TOKEN) as client:
        run_id, _ = client.submit(QUEUED_SUITE, str(suite))
        cancel = f"{base}/api/runs/{run_id}/cancel"
        status, body, headers = get(cancel, "POST")
        assert status == 401 and headers["www-authenticate"] == "Bearer"
        assert get(cancel, "POST", token="guess")[0] == 403
        assert get(cancel, "GET", token=DEV_USER_TOKEN)[0] == 405  # no write by GET
        # The roles of the gRPC API: a viewer reads only, a submitter cancels its own runs.
        viewer = client.create_user("val", Role.VIEWER)
        submitter = client.create_user("sam", Role.SUBMITTER)
        status, body, _ = get(cancel, "POST", token=viewer)
        assert status == 403 and "needs the submitter role" in body
        status, body, _ = get(cancel, "POST", token=submitter)
        assert status == 403 and "was not submitted by 'sam'" in body
        assert client.run(run_id).run.state == "queued"  # nothing changed
        status, body, _ = get(cancel, "POST", token=DEV_USER_TOKEN)
        assert (status, json.loads(body)) == (200, {"jobs_cancelled": 1})
        assert client.run(run_id).run.state == "cancelled"


async def test_settings_and_a_busy_port(tmp_path: Path) -> None:
    assert ControllerSettings(dashboard="OFF").dashboard_address is None
    assert ControllerSettings(dashboard="0.0.0.0:9000").dashboard_address == ("0.0.0.0", 9000)
    with pytest.raises(ValueError, match="is not HOST:PORT"):
        ControllerSettings(dashboard="8080")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = ControllerSettings(
            listen="127.0.0.1:0", data_dir=tmp_path, dashboard=f"127.0.0.1:{port}"
        )
        with pytest.raises(OSError, match=f"dashboard: cannot listen on 127.0.0.1:{port}"):
            await Controller(settings).start()  # it stops what it started


async def test_dashboard_off(tmp_path: Path) -> None:
    settings = ControllerSettings(listen="127.0.0.1:0", data_dir=tmp_path, dashboard="off")
    async with Controller(settings) as controller:
        assert controller.dashboard is None and controller.dashboard_url is None


def test_every_answer_carries_the_security_headers_and_no_page_inline_script(
    dashboard: tuple[ControllerThread, str],
) -> None:
    """The policy allows the dashboard's own script files only, so a page holds no inline
    script and no event-handler attribute (headless Chromium checks they draw under it:
    tests/e2e/test_dashboard_xss.py)."""
    running, base = dashboard
    with ArenaClient(running.address, DEV_USER_TOKEN) as client:
        runs = [f"/runs/{run.run_id}" for run in client.runs(1)]
    answers = [
        *PAGES,
        *runs,
        "/runs/run-nope",
        "/api/runs",
        "/healthz",
        "/static/dashboard.js",
        "/vendor/plotly.min.js",
        "/no/such/page",
    ]
    for path in answers:
        _, body, headers = get(base + path)
        policy = dict(
            part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";")
        )
        assert policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'", path
        assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "no-referrer", path
        if headers["content-type"].startswith("text/html"):
            for script in re.findall(r"<script\b[^>]*>", body):
                assert "src=" in script or 'type="application/json"' in script, (path, script)
            assert not re.search(r"<[^>]+\son[a-z]+\s*=", body), path
