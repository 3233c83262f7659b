"""Every analysis view answers in JSON, CSV and Markdown with the same rows: aggregate, rank,
capacity, pareto and compare over DGX Spark rows and the committed docs/results rows, imported
into a real controller."""

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from arena.client.cli import cli
from arena.controller.settings import ControllerSettings
from tests.conftest import REPO
from tests.prerequisites import SPARK_MISSING, SPARK_RESULTS, requires
from tests.support import ControllerThread

GEMMA = SPARK_RESULTS / "gemma-4/gemma-4-31b-it"
pytestmark = requires(GEMMA.is_dir(), SPARK_MISSING)

VIEWS: dict[str, tuple[list[str], Callable[[Any], int]]] = {
    "aggregate": (["aggregate"], len),
    "rank": (["rank"], lambda r: len(r["ranked"]) + len(r["excluded"])),
    "capacity": (["capacity"], len),
    "pareto": (["pareto"], len),
    "compare": (["compare", "--model", "gemma-4-31b"], lambda c: len(c["rows"])),
}


def arenactl(server: ControllerThread, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--controller", server.address, *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerThread]:
    settings = ControllerSettings(listen="127.0.0.1:0", data_dir=tmp_path_factory.mktemp("views"))
    with ControllerThread(settings) as running:
        for folder in (GEMMA / "bf16", GEMMA / "nvfp4", REPO / "docs" / "results"):
            arenactl(running, "import", str(folder))
        yield running


@pytest.mark.parametrize("view", list(VIEWS))
def test_a_view_has_the_same_rows_in_json_csv_and_markdown(
    server: ControllerThread, view: str
) -> None:
    args, count = VIEWS[view]
    rows = count(json.loads(arenactl(server, *args, "-o", "json")))
    assert rows > 0
    table = list(csv.reader(io.StringIO(arenactl(server, *args, "-o", "csv"))))
    assert len(table) == rows + 1
    markdown = arenactl(server, *args, "-o", "md")
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(lines) == rows + 2  # header and separator
    assert lines[0] == "| " + " | ".join(table[0]) + " |"
