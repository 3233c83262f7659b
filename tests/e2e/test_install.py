"""A user's install: ``pip install arena`` into a fresh virtual environment gives arenactl alone,
without the controller's or the agent's packages; the ``controller`` extra adds the controller
(its schema migrations included) without PostgreSQL's driver; importing the agent or the
controller without its extra, or naming a PostgreSQL database, says which extra to add."""

import sqlite3
import subprocess
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # pip installs into a new venv

AGENT_EXTRA = ("aiohttp", "docker", "httptools", "psutil", "nvidia-ml-py", "tokenizers")
CONTROLLER_EXTRA = ("fastapi", "uvicorn", "alembic", "plotly", "jinja2", "orjson", "pyarrow")


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
    assert [name for name in CONTROLLER_EXTRA if f"{name}==" in installed] == []
    version = run(tmp_path / "env" / "bin" / "arenactl", "--version")
    assert "arenactl, version" in version.stdout
    plan = run(tmp_path / "env" / "bin" / "arenactl", "validate", REPO / "examples" / "demo.yaml")
    assert "arena-sim-1b" in plan.stdout
    controller_import = run(python, "-c", "import arena.controller.server", check=False)
    assert "pip install 'arena[controller]'" in controller_import.stderr

    run(python, "-m", "pip", "install", "--quiet", f"{REPO}[controller]")
    installed = run(python, "-m", "pip", "list", "--format=freeze").stdout.lower()
    run(python, "-c", "import arena.controller.server")
    # the schema's revisions ship inside the package, not only in the checkout
    controller = tmp_path / "env" / "bin" / "arena-controller"
    run(controller, "migrate", "--data-dir", tmp_path / "data")
    with sqlite3.connect(tmp_path / "data" / "arena.db") as database:
        assert database.execute("SELECT version_num FROM alembic_version").fetchall()
    assert "psycopg" not in installed  # PostgreSQL's driver is the 'postgres' extra
    postgres = run(
        controller, "migrate", "--database-url", "postgresql+psycopg://x@127.0.0.1/x", check=False
    )
    assert postgres.returncode != 0 and "install arena[postgres]" in postgres.stderr

    agent = run(python, "-c", "import arena.agent.main", check=False)
    assert agent.returncode != 0
    assert "pip install 'arena[agent]'" in agent.stderr
