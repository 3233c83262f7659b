"""An llm-d report's ``run`` block: what a reader of any tool sees of Arena's verdict
(INVALID, PARTIAL and SIMULATED prefixes and keywords) and a duration in fixed point."""

import re

import pytest

from arena.common.exports.folder import ExportContext
from arena.common.exports.llmd_report import _run, iso_seconds
from arena.common.schemas.results import BenchmarkResult, JobResult

CONTEXT = ExportContext(run_id="run-1", suite="s", exported_at="2026-12-07T16:00:00+00:00")


def _bench(**fields: object) -> BenchmarkResult:
    return BenchmarkResult.model_validate(
        {"id": "02-sweep", "title": "Sweep", "kind": "open_loop", "variants": [], **fields}
    )


def _job(simulated: bool = False) -> JobResult:
    return JobResult.model_validate(
        {
            "job_id": "job-1",
            "target": "t",
            "model": "m",
            "engine": "vllm",
            "agent": None,
            "hardware": None,
            "simulated": simulated,
            "state": "succeeded",
            "message": "",
            "benchmarks": [],
        }
    )


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(1e-05, "PT0.00001S"), (12.5, "PT12.5S"), (3.0, "PT3S"), (1e-9, "PT0S"), (1e7, "PT10000000S")],
)
def test_durations_are_written_in_fixed_point(seconds: float, shown: str) -> None:
    assert iso_seconds(seconds) == shown
    assert re.match(r"^PT\d+(?:\.\d+)?S$", shown)  # what the importer reads


def test_an_invalid_partial_benchmark_says_so_where_any_reader_looks() -> None:
    bench = _bench(valid=False, partial=True, flags=["invalid: 5 of 6 requests failed (83 %)"])
    run = _run(_job(), CONTEXT, bench, "rate20", 0, "id", 1e-05)
    assert run["description"].startswith("INVALID (5 of 6 requests failed (83 %)): PARTIAL (")
    assert {"invalid", "partial"} <= set(run["keywords"])
    assert run["time"] == {"duration": "PT0.00001S"}
    simulated = _run(_job(simulated=True), CONTEXT, bench, "rate20", 0, "id", None)
    assert simulated["description"].startswith("SIMULATED (no real engine, vllm): INVALID")


def test_a_valid_whole_benchmark_carries_no_prefix() -> None:
    run = _run(_job(), CONTEXT, _bench(), "rate20", 0, "id", 2.0)
    assert run["description"].startswith("Arena run run-1")
    assert not {"invalid", "partial", "simulated"} & set(run["keywords"])
