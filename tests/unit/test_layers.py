"""The layers import one way (docs/development.md): arena.common imports no program, the agent
and arenactl no controller code (arenactl bench embeds both), and inside the controller each
layer only those below it. The contracts are import-linter's, in pyproject.toml; ``make check``
runs them too, this test keeps them under ``make test``."""

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from arena.common.settings import SETTINGS_ENTRY_POINTS
from tests.conftest import REPO


def test_every_layer_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(lint_imports), "--no-cache"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_programs_settings_are_found_without_arena_common_importing_them() -> None:
    """arena.common.settings knows the other programs' variables from entry points, so the
    shared layer names no program."""
    found = {entry.name: entry.value for entry in entry_points(group=SETTINGS_ENTRY_POINTS)}
    assert found == {
        "controller": "arena.controller.settings:ControllerSettings",
        "agent": "arena.agent.settings:AgentSettings",
    }
    source = (REPO / "shared" / "arena" / "common" / "settings.py").read_text()
    assert "arena.controller" not in source and "arena.agent" not in source
