"""The report's agentic section in headless Chromium: written from a hand-built run with
session benchmarks, opened offline, every agentic figure drawn by plotly and the capacity table
showing the view's cells."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from arena.client.report.build import build
from arena.client.report.fetch import ReportData, Selection
from arena.client.report.write import write
from arena.common.analysis.agent_capacity import agent_capacity_rows
from arena.common.views.frontier import AGENT_CAPACITY
from tests import browser
from tests.agentic_results import AGENTIC, PLAIN
from tests.prerequisites import requires

pytestmark = [pytest.mark.timeout(300), requires(browser.installed(), browser.NEEDS)]


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    with browser.chromium() as chromium:
        yield chromium


def test_the_reports_agentic_section_draws_in_a_browser(driver: WebDriver, tmp_path: Path) -> None:
    data = ReportData(selection=Selection(), results=[AGENTIC, PLAIN], samples={}, telemetry={})
    page = tmp_path / "report.html"
    write(build(data, {}), page, ["arenactl", "report"])
    driver.get(page.as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    section = driver.find_element(By.ID, "agentic")
    figures = section.find_elements(By.CSS_SELECTOR, "[data-figure]")
    assert len(figures) == 4  # SLO per step and TTFT by turn, for both session benchmarks
    for figure in figures:  # the page draws a figure as it scrolls into view
        driver.execute_script("arguments[0].scrollIntoView();", figure)
        WebDriverWait(driver, 30).until(browser.plot_drawn(figure))
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
