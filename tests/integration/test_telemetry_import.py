"""The imported Spark row gets power and energy from its reference telemetry CSVs, checked
against the files with a deliberately naive reader (not the parsers under test)."""

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.common.schemas.results import JobResult
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.settings import ControllerSettings
from tests.prerequisites import SPARK_MISSING, SPARK_RESULTS, requires
from tests.support import ControllerThread

PROFILE = SPARK_RESULTS / "lfm2.5/lfm2.5-2.6b/bf16"
pytestmark = requires(PROFILE.is_dir(), SPARK_MISSING)


def naive_energy(path: Path) -> tuple[float, float, float, float]:
    """(span s, energy J, mean W, peak W) by the trapezoid rule over the rows with a power."""
    with path.open() as file:
        rows = [
            (float(row["elapsed_s"]), float(row["power_w"]))
            for row in csv.DictReader(file)
            if row["power_w"].strip().replace(".", "", 1).isdigit()
        ]
    energy = 0.0
    for (t0, p0), (t1, p1) in zip(rows, rows[1:], strict=False):
        energy += (t1 - t0) * (p0 + p1) / 2
    span = rows[-1][0] - rows[0][0]
    return span, energy, energy / span, max(p for _, p in rows)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JobResult, str]]:
    settings = ControllerSettings(
        listen="127.0.0.1:0", data_dir=tmp_path_factory.mktemp("telemetry-import")
    )
    with ControllerThread(settings) as server:
        runner = CliRunner()
        result = runner.invoke(
            cli, ["--controller", server.address, "import", str(PROFILE), "-o", "json"]
        )
        assert result.exit_code == 0, result.output
        (run,) = json.loads(result.output)["runs"]
        with ArenaClient(server.address, DEV_USER_TOKEN) as client:
            (job,) = client.results(run["run_id"]).jobs
        shown = runner.invoke(cli, ["--controller", server.address, "show", run["run_id"]])
        assert shown.exit_code == 0, shown.output
        yield job, shown.output


def test_vllm_benchmarks_have_joules_per_output_token(imported: tuple[JobResult, str]) -> None:
    job, _ = imported
    bench = next(b for b in job.benchmarks if b.id == "07-office-baseline")
    tokens = json.loads((PROFILE / "07-office-baseline.json").read_text())["total_output_tokens"]
    span, energy, mean, peak = naive_energy(PROFILE / "07-telemetry.csv")
    figures = bench.energy
    assert figures is not None
    assert figures.window_s == pytest.approx(span)
    assert figures.energy_j == pytest.approx(energy)
    assert figures.mean_power_w == pytest.approx(mean)
    assert figures.peak_power_w == pytest.approx(peak)
    assert figures.output_tokens == tokens
    assert figures.joules_per_output_token == pytest.approx(energy / tokens)
    assert figures.energy_source == "integrated power"
    assert figures.counter_discrepancy_pct is None  # the CSV has no energy counter


def test_llama_benchy_benchmarks_have_power_but_no_per_token_figure(
    imported: tuple[JobResult, str],
) -> None:
    job, _ = imported
    bench = next(b for b in job.benchmarks if b.id == "01-chat")
    span, energy, _, peak = naive_energy(PROFILE / "01-telemetry.csv")
    figures = bench.energy
    assert figures is not None
    assert figures.energy_j == pytest.approx(energy)
    assert figures.peak_power_w == pytest.approx(peak)
    assert figures.output_tokens is None
    assert figures.joules_per_output_token is None
    assert "llama-benchy reports rates" in figures.note


def test_arenactl_show_has_the_energy_table(imported: tuple[JobResult, str]) -> None:
    _, output = imported
    assert "Power and energy per benchmark" in output
    assert "07-office-baseline" in output
