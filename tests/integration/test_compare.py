"""arenactl compare on the committed H200 and CPU rows: one model, one engine, two boxes."""

import csv
import io
import json

import pytest
from click.testing import CliRunner

from arena.client.cli import cli
from tests.conftest import REPO
from tests.support import ControllerThread


def arenactl(server: ControllerThread, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--controller", server.address, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_compare_aligns_the_same_benchmarks_across_hardware(
    controller_in_thread: ControllerThread,
) -> None:
    arenactl(controller_in_thread, "import", str(REPO / "docs" / "results"))
    runs = json.loads(arenactl(controller_in_thread, "runs", "-o", "json"))
    by_suite = {run["suite"]: run["run_id"] for run in runs}
    cpu = by_suite["import:cpu/llama-small/transformers"]
    h200 = by_suite["import:h200/llama-small/transformers"]
    comparison = json.loads(arenactl(controller_in_thread, "compare", cpu, h200, "-o", "json"))
    assert "CPU" in comparison["columns"][0] and "H200" in comparison["columns"][1]
    rows = {(r["benchmark"], r["variant"], r["metric"]): r for r in comparison["rows"]}
    c1 = rows[("01-chat", "pp51/tg51/d0/c1", "tg t/s")]
    cpu_value, h200_value = (stat["mean"] for stat in c1["values"])
    assert c1["ratio"] == pytest.approx(h200_value / cpu_value)
    assert ("06-office-baseline", "rate6", "out tok/s") in rows


def test_compare_needs_two_runs(controller_in_thread: ControllerThread) -> None:
    result = CliRunner().invoke(cli, ["--controller", controller_in_thread.address,
                                      "compare", "run-one"])  # fmt: skip
    assert result.exit_code != 0
    assert "at least two" in result.output


def test_compare_as_csv_has_the_json_numbers(controller_in_thread: ControllerThread) -> None:
    arenactl(controller_in_thread, "import", str(REPO / "docs" / "results"))
    runs = json.loads(arenactl(controller_in_thread, "runs", "-o", "json"))
    by_suite = {run["suite"]: run["run_id"] for run in runs}
    run_ids = [by_suite[f"import:{box}/llama-small/transformers"] for box in ("cpu", "h200")]
    comparison = json.loads(arenactl(controller_in_thread, "compare", *run_ids, "-o", "json"))
    rows = list(
        csv.DictReader(
            io.StringIO(arenactl(controller_in_thread, "compare", *run_ids, "-o", "csv"))
        )
    )
    assert len(rows) == len(comparison["rows"])
    for json_row, csv_row in zip(comparison["rows"], rows, strict=True):
        key = (json_row["benchmark"], json_row["variant"], json_row["metric"])
        assert (csv_row["benchmark"], csv_row["variant"], csv_row["metric"]) == key
        for run_id, value in zip(run_ids, json_row["values"], strict=True):
            mean = None if value is None else value["mean"]
            assert csv_row[f"{run_id} mean"] == ("" if mean is None else str(mean)), key
        ratio = json_row["ratio"]
        assert csv_row["ratio"] == ("" if ratio is None else str(ratio)), key
