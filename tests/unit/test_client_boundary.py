"""arenactl talks to the controller through the API only: loading every command of the CLI loads
no controller code (no reading its database behind its back) and none of the agent's packages
(the ``agent`` extra), so it installs without them. ``arenactl --version`` loads no command at
all: the heavy libraries stay unloaded (bench/client_startup.py measures the cost)."""

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from arena.client.cli import cli
from arena.client.commands.reading import agents
from arena.client.lazy import LazyGroup
from tests.conftest import REPO


def _loaded_after(program: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{program}\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_the_cli_imports_nothing_of_the_controller() -> None:
    loaded = _loaded_after(
        "import json, sys, click\n"
        "from arena.client.cli import cli\n"
        "with click.Context(cli) as ctx:\n"
        "    for name in cli.list_commands(ctx):\n"
        "        cli.get_command(ctx, name)\n"
    )
    assert "arena.client.export" in loaded
    assert [name for name in loaded if name.startswith("arena.controller")] == []
    assert [name for name in loaded if name.startswith("arena.agent")] == []
    agent_extra = {"aiohttp", "docker", "httptools", "psutil", "pynvml", "tokenizers"}
    assert agent_extra.isdisjoint(name.split(".")[0] for name in loaded)
    store = {"sqlalchemy", "sqlmodel", "alembic"}  # the shared schemas are plain pydantic
    assert store.isdisjoint(name.split(".")[0] for name in loaded)


def test_the_agent_loads_none_of_the_controllers_packages() -> None:
    """``pip install '.[agent]'`` brings no SQLAlchemy, FastAPI, alembic or plotly: the agent
    must not import them."""
    loaded = _loaded_after(
        "import json, sys\nimport arena.agent.main, arena.agent.worker, arena.agent.jobs\n"
    )
    controller_extra = {"sqlalchemy", "sqlmodel", "alembic", "fastapi", "uvicorn", "plotly"}
    assert controller_extra.isdisjoint(name.split(".")[0] for name in loaded)
    assert [name for name in loaded if name.startswith("arena.controller")] == []


def test_the_version_loads_no_command_and_no_heavy_library() -> None:
    loaded = _loaded_after(
        "import json, sys\n"
        "from arena.client.cli import cli\n"
        "try:\n"
        "    cli(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    assert [name for name in loaded if name.startswith("arena.client.commands.")] == []
    heavy = {"sqlalchemy", "sqlmodel", "fastapi", "plotly", "pyarrow", "numpy", "grpc", "structlog"}
    assert heavy.isdisjoint(name.split(".")[0] for name in loaded)


def test_a_command_without_its_extra_names_the_extra_to_install(tmp_path: Path) -> None:
    def without(package: str, *args: str) -> subprocess.CompletedProcess[str]:
        program = (
            f"import sys\nsys.modules[{package!r}] = None\n"  # as if not installed
            "from arena.client.cli import cli\ncli(sys.argv[1:], prog_name='arenactl')\n"
        )
        return subprocess.run(
            [sys.executable, "-c", program, *args], capture_output=True, text=True, cwd=REPO
        )

    report = without("plotly", "report", "--output", str(tmp_path / "report.html"))
    assert report.returncode == 1
    assert "pip install 'arena[report]'" in report.stderr
    parquet = without("pyarrow", "export", "--parquet", "run-x", str(tmp_path))
    assert parquet.returncode == 1
    assert "pip install 'arena[parquet]'" in parquet.stderr


def test_the_help_lists_every_command_without_loading_one() -> None:
    loaded = _loaded_after(
        "import json, sys\n"
        "from arena.client.cli import cli\n"
        "try:\n"
        "    cli(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    assert [name for name in loaded if name.startswith("arena.client.commands.")] == []
    heavy = {"sqlalchemy", "pydantic", "numpy", "grpc", "rich", "structlog"}
    assert heavy.isdisjoint(name.split(".")[0] for name in loaded)


def test_completing_a_command_name_loads_no_command() -> None:
    program = (
        "import json, os, sys\n"
        "os.environ.update(_ARENACTL_COMPLETE='zsh_complete', COMP_WORDS='arenactl r',"
        " COMP_CWORD='1')\n"
        "from arena.client.cli import cli\n"
        "try:\n"
        "    cli(prog_name='arenactl')\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    loaded = _loaded_after(program)
    assert [name for name in loaded if name.startswith("arena.client.commands.")] == []
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    assert "plain\nruns\nList recent runs, newest first.\n" in done.stdout
    assert "plain\nrank\n" in done.stdout


def test_listing_runs_loads_no_result_folder_code() -> None:
    """``arenactl runs`` reads a listing: result-folder parsers, provenance checks and their
    cryptography are for import, export and verify."""
    loaded = _loaded_after(
        "import json, sys\n"
        "from arena.client.cli import cli\n"
        "try:\n"
        "    cli(['--controller', '127.0.0.1:1', 'runs'])\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    assert "arena.client.commands.reading" in loaded
    unneeded = ("arena.common.parsers", "arena.common.provenance", "cryptography", "sqlalchemy")
    assert [name for name in loaded if name.startswith(unneeded)] == []


@pytest.mark.parametrize(
    "arguments",
    [["runs"], ["runs", "--help"], ["show", "run-x"], ["agents"]],
    ids=["runs", "runs --help", "show", "agents"],
)
def test_reading_the_controller_loads_no_metric_maths(arguments: list[str]) -> None:
    """Listings show results the controller computed: NumPy and the metric maths are for the
    results layer, YAML for ``-o yaml`` and suite files (bench/client_startup.py measures the
    cost)."""
    loaded = _loaded_after(
        "import json, sys\n"
        "from arena.client.cli import cli\n"
        "try:\n"
        f"    cli(['--controller', '127.0.0.1:1', *{arguments!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    assert "arena.client.commands.reading" in loaded
    assert "arena.common.metrics.catalogue" in loaded
    maths = ("numpy", "arena.common.stats", "arena.common.metrics.closed_loop", "yaml")
    assert [name for name in loaded if name.startswith(maths)] == []


def test_schemas_build_their_validators_when_first_used() -> None:
    """arena.client.api imports every schema of the API; a command builds the few it reads."""
    program = (
        "import arena.client.api\n"
        "from arena.common.schemas.job import JobSpec\n"
        "from arena.common.schemas.run import RunInfo\n"
        "print(JobSpec.__pydantic_complete__, RunInfo.__pydantic_complete__)\n"
        "RunInfo.model_json_schema()\n"
        "print(RunInfo.__pydantic_complete__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert done.stdout.split() == ["False", "False", "True"]


def test_the_api_client_and_the_wire_load_no_numpy() -> None:
    """Packed chunk times are read and written with the standard library's ``array``: the
    client of the API (and anything speaking the wire) needs no NumPy."""
    loaded = _loaded_after("import json, sys\nimport arena.client.api, arena.common.wire\n")
    assert "numpy" not in loaded


@pytest.mark.parametrize("group", [cli, agents], ids=["arenactl", "agents"])
def test_each_listed_summary_is_the_commands_own_help(group: LazyGroup) -> None:
    """``--help`` shows a summary kept beside each command's name: it reads as the command's
    own short help would at every terminal width."""
    with click.Context(group) as ctx:
        for name, lazy in group.lazy_commands.items():
            command = group.get_command(ctx, name)
            assert command is not None
            listed = click.Command(name, help=lazy.summary)
            for limit in range(20, 400, 7):
                assert listed.get_short_help_str(limit) == command.get_short_help_str(limit), name
