"""The sample result folder shipped in examples/ imports through a real controller, and ``show``
gives back exactly the numbers written in its files."""

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner

from arena.client.cli import cli
from tests.conftest import REPO
from tests.support import ControllerThread

SAMPLE = REPO / "examples" / "results" / "dgx-spark-sample"
PROFILE = SAMPLE / "results" / "qwen-3.5" / "qwen-3.5-0.8b" / "bf16"


def arenactl(server: ControllerThread, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--controller", server.address, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def table_cell(report: str, test: str, column: int) -> tuple[float, float]:
    """``mean ± std`` of one llama-benchy markdown row (columns counted after ``test``)."""
    row = next(
        line for line in report.splitlines() if re.search(rf"\|\s*{re.escape(test)} \|", line)
    )
    mean, std = row.split("|")[3 + column].split("±")
    return float(mean), float(std)


def test_the_sample_folder_stays_small_and_attributed() -> None:
    size = sum(path.stat().st_size for path in SAMPLE.rglob("*") if path.is_file())
    assert size < 1_000_000
    assert "CC BY 4.0" in (SAMPLE / "ATTRIBUTION.md").read_text()
    assert (SAMPLE / "LICENSE").is_file()


def test_the_sample_imports_with_the_files_numbers(controller_in_thread: ControllerThread) -> None:
    report = json.loads(arenactl(controller_in_thread, "import", str(SAMPLE), "-o", "json"))
    assert report["problems"] == []
    (imported,) = report["runs"]
    assert imported["benchmarks"] == 2
    results = json.loads(arenactl(controller_in_thread, "show", imported["run_id"], "-o", "json"))
    (job,) = results["jobs"]
    assert job["model"] == "Qwen/Qwen3.5-0.8B" and job["state"] == "succeeded"
    benchmarks = {bench["id"]: bench for bench in job["benchmarks"]}
    assert set(benchmarks) == {"01-chat", "07-office-baseline"}

    chat = {v["key"]: v["metrics"] for v in benchmarks["01-chat"]["variants"]}
    md = (PROFILE / "01-chat.md").read_text()
    tg_mean, tg_std = table_cell(md, "tg1024 (c5)", 0)
    tg = chat["pp1024/tg1024/d0/c5"]["tg_throughput"]
    assert (tg["mean"], tg["std"], tg["n"]) == (pytest.approx(tg_mean), pytest.approx(tg_std), 3)
    ttfr_mean, _ = table_cell(md, "pp1024 (c10)", 4)
    assert chat["pp1024/tg1024/d0/c10"]["ttfr"]["mean"] == pytest.approx(ttfr_mean)

    vllm = json.loads((PROFILE / "07-office-baseline.json").read_text())
    (office,) = benchmarks["07-office-baseline"]["variants"]
    for key in ("mean_ttft_ms", "p99_itl_ms", "output_throughput", "request_throughput"):
        assert office["metrics"][key]["mean"] == pytest.approx(vllm[key], rel=1e-12), key

    rows = csv.DictReader(
        io.StringIO(arenactl(controller_in_thread, "show", imported["run_id"], "-o", "csv"))
    )
    by_key = {(r["benchmark"], r["variant"], r["metric"]): r for r in rows}
    row = by_key[("07-office-baseline", office["key"], "mean_ttft_ms")]
    assert float(row["mean"]) == pytest.approx(vllm["mean_ttft_ms"], rel=1e-12)
