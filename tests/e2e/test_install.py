"""A user's install: ``pip install arena`` into a fresh virtual environment gives arenactl and the
controller without the agent's packages; importing the agent then says which extra to add."""

import subprocess
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

AGENT_EXTRA = ("aiohttp", "docker", "httptools", "psutil", "nvidia-ml-py", "tokenizers")


def run(*command: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=check, timeout=600
    )


def test_the_base_install_runs_arenactl_without_the_agent_extra(tmp_path: Path) -> None:
    venv.create(tmp_path / "env", with_pip=True)
    python = tmp_path / "env" / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", str(REPO))

    installed = run(python, "-m", "pip", "list", "--format=freeze").stdout.lower()
    assert [name for name in AGENT_EXTRA if f"{name}==" in installed] == []
    version = run(tmp_path / "env" / "bin" / "arenactl", "--version")
    assert "arenactl, version" in version.stdout
    plan = run(tmp_path / "env" / "bin" / "arenactl", "validate", REPO / "examples" / "demo.yaml")
    assert "arena-sim-1b" in plan.stdout
    run(python, "-c", "import arena.controller.server")

    agent = run(python, "-c", "import arena.agent.main", check=False)
    assert agent.returncode != 0
    assert "pip install 'arena[agent]'" in agent.stderr
