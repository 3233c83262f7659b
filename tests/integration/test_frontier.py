"""``arenactl capacity`` and ``arenactl pareto`` on the published DGX Spark set, imported into a
real controller; expectations read from the source files with naive readers of their own."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.common.analysis.capacity import capacity_by_slo, capacity_rows
from arena.common.metrics.validity import MAX_ERROR_RATE
from arena.common.schemas.imported import SweepStep
from arena.common.schemas.results import RunResults
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.settings import ControllerSettings
from tests.data.edges.make import failed_sweep, failing_step
from tests.prerequisites import SPARK_MISSING, SPARK_RESULTS, requires
from tests.support import ControllerThread

pytestmark = requires(SPARK_RESULTS.is_dir(), SPARK_MISSING)

SUMMARIES = sorted(SPARK_RESULTS.glob("*/*/*/11-rate-sweep.json"))
LFM = SPARK_RESULTS / "lfm2.5/lfm2.5-2.6b/bf16"


def arenactl(server: ControllerThread, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--controller", server.address, *args])


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerThread]:
    settings = ControllerSettings(
        listen="127.0.0.1:0", data_dir=tmp_path_factory.mktemp("frontier-controller")
    )
    with ControllerThread(settings) as running:
        assert arenactl(running, "import", str(SPARK_RESULTS.parent)).exit_code == 0
        yield running


@pytest.fixture(scope="module")
def runs(server: ControllerThread) -> dict[str, RunResults]:
    """Per profile folder (``lfm2.5/lfm2.5-2.6b/bf16``), the imported run."""
    with ArenaClient(server.address, DEV_USER_TOKEN) as client:
        shown = [client.results(run.run_id) for run in client.runs(100)]
    found = {}
    for run in shown:
        (job,) = run.jobs
        assert job.imported is not None
        found[job.imported.source.removeprefix("results/")] = run
    return found


def profile_of(summary: Path) -> str:
    return summary.parent.relative_to(SPARK_RESULTS).as_posix()


@pytest.mark.parametrize("summary", SUMMARIES, ids=profile_of)
def test_the_rule_reproduces_every_published_capacity_table(summary: Path) -> None:
    document = json.loads(summary.read_text())
    steps = [SweepStep.model_validate(step) for step in document["steps"]]
    computed = capacity_by_slo(steps)
    shown = {k: p.model_dump() if p else None for k, p in computed.items()}
    assert shown == document["capacity_by_slo_ms"]


def test_hand_read_capacities() -> None:
    """lfm2.5-2.6b stays under 2 s up to the top step (p95 1356.9 ms at 1 req/s); qwen-3.8-27b's
    lowest step already has a p95 of 16.4 s, so no limit is met."""
    lfm = json.loads((LFM / "11-rate-sweep.json").read_text())
    points = capacity_by_slo([SweepStep.model_validate(s) for s in lfm["steps"]])
    assert {k: p and (p.configured_rps, p.achieved_rps) for k, p in points.items()} == {
        "2000": (1.0, 0.909),
        "5000": (1.0, 0.909),
        "10000": (1.0, 0.909),
    }
    qwen = json.loads((SPARK_RESULTS / "qwen-3.8/qwen-3.8-27b/bf16/11-rate-sweep.json").read_text())
    assert capacity_by_slo([SweepStep.model_validate(s) for s in qwen["steps"]]) == {
        "2000": None,
        "5000": None,
        "10000": None,
    }


def test_a_measured_sweeps_capacity_agrees_with_the_published_one(
    runs: dict[str, RunResults],
) -> None:
    """The same jobs read as if measured (their rate variants hold the step files' vLLM
    numbers): capacity from the variants equals the published table, up to its rounding."""
    for summary in SUMMARIES:
        run = runs[profile_of(summary)]
        as_measured = run.model_copy(
            update={"jobs": [run.jobs[0].model_copy(update={"imported": None})]}
        )
        rows = capacity_rows([as_measured], MAX_ERROR_RATE)
        published = json.loads(summary.read_text())["capacity_by_slo_ms"]
        assert [row.limit_ms for row in rows] == [2000.0, 5000.0, 10000.0], summary
        for row in rows:
            assert row.source == "measured"
            expected = published[f"{row.limit_ms:.0f}"]
            if expected is None:
                assert (row.point, row.status) == (None, "none"), summary
                continue
            assert row.point is not None and row.status == "ok", summary
            assert row.point.configured_rps == expected["configured_rps"]
            assert row.point.achieved_rps == pytest.approx(expected["achieved_rps"], abs=5e-4)
            assert row.point.ttft_p95_ms == pytest.approx(expected["ttft_p95_ms"], abs=0.05)
            assert row.point.output_tps == pytest.approx(expected["output_tps"], abs=0.05)


def test_arenactl_capacity_shows_every_published_table(
    server: ControllerThread, runs: dict[str, RunResults]
) -> None:
    rows = as_json(arenactl(server, "capacity", "-o", "json"))
    assert len(rows) == 3 * len(SUMMARIES)
    by_run: dict[str, dict[float, dict[str, Any]]] = {}
    for row in rows:
        by_run.setdefault(row["run_id"], {})[row["limit_ms"]] = row
    for summary in SUMMARIES:
        document = json.loads(summary.read_text())
        shown = by_run[runs[profile_of(summary)].run_id]
        for limit, point in document["capacity_by_slo_ms"].items():
            row = shown[float(limit)]
            assert (row["source"], row["simulated"]) == ("published", False)
            assert row["point"] == point
            assert row["status"] == ("ok" if point else "none")
            stopped = document.get("aborted_at_rps")
            assert ("a lower bound" in row["note"]) == (stopped is not None)
    assert as_json(arenactl(server, "capacity", "--hardware", "H200", "-o", "json")) == []
    spark = as_json(arenactl(server, "capacity", "--hardware", "dgx spark", "-o", "json"))
    assert len(spark) == len(rows)
    table = arenactl(server, "capacity")
    assert table.exit_code == 0 and "none" in table.output and "published" in table.output
    assert "concurrent agents" not in table.output  # no session benchmark: no agents' table
    assert as_json(arenactl(server, "capacity", "--agents", "-o", "json")) == []
    csv_lines = arenactl(server, "capacity", "-o", "csv").output.splitlines()
    assert csv_lines[0].startswith("run,job,model") and len(csv_lines) == len(rows) + 1


def test_capacity_of_a_failed_sweep_and_of_one_with_a_step_over_the_gate(
    tmp_path: Path, server: ControllerThread
) -> None:
    report = as_json(
        arenactl(server, "import", str(failed_sweep(SPARK_RESULTS, tmp_path)), "-o", "json")
    )
    failed = as_json(arenactl(server, "capacity", report["runs"][0]["run_id"], "-o", "json"))
    assert [row["status"] for row in failed] == ["failed"] * 3
    assert all(row["point"] is None for row in failed)
    assert all("server is weg" in row["note"] for row in failed)
    report = as_json(
        arenactl(server, "import", str(failing_step(SPARK_RESULTS, tmp_path)), "-o", "json")
    )
    gated = as_json(arenactl(server, "capacity", report["runs"][0]["run_id"], "-o", "json"))
    # gpt-oss-20b's 1 req/s step lost 40 % of its requests; the next steps down are 0.3 (p95
    # under 2 s) and 0.7 req/s (under 5 and 10 s), as test_import_edges reads them.
    assert [row["point"]["configured_rps"] for row in gated] == [0.3, 0.7, 0.7]
    assert all("left out: 1 req/s" in row["note"] for row in gated)


def benchy_tg_rows(path: Path) -> dict[int, tuple[float, float]]:
    """Concurrency → (t/s (total), t/s (req)) of the tg rows of a llama-benchy table."""
    found = {}
    for line in path.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        test = re.fullmatch(r"tg\d+(?: @ d\d+)? \(c(\d+)\)", cells[1]) if len(cells) > 3 else None
        if test:
            found[int(test.group(1))] = (float(cells[2].split()[0]), float(cells[3].split()[0]))
    return found


def test_pareto_of_a_concurrency_sweep(
    server: ControllerThread, runs: dict[str, RunResults]
) -> None:
    """lfm2.5-2.6b's 01-chat: c1 (32.26, 32.26), c5 (197.17, 39.80), c10 (369.81, 37.87): c5
    has the best per-user speed, c10 the best total; c1 is beaten by c5 on both."""
    run = runs["lfm2.5/lfm2.5-2.6b/bf16"]
    points = as_json(arenactl(server, "pareto", run.run_id, "--benchmark", "01-chat", "-o", "json"))
    expected = benchy_tg_rows(LFM / "01-chat.md")
    assert expected[5] == (197.17, 39.80)
    energy = next(b.energy for b in run.jobs[0].benchmarks if b.id == "01-chat")
    assert energy is not None and energy.mean_power_w
    shown = {}
    for point in points:
        concurrency = int(point["variant"].rsplit("/c", 1)[1])
        shown[concurrency] = (point["output_tps"], point["user_tps"])
        assert point["gpus"] == 1 and point["output_tps_per_gpu"] == point["output_tps"]
        assert point["output_tps_per_w"] == pytest.approx(point["output_tps"] / energy.mean_power_w)
    assert shown == expected
    assert {p["variant"].rsplit("/", 1)[1] for p in points if p["frontier"]} == {"c5", "c10"}


def test_pareto_of_a_rate_sweep(server: ControllerThread, runs: dict[str, RunResults]) -> None:
    run = runs["lfm2.5/lfm2.5-2.6b/bf16"]
    points = as_json(
        arenactl(server, "pareto", run.run_id, "--benchmark", "11-rate-sweep", "-o", "json")
    )
    expected = {}
    for step in LFM.glob("11-rate-sweep-*.json"):
        result = json.loads(step.read_text())
        expected[f"rate{result['request_rate']:g}"] = (
            result["output_throughput"],
            1000.0 / result["mean_tpot_ms"],
        )
    shown = {p["variant"]: (p["output_tps"], p["user_tps"]) for p in points}
    assert shown.keys() == expected.keys()
    for key, (x, y) in expected.items():
        assert shown[key] == (pytest.approx(x), pytest.approx(y))
    on_frontier = {
        key
        for key, (x, y) in expected.items()
        if not any(ox >= x and oy >= y and (ox, oy) != (x, y) for ox, oy in expected.values())
    }
    assert {p["variant"] for p in points if p["frontier"]} == on_frontier
    csv_lines = arenactl(server, "pareto", run.run_id, "-o", "csv").output.splitlines()
    assert csv_lines[0].startswith("run,job,model") and len(csv_lines) > len(points) + 1
