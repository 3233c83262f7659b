"""The agentic sections in headless Chromium: the report's, written from a hand-built run with
session benchmarks and opened offline, and the dashboard run page's, of a session benchmark run
by a real agent on the simulated engine; every agentic figure drawn by plotly (under the
dashboard's content policy) and the capacity table showing the view's cells."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from arena.agent.settings import AgentSettings
from arena.client.report.build import build
from arena.client.report.fetch import ReportData, Selection
from arena.client.report.write import write
from arena.common.analysis.agent_capacity import agent_capacity_rows
from arena.common.views.frontier import AGENT_CAPACITY
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests import browser
from tests.agentic_results import AGENTIC, PLAIN
from tests.direct_job import lease_one_job, long_leases, run_leased
from tests.integration.test_agentic_views import BOX, SUITE
from tests.prerequisites import requires

pytestmark = [pytest.mark.timeout(300), requires(browser.installed(), browser.NEEDS)]


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    with browser.chromium() as chromium:
        browser.record_csp_violations(chromium)
        yield chromium


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    settings = long_leases(tmp_path / "agentic-browser")
    return settings.model_copy(update={"dashboard": "127.0.0.1:0"})


def drawn(driver: WebDriver, section: WebElement) -> list[WebElement]:
    """The section's figures, each scrolled to and drawn by plotly."""
    figures = section.find_elements(By.CSS_SELECTOR, "[data-figure]")
    for figure in figures:
        driver.execute_script("arguments[0].scrollIntoView();", figure)
        WebDriverWait(driver, 30).until(browser.plot_drawn(figure))
    return figures


def test_the_reports_agentic_section_draws_in_a_browser(driver: WebDriver, tmp_path: Path) -> None:
    data = ReportData(selection=Selection(), results=[AGENTIC, PLAIN], samples={}, telemetry={})
    page = tmp_path / "report.html"
    write(build(data, {}), page, ["arenactl", "report"])
    driver.get(page.as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    section = driver.find_element(By.ID, "agentic")
    # capacity bars, then SLO per step and TTFT by turn of both session benchmarks; each
    # drawn as it scrolls in
    assert len(drawn(driver, section)) == 5
    rows = section.find_elements(By.CSS_SELECTOR, "table.agent-capacity tbody tr")
    shown = [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    expected = [
        [cell.text + (f" {cell.mark}" if cell.mark else "") for cell in AGENT_CAPACITY.cells(r)]
        for r in agent_capacity_rows([AGENTIC])
    ]
    assert [row[:9] for row in shown] == [row[:9] for row in expected]
    slo = section.find_element(By.CSS_SELECTOR, '[data-figure="slo-01-coding-agent"]')
    legend = slo.find_elements(By.CSS_SELECTOR, ".legendtext")
    assert {text.text.rsplit(" · ", 1)[-1] for text in legend} == {"agent", "interactive"}
    browser.screenshot(driver, "report-agentic")


async def test_the_run_pages_agentic_section_draws_in_a_browser(
    controller: Controller, driver: WebDriver, tmp_path: Path
) -> None:
    link, lease, run_id = await lease_one_job(controller, SUITE, "gpu-box", BOX)
    settings = AgentSettings(state_dir=tmp_path / "agent", name="gpu-box")
    await run_leased(link, lease, settings)
    assert controller.dashboard_url is not None
    url = f"{controller.dashboard_url.rstrip('/')}/runs/{run_id}"
    # the controller serves the page from this event loop: the browser is driven beside it
    await asyncio.to_thread(check_run_page, driver, url)


def check_run_page(driver: WebDriver, url: str) -> None:
    driver.get(url)
    # the page reloads itself until the controller has stored the run's metrics
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "agentic"))
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    section = driver.find_element(By.ID, "agentic")
    names = [figure.get_attribute("data-figure") for figure in drawn(driver, section)]
    assert names == ["slo-01-chat-sessions", "turns-01-chat-sessions"]
    rows = section.find_elements(By.CSS_SELECTOR, "#agent-capacity tbody tr")
    assert [row.find_elements(By.TAG_NAME, "td")[6].text for row in rows] == ["agent", "instant"]
    assert browser.csp_violations(driver) == []
    browser.screenshot(driver, "run-agentic")
