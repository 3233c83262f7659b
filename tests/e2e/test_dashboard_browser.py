"""The dashboard as a person sees it: a real controller and agent (separate processes), the
published DGX Spark results and docs/results imported, a simulated suite running live, and
headless Chromium loading every view. Numbers on the pages are checked against what
``arenactl ... -o json`` prints; a screenshot of each view goes to test-artifacts/screenshots/.
"""

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from arena.client.api import ArenaClient
from arena.common.analysis.rank import PRESETS
from arena.common.settings import DEV_USER_TOKEN
from tests import browser
from tests.prerequisites import SPARK, SPARK_MISSING, require, requires
from tests.support import BIN, Processes, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    requires(browser.installed(), browser.NEEDS),
]

REPO = Path(__file__).resolve().parents[2]
# ~40 s on the simulated engine: long enough to watch the counters move
LIVE_SUITE = """
name: dashboard-live
models:
  - name: sim-live
    engine: sim
engines:
  sim:
    runtime: simulated
    prefill_tokens_per_s: 20000
    decode_step_ms: 25
    decode_step_ms_per_seq: 0
targets:
  - name: box
    agent: dash-agent
runs: 3
benchmarks:
  - kind: closed_loop
    id: chat
    title: Chat
    pp: [64]
    tg: [48]
    concurrency: [1, 4]
  - kind: open_loop
    id: office
    title: Office
    input_len: 64
    output_len: 24
    num_prompts: 30
    request_rate: [3]
    burstiness: 1.0
    max_concurrency: 8
"""
LIVE_REQUESTS = 3 * (1 + 4) + 3 * 30


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Processes, str]]:
    require(SPARK.is_dir(), SPARK_MISSING)
    processes = Processes(tmp_path_factory.mktemp("dashboard"))
    dashboard = f"127.0.0.1:{free_port()}"
    try:
        processes.start_controller("--dashboard", dashboard)
        processes.start_agent("dash-agent")
        for path in (SPARK, REPO / "docs" / "results"):
            ctl("import", str(path), address=processes.address, json_output=False)
        yield processes, f"http://{dashboard}"
    finally:
        processes.stop_all()


def ctl(*args: str, address: str, json_output: bool = True) -> Any:
    command = [str(BIN / "arenactl"), "--controller", address, *args]
    done = subprocess.run(
        [*command, *(["-o", "json"] if json_output else [])],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads(done.stdout) if json_output else done.stdout


@pytest.fixture(scope="module")
def driver(request: pytest.FixtureRequest) -> Iterator[WebDriver]:
    with browser.chromium() as chromium:
        browser.record_csp_violations(chromium)
        yield chromium
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"dashboard screenshots: {browser.SCREENSHOTS}")


def load(driver: WebDriver, url: str, shot: str) -> None:
    driver.get(url)
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    for figure in driver.find_elements(By.CSS_SELECTOR, "[data-figure]"):  # plotly drew it
        WebDriverWait(driver, 30).until(browser.plot_drawn(figure))
    browser.screenshot(driver, shot)
    assert browser.csp_violations(driver) == [], url  # plotly draws under the page's policy


def cells(driver: WebDriver, selector: str) -> list[list[str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"{selector} tbody tr")
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def stat(value: dict[str, float] | None) -> str:
    """A mean ± std as the dashboard and ``arenactl show`` print it."""
    if value is None or value["mean"] is None:
        return "—"
    if value["n"] > 1 and value["std"] is not None:
        return f"{value['mean']:,.2f} ± {value['std']:,.2f}"
    return f"{value['mean']:,.2f}"


def compared_value(value: dict[str, float] | None) -> str:
    """A value as ``arenactl compare`` prints it (four significant digits under 1)."""
    if value is None or value["mean"] is None:
        return "—"
    style = "{:,.4g}" if abs(value["mean"]) < 1 else "{:,.2f}"
    text = style.format(value["mean"])
    if value["n"] > 1 and value["std"] is not None:
        text += " ± " + style.format(value["std"])
    return text


def requests_done(driver: WebDriver) -> int:
    text = driver.find_element(By.CSS_SELECTOR, 'tr[data-job] [data-field="requests"]').text
    return int(text.split("/")[0])


def submit_live(processes: Processes, tmp_path: Path) -> str:
    suite = tmp_path / "live.yaml"
    suite.write_text(LIVE_SUITE)
    with ArenaClient(processes.address, DEV_USER_TOKEN) as client:
        deadline = time.monotonic() + 30
        while not any(a.status == "online" for a in client.agents()):
            assert time.monotonic() < deadline, processes.log("dash-agent")
            time.sleep(0.2)
        run_id, _ = client.submit(LIVE_SUITE, str(suite))
    return run_id


def wait_finished(processes: Processes, run_id: str) -> None:
    with ArenaClient(processes.address, DEV_USER_TOKEN) as client:
        deadline = time.monotonic() + 240
        while not (detail := client.run(run_id)).finished:
            assert time.monotonic() < deadline, processes.log("dash-agent")
            time.sleep(0.5)
    assert detail.run.state == "succeeded", (detail, processes.log("dash-agent"))


def check_results(driver: WebDriver, shown: dict[str, Any]) -> None:
    """Every variant row of every benchmark shows the numbers ``show -o json`` gives."""
    checked = 0
    for job in shown["jobs"]:
        for bench in job["benchmarks"]:
            table = f'#result-{job["job_id"]} table[data-benchmark="{bench["id"]}"]'
            for variant in bench["variants"]:
                row = driver.find_element(
                    By.CSS_SELECTOR, f'{table} tr[data-variant="{variant["key"]}"]'
                )
                for cell in row.find_elements(By.CSS_SELECTOR, "[data-metric]"):
                    assert cell.text == stat(
                        variant["metrics"].get(cell.get_attribute("data-metric"))
                    )
                    checked += 1
    assert checked > 0


def test_every_view_in_a_browser(
    arena: tuple[Processes, str], driver: WebDriver, tmp_path: Path
) -> None:
    processes, base = arena
    address = processes.address
    live = submit_live(processes, tmp_path)

    # runs list and run page while the run goes on: the counters move without a reload
    load(driver, f"{base}/runs", "runs-live")
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-run="{live}"]')
    assert "simulated" in row.text
    load(driver, f"{base}/runs/{live}", "run-live")
    driver.execute_script("window.arenaNoReload = true;")
    WebDriverWait(driver, 60, 0.2).until(lambda d: 0 < requests_done(d) < LIVE_REQUESTS)
    first = requests_done(driver)
    WebDriverWait(driver, 30, 0.2).until(lambda d: first < requests_done(d) < LIVE_REQUESTS)
    assert driver.execute_script("return window.arenaNoReload === true;")  # polled, not reloaded
    assert (
        driver.find_element(By.CSS_SELECTOR, 'tr[data-job] [data-field="state"]').text == "running"
    )
    browser.screenshot(driver, "run-live-moving")
    wait_finished(processes, live)

    # the run page reloads itself once the run is over, and again until its metrics are
    # stored (they are computed after the success commits), with its results and charts
    WebDriverWait(driver, 30).until(
        lambda d: not d.execute_script("return window.arenaNoReload === true;")
    )
    WebDriverWait(driver, 60, 0.5).until(
        lambda d: d.execute_script(
            "const s = document.querySelector('#summary');"
            "return s !== null && s.dataset.finished === 'true'"
            " && s.dataset.aggregating === 'false';"  # over, metrics stored
        )
    )
    load(driver, f"{base}/runs/{live}", "run-simulated")
    assert "Simulated engine" in driver.find_element(By.TAG_NAME, "main").text
    check_results(driver, ctl("show", live, address=address))
    assert len(driver.find_elements(By.CSS_SELECTOR, ".figure .main-svg")) >= 2

    runs = ctl("runs", "--limit", "1000", address=address)
    load(driver, f"{base}/runs?limit=1000", "runs")
    listed = [r[0].split()[0] for r in cells(driver, "table#runs")]
    assert listed == [run["run_id"] for run in runs]
    assert all("imported" in r[0] for r in cells(driver, "table#runs")[1:])

    agents = ctl("agents", address=address)
    load(driver, f"{base}/agents", "agents")
    (shown_agent,) = cells(driver, "table#agents")
    assert shown_agent[0] == "dash-agent" and shown_agent[1] == "online"
    assert agents[0]["hardware"]["cpu_model"] in shown_agent[4]

    spark = next(
        r["run_id"] for r in runs if r["suite"] == "import:gemma-4/gemma-4-26b-a4b-it/bf16"
    )
    load(driver, f"{base}/runs/{spark}", "run-imported-spark")
    check_results(driver, ctl("show", spark, address=address))

    for preset in PRESETS:
        # the imports are unsigned: ranked only when asked for, on both sides
        ranking = ctl("rank", "--preset", preset, "--include-unverified", address=address)
        page = f"{base}/leaderboard?preset={preset}&unverified=true"
        load(driver, page, f"leaderboard-{preset}")
        expected = [
            [r["place"], r["entry"]["model"], r["entry"]["hardware"], f"{r['score']:,.1f}"]
            for r in ranking["ranked"]
        ]
        # #, rank 95 %, model, profile, engine, hardware, origin, score
        shown = cells(driver, "table#ranking")
        assert [[c[0], c[2], c[5], c[7]] for c in shown] == expected
        excluded = cells(driver, "table#excluded")
        assert len(excluded) == len(ranking["excluded"])
        simulated = [row for row in excluded if row[0] == "sim-live"]
        assert simulated or preset not in ("aggregate", "chat")  # sim-live ran chat
        assert all(row[5].startswith("simulated") for row in simulated)  # labelled (after origin)

    capacity = ctl("capacity", address=address)
    load(driver, f"{base}/capacity", "capacity")
    expected_jobs = {(r["run_id"], r["benchmark"]) for r in capacity}
    assert len(cells(driver, "table#capacity")) == len(expected_jobs) > 0
    for r in capacity:
        if r["point"]:
            cell = driver.find_element(
                By.CSS_SELECTOR,
                f'tr[data-job="{r["job_id"]}"] td[data-limit="{r["limit_ms"]}"] b',
            )
            assert cell.text == f"{r['point']['configured_rps']:,.2f}"

    bench = "06-concurrency-stress"
    points = ctl("pareto", "--benchmark", bench, address=address)
    load(driver, f"{base}/pareto?benchmark={bench}", "pareto")
    shown_points = cells(driver, "table#pareto")
    assert len(shown_points) == len(points) > 0
    frontier = sorted(p["model"] for p in points if p["frontier"])
    assert (
        sorted(row[1].split(" simulated")[0] for row in shown_points if row[0] == "★") == frontier
    )
    load(driver, f"{base}/pareto?benchmark=", "pareto-every-benchmark")

    cpu, h200 = (
        next(r["run_id"] for r in runs if r["suite"] == f"import:{name}/llama-small/transformers")
        for name in ("cpu", "h200")
    )
    for query, args in (
        (f"run={cpu}&run={h200}", [cpu, h200]),
        ("model=llama", ["--model", "llama"]),
    ):
        comparison = ctl("compare", *args, address=address)
        load(driver, f"{base}/compare?{query}", "compare" if args[0] == cpu else "compare-by-model")
        compared = cells(driver, "table#comparison")
        assert len(compared) == len(comparison["rows"]) > 0
        for shown_row, row in zip(compared, comparison["rows"], strict=True):
            shown_cells = shown_row[3:]
            assert [cell.split(" ×")[0].split(" spread")[0] for cell in shown_cells] == [
                compared_value(v) for v in row["values"]
            ]
            for text, spread in zip(shown_cells, row["spreads"], strict=True):
                assert (spread is None) == ("spread" not in text)
                assert spread is None or f"spread ±{spread:.1f} %" in text
        notes = driver.find_elements(By.CSS_SELECTOR, "p.note[data-note]")
        assert len(notes) == len(comparison["notes"])
    load(driver, f"{base}/compare", "compare-empty")

    driver.get(f"{base}/healthz")
    assert json.loads(driver.find_element(By.TAG_NAME, "body").text)["database"] == "reachable"
