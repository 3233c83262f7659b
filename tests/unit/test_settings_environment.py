"""A misspelled ``ARENA_*`` variable is named at start instead of silently ignored; the other
program's variables (controller and agent share boxes) and other tools' are left alone."""

import os
import subprocess
import sys
from pathlib import Path

from arena.agent.settings import AgentSettings
from arena.common.settings import misspelled_environment
from arena.controller.settings import ControllerSettings
from tests.conftest import REPO


def test_a_misspelling_is_found_with_the_setting_it_resembles() -> None:
    environ = {
        "ARENA_DATA_DIRR": "/var/lib/arena",  # misspelled
        "ARENA_LOGLEVEL": "debug",  # misspelled
        "ARENA_DATA_DIR": "/var/lib/arena",  # the controller's own
        "ARENA_STATE_DIR": "/var/lib/arena-agent",  # the agent's, on a shared box
        "ARENA_VLLM_VENV": "/opt/vllm",  # another tool's
        "PATH": "/usr/bin",
    }
    assert misspelled_environment(ControllerSettings, environ) == {
        "ARENA_DATA_DIRR": "ARENA_DATA_DIR",
        "ARENA_LOGLEVEL": "ARENA_LOG_LEVEL",
    }
    assert misspelled_environment(
        AgentSettings, {"ARENA_STATE_DIRR": "x", "ARENA_DATA_DIR": "y"}
    ) == {"ARENA_STATE_DIRR": "ARENA_STATE_DIR"}


def test_the_controller_warns_at_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "arena.controller.server", "migrate", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=os.environ | {"ARENA_DATABASE_CONECTIONS": "4"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "unknown_setting_ignored" in output
    assert "ARENA_DATABASE_CONECTIONS" in output and "ARENA_DATABASE_CONNECTIONS" in output
