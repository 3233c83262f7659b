"""What a test needs from the machine: the reference fixtures (a subset ships in
``tests/data``), Chromium, Docker, PostgreSQL, root. Without one a test skips on a developer's
machine, and fails under ``CI=true``: .ci/run provides them all, so a CI run never goes green by
quietly skipping."""

import functools
import os
import shutil
from pathlib import Path

import docker
import pytest
from docker.errors import DockerException

REPO = Path(__file__).resolve().parent.parent
# The published DGX Spark results (CC BY 4.0): the subset in tests/data that the tests read,
# unless ARENA_TEST_FIXTURES names a folder holding another (the full set, say).
FIXTURES = Path(os.environ.get("ARENA_TEST_FIXTURES", REPO / "tests" / "data"))
SPARK = FIXTURES / "dgx-spark-benchmarks"
SPARK_RESULTS = SPARK / "results"
SPARK_MISSING = f"the reference fixtures ({SPARK}; ARENA_TEST_FIXTURES names another folder)"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def require(met: bool, what: str) -> None:
    """Skip the calling test when ``what`` is missing (``met`` false); fail it under CI=true."""
    if met:
        return
    if in_ci():
        pytest.fail(f"missing: {what}; CI must provide it (.ci/run)", pytrace=False)
    pytest.skip(f"missing: {what}")


def requires(met: bool, what: str) -> pytest.MarkDecorator:
    """``require`` as a mark, for one test or a module's ``pytestmark``: checked when each test
    is set up (tests/conftest.py)."""
    return pytest.mark.prerequisite(met, what)


def check_marks(item: pytest.Item) -> None:
    """Apply an item's ``prerequisite`` marks, and ``docker``'s need for a daemon."""
    for mark in item.iter_markers("prerequisite"):
        require(*mark.args)
    if item.get_closest_marker("docker") is not None:
        require(docker_running(), "a Docker daemon (docker.io, dockerd running)")


def is_root() -> bool:
    return os.geteuid() == 0


def installed(command: str) -> bool:
    return shutil.which(command) is not None


@functools.cache
def docker_running() -> bool:
    try:
        client = docker.from_env(timeout=10)
    except DockerException:
        return False
    try:
        return bool(client.ping())
    except DockerException:
        return False
    finally:
        client.close()
