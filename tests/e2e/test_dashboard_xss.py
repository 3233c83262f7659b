"""A malicious agent against the dashboard: the progress text it heartbeats reaches every
viewer's run page, so it must show as text and run nothing. Every page also carries a
Content-Security-Policy with no inline script, under which plotly still draws its charts.

A controller with its dashboard runs as a process; the agent is a bare gRPC client holding the
development agent token (what any agent may send); headless Chromium loads the pages.
"""

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from arena.agent.hardware import probe
from arena.client.api import ArenaClient
from arena.common.pb.arena.v2 import agent_pb2, agent_pb2_grpc, common_pb2
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.common.wire import to_message
from tests import browser
from tests.e2e.test_dashboard_browser import ctl
from tests.prerequisites import requires
from tests.support import Processes, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    requires(browser.installed(), browser.NEEDS),
]

REPO = Path(__file__).resolve().parents[2]
PAYLOAD = '<img src=x onerror="document.body.dataset.pwned = 1">'
SUITE = """
name: xss
models:
  - name: sim-xss
    engine: sim
engines:
  sim:
    runtime: simulated
targets:
  - name: box
    agent: evil-agent
runs: 1
benchmarks:
  - kind: closed_loop
    id: chat
    pp: [16]
    tg: [8]
    concurrency: [1]
"""
PAGES = ("/leaderboard", "/capacity", "/pareto", "/compare?model=llama")
"""With the run page of an import, the runs and agents pages: plotly draws on capacity, pareto
and the run page."""
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Processes, str]]:
    processes = Processes(tmp_path_factory.mktemp("xss"))
    address = f"127.0.0.1:{free_port()}"
    try:
        processes.start_controller("--dashboard", address)
        ctl("import", str(REPO / "docs" / "results"), address=processes.address, json_output=False)
        yield processes, f"http://{address}"
    finally:
        processes.stop_all()


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    with browser.chromium() as chromium:
        browser.record_csp_violations(chromium)
        yield chromium


def running_job_with_progress(processes: Processes, benchmark: str, variant: str) -> str:
    """Submit a suite for evil-agent, lease its job as that agent, report it running and
    heartbeat ``benchmark`` and ``variant`` as its progress; the run's id."""
    with ArenaClient(processes.address, DEV_USER_TOKEN) as client:
        run_id, (job_id,) = client.submit(SUITE, "xss.yaml")
    auth = (("authorization", f"Bearer {DEV_AGENT_TOKEN}"),)
    with grpc.insecure_channel(processes.address) as channel:
        agent = agent_pb2_grpc.AgentServiceStub(channel)
        hardware = to_message(probe(), common_pb2.HardwareInfo)
        registered = agent.Register(
            agent_pb2.RegisterRequest(agent_name="evil-agent", hardware=hardware),
            metadata=auth,
            timeout=10,
        )
        lease = agent.LeaseJob(
            agent_pb2.LeaseJobRequest(agent_id=registered.agent_id, wait_s=5),
            metadata=auth,
            timeout=20,
        ).lease
        assert lease.job_id == job_id
        agent.ReportJobStatus(
            agent_pb2.JobStatusRequest(
                agent_id=registered.agent_id,
                job_id=job_id,
                attempt=lease.attempt,
                phase=agent_pb2.JOB_PHASE_RUNNING,
                clock_origin_unix=time.time(),
            ),
            metadata=auth,
            timeout=10,
        )
        progress = common_pb2.JobProgress(
            job_id=job_id,
            attempt=lease.attempt,
            benchmark=benchmark,
            variant=variant,
            run=0,
            requests_done=1,
            requests_total=1,
        )
        agent.Heartbeat(
            agent_pb2.HeartbeatRequest(agent_id=registered.agent_id, running=[progress]),
            metadata=auth,
            timeout=10,
        )
    return run_id


def test_an_agents_progress_text_shows_as_text_and_runs_nothing(
    dashboard: tuple[Processes, str], driver: WebDriver
) -> None:
    processes, base = dashboard
    run_id = running_job_with_progress(processes, "chat", PAYLOAD)
    driver.get(f"{base}/runs/{run_id}")
    position = driver.find_element(By.CSS_SELECTOR, 'tr[data-job] [data-field="position"]')
    # the page polls every second and rewrites the cell from the JSON: three rounds
    polls = driver.execute_script(
        "return performance.getEntriesByType('resource').filter("
        "e => e.name.includes('/api/runs/')).length;"
    )
    WebDriverWait(driver, 30, 0.2).until(
        lambda d: (
            d.execute_script(
                "return performance.getEntriesByType('resource').filter("
                "e => e.name.includes('/api/runs/')).length;"
            )
            >= polls + 3
        )
    )
    assert driver.execute_script("return document.body.dataset.pwned;") is None
    assert position.find_elements(By.TAG_NAME, "img") == []
    assert position.text == f"chat {PAYLOAD} run 0"
    state = driver.find_element(By.CSS_SELECTOR, 'tr[data-job] [data-field="state"] .state')
    assert (state.text, state.get_attribute("class")) == ("running", "state running")
    assert browser.csp_violations(driver) == []
    browser.screenshot(driver, "run-xss")


def test_every_page_sends_the_security_headers_and_draws_under_its_policy(
    dashboard: tuple[Processes, str], driver: WebDriver
) -> None:
    processes, base = dashboard
    runs = ctl("runs", address=processes.address)
    imported = [r["run_id"] for r in runs if r["suite"].startswith("import:")]
    drawn: dict[str, int] = {}
    for path in (*PAGES, f"/runs/{imported[0]}", "/runs", "/agents"):
        with urllib.request.urlopen(f"{base}{path}", timeout=30) as answer:
            headers = answer.headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0], path
        assert {name: headers[name] for name in HEADERS} == HEADERS, path
        driver.get(f"{base}{path}")
        for figure in driver.find_elements(By.CSS_SELECTOR, "[data-figure]"):
            WebDriverWait(driver, 30).until(browser.plot_drawn(figure))
        drawn[path] = len(driver.find_elements(By.CSS_SELECTOR, "[data-figure] .main-svg"))
        name = path.strip("/").split("?")[0].replace("/", "-")
        browser.screenshot(driver, f"csp-{name}")
        assert browser.csp_violations(driver) == [], path
    assert drawn["/capacity"] and drawn["/pareto"] and drawn[f"/runs/{imported[0]}"], drawn
    # the filters' drop-downs submit on change from dashboard.js, not from inline handlers
    driver.get(f"{base}/leaderboard")
    Select(driver.find_element(By.CSS_SELECTOR, 'select[name="preset"]')).select_by_value("batch")
    WebDriverWait(driver, 30).until(lambda d: "preset=batch" in d.current_url)
