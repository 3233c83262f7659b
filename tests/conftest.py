"""Shared fixtures: a real controller on loopback (port 0) over a real SQLite file."""

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog

from arena.common.logging import configure_logging
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.support import ControllerThread

REPO = Path(__file__).resolve().parent.parent

# Controllers started by tests (in-process and as processes) leave port 8080 alone: the tests
# that want a dashboard ask for one on port 0.
os.environ.setdefault("ARENA_DASHBOARD", "off")


@pytest.fixture(autouse=True)
def _logs_to_stderr() -> Iterator[None]:
    """Library logs go to stderr (as in production), so command output stays clean."""
    configure_logging("debug")
    yield
    structlog.reset_defaults()


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return ControllerSettings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "controller",
        heartbeat_interval_s=0.2,
        lease_ttl_s=2.0,
    )


@pytest.fixture
async def controller(controller_settings: ControllerSettings) -> AsyncIterator[Controller]:
    async with Controller(controller_settings) as running:
        yield running


@pytest.fixture
def controller_in_thread(controller_settings: ControllerSettings) -> Iterator[ControllerThread]:
    with ControllerThread(controller_settings) as running:
        yield running
