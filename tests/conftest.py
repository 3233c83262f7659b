"""Shared fixtures: a real controller on loopback (port 0) over a real database: a SQLite
file, or a fresh PostgreSQL database with ``--database postgres`` (tests/databases.py).
Tests marked ``backends`` run on both."""

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
import structlog

from arena.common.logging import configure_logging
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.databases import BACKENDS, postgres_database
from tests.prerequisites import check_marks
from tests.support import ControllerThread

REPO = Path(__file__).resolve().parent.parent

# Controllers started by tests (in-process and as processes) leave port 8080 alone: the tests
# that want a dashboard ask for one on port 0.
os.environ.setdefault("ARENA_DASHBOARD", "off")
os.environ.setdefault("ARENA_CALIBRATE_CLIENT", "false")  # 3 s per agent start; tests opt in
# this shared test box stalls every client now and then: tests of other things keep their
# results valid (flagged); tests of the client verdict set it back (test_client_load.py)
os.environ.setdefault("ARENA_ACCEPT_SATURATED_CLIENTS", "true")


@pytest.fixture(autouse=True)
def _logs_to_stderr() -> Iterator[None]:
    """Library logs go to stderr (as in production), so command output stays clean."""
    configure_logging("debug")
    yield
    structlog.reset_defaults()


def pytest_runtest_setup(item: pytest.Item) -> None:
    check_marks(item)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=BACKENDS,
        default="sqlite",
        help="the controllers' database in tests not marked 'backends' (those run on both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("backends"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", request.config.getoption("--database")))


@pytest.fixture
def database_url(backend: str) -> Iterator[str | None]:
    """A fresh PostgreSQL database's URL; None for the controller's own SQLite file."""
    with postgres_database() if backend == "postgres" else nullcontext() as url:
        yield url


@pytest.fixture
def store_url(backend: str, database_url: str | None, tmp_path: Path) -> str:
    """A database URL for tests that use the store without a controller."""
    return database_url or f"sqlite:///{tmp_path / 'arena.db'}"


@pytest.fixture
def controller_settings(tmp_path: Path, database_url: str | None) -> ControllerSettings:
    return ControllerSettings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "controller",
        database_url=database_url,
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
