"""Collects one row per injected fault and prints the table at the end of the run."""

from typing import Any

import pytest

REPORT: list[dict[str, Any]] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not REPORT:
        return
    terminalreporter.section("fault injection")
    header = ("fault", "times", "generated", "stored", "duplicates", "recovery s", "job")
    terminalreporter.write_line(" | ".join(header))
    for row in REPORT:
        terminalreporter.write_line(" | ".join(str(row[key]) for key in header))


@pytest.fixture
def report() -> list[dict[str, Any]]:
    return REPORT
