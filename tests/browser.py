"""Headless Chromium for the dashboard's browser tests: Debian's chromium and chromium-driver,
driven by selenium, with a fresh profile and nothing reaching outside this machine."""

import base64
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1500,1000",
)


NEEDS = f"{CHROMIUM} and {CHROMEDRIVER} (Debian: apt-get install chromium chromium-driver)"


def installed() -> bool:
    return all(shutil.which(path) is not None for path in (CHROMIUM, CHROMEDRIVER))


@contextmanager
def chromium() -> Iterator[WebDriver]:
    with tempfile.TemporaryDirectory(prefix="arena-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            yield driver
        finally:
            driver.quit()


VIOLATION_RECORDER = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


def record_csp_violations(driver: WebDriver) -> None:
    """From the next page load on, every Content-Security-Policy refusal is kept in
    ``window.cspViolations`` (the recorder is injected by the browser, outside the policy)."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": VIOLATION_RECORDER})


def csp_violations(driver: WebDriver) -> list[str]:
    """What the page's policy refused since it loaded."""
    found: list[str] = driver.execute_script("return window.cspViolations || [];")
    return found


def screenshot(driver: WebDriver, name: str) -> Path:
    """The whole page, beyond the window, as test-artifacts/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width, height = driver.execute_script(
        "const e = document.documentElement; return [e.scrollWidth, e.scrollHeight];"
    )
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, 8000), "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path = SCREENSHOTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def plot_drawn(figure: WebElement) -> Callable[[WebDriver], bool]:
    """A wait condition: plotly drew ``figure`` (its SVG is in the page)."""
    return lambda _: bool(figure.find_elements(By.CSS_SELECTOR, ".main-svg"))
