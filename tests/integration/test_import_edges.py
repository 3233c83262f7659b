"""Imports at the edges, into a real controller: a rate sweep that failed before its first
step, a benchmark where half the requests failed, a sweep step over the error-rate gate,
speculative-decoding counters and a telemetry cell of ``[N/A]``."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from arena.client.cli import cli
from arena.controller.settings import ControllerSettings
from tests.data.edges.make import SPEC_DECODE, failed_sweep, failing_step
from tests.prerequisites import SPARK_MISSING, SPARK_RESULTS, requires
from tests.support import ControllerThread

pytestmark = requires(SPARK_RESULTS.is_dir(), SPARK_MISSING)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerThread]:
    settings = ControllerSettings(listen="127.0.0.1:0", data_dir=tmp_path_factory.mktemp("ctl"))
    with ControllerThread(settings) as running:
        yield running


def arenactl(server: ControllerThread, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--controller", server.address, *args])


def imported(server: ControllerThread, folder: Path) -> tuple[dict[str, Any], str]:
    """The import report (json) and the run id it made."""
    result = arenactl(server, "import", str(folder), "-o", "json")
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    (run,) = report["runs"]
    return report, run["run_id"]


def job(server: ControllerThread, run_id: str) -> dict[str, Any]:
    result = arenactl(server, "show", run_id, "-o", "json")
    assert result.exit_code == 0, result.output
    (found,) = json.loads(result.stdout)["jobs"]
    return dict(found)


def benchmark(shown: dict[str, Any], bench_id: str) -> dict[str, Any]:
    (found,) = [b for b in shown["benchmarks"] if b["id"] == bench_id]
    return dict(found)


@pytest.fixture(scope="module")
def failed(server: ControllerThread, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = failed_sweep(SPARK_RESULTS, tmp_path_factory.mktemp("edges"))
    report, run_id = imported(server, folder)
    return {"report": report, "run_id": run_id, "job": job(server, run_id)}


def test_a_sweep_without_steps_is_failed_with_the_runner_logs_reason(
    server: ControllerThread, failed: dict[str, Any]
) -> None:
    sweep = failed["job"]["imported"]["rate_sweep"]
    assert sweep["failed"] == "server is weg, sweep afgebroken bij rate 1.0"
    sweep_bench = benchmark(failed["job"], "11-rate-sweep")
    assert sweep_bench["variants"] == [] and not sweep_bench["valid"]
    assert sweep_bench["flags"] == ["failed: server is weg, sweep afgebroken bij rate 1.0"]
    shown = arenactl(server, "show", failed["run_id"]).output
    assert "sweep failed: server is weg" in shown and "11-rate-sweep Rate sweep FAILED" in shown
    assert "none" not in shown.split("Capacity under p95 TTFT limits")[1].split("Telemetry")[0]
    assert shown.count("failed") >= 3


def test_the_failed_sweeps_telemetry_is_imported_without_a_problem(failed: dict[str, Any]) -> None:
    problems = [p["message"] for p in failed["report"]["problems"]]
    assert not any("no benchmark results numbered 11" in p for p in problems)
    assert len(failed["job"]["imported"]["telemetry"]["11-rate-sweep"]) > 0


def test_a_not_available_telemetry_cell_is_kept_empty_and_reported(
    failed: dict[str, Any],
) -> None:
    problems = {(p["file"], p["message"]) for p in failed["report"]["problems"]}
    assert any(
        file.endswith("01-telemetry.csv") and message.startswith("power_w: 1 row(s) without")
        for file, message in problems
    )
    rows = failed["job"]["imported"]["telemetry"]["01-chat"]
    assert rows[1]["power_w"] is None and rows[1]["temp_c"] is not None


def test_speculative_decoding_counters_are_kept_and_shown(
    server: ControllerThread, failed: dict[str, Any]
) -> None:
    (variant,) = benchmark(failed["job"], "08-sharegpt")["variants"]
    assert {key: variant["metrics"][key]["mean"] for key in SPEC_DECODE} == SPEC_DECODE
    shown = arenactl(server, "show", failed["run_id"]).output
    assert "speculative decoding: acceptance 62.5 % · 2.88 tokens per step" in shown


def test_half_the_requests_failed_is_invalid(
    server: ControllerThread, failed: dict[str, Any]
) -> None:
    reasoning = benchmark(failed["job"], "09-reasoning")
    assert not reasoning["valid"] and reasoning["failed_share"] == 0.5
    assert reasoning["flags"] == ["invalid: 25 of 50 requests failed (50% > 10%)"]
    invalid = [b["id"] for b in failed["job"]["benchmarks"] if not b["valid"]]
    assert invalid == ["09-reasoning", "11-rate-sweep"]  # the sweep failed outright
    shown = arenactl(server, "show", failed["run_id"]).output
    assert "09-reasoning" in shown and "INVALID" in shown


def test_capacity_leaves_out_a_step_over_the_gate(server: ControllerThread, tmp_path: Path) -> None:
    _, run_id = imported(server, failing_step(SPARK_RESULTS, tmp_path))
    sweep = job(server, run_id)["imported"]["rate_sweep"]
    assert sweep["excluded_rps"] == [1.0]
    capacity = {
        limit: point and point["configured_rps"]
        for limit, point in sweep["capacity_by_slo_ms"].items()
    }
    assert capacity == {"2000": 0.3, "5000": 0.7, "10000": 0.7}
    shown = arenactl(server, "show", run_id).output
    assert "left out: 1 req/s (too many failed requests)" in shown


def test_spread_is_shown_and_flagged_above_two_percent(failed: dict[str, Any]) -> None:
    chat = benchmark(failed["job"], "01-chat")
    spreads = {v["key"]: v["spread_pct"] for v in chat["variants"]}
    assert all(spread is not None for spread in spreads.values())
    noisy = [key for key, spread in spreads.items() if spread > 2]
    flagged = [flag for flag in chat["flags"] if flag.startswith("run-to-run spread")]
    assert bool(noisy) == bool(flagged)
    assert all(key in flagged[0] for key in noisy)
