"""llm-d Benchmark Report v0.2 reading: llm-d's own example, and what a careless or hostile file
gets (a clear refusal naming the field, never a traceback or an unbounded read)."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from arena.common.parsers import ParseError
from arena.common.parsers.llmd_import import is_llmd_report, scan_reports
from arena.common.parsers.llmd_report import MAX_BYTES, parse_report

EXAMPLE = Path(__file__).parent.parent / "data" / "llm-d" / "br_v0_2_example.yaml"


def minimal(**latency: Any) -> dict[str, Any]:
    return {
        "version": "0.2",
        "run": {"uid": "u1"},
        "results": {
            "request_performance": {
                "aggregate": {
                    "requests": {"total": 10, "failures": 1},
                    "latency": latency
                    or {"time_to_first_token": {"units": "ms", "mean": 12.5, "p50": 12.0}},
                }
            }
        },
    }


def test_llm_ds_example_reads_in_arena_keys_and_milliseconds() -> None:
    report = parse_report(EXAMPLE.read_text())
    assert report.load_tool == "inference-perf" and report.stage == 3
    assert report.rate_qps == 10 and report.concurrency == float("inf")
    assert report.engine is not None and report.engine.model == "Qwen/Qwen3-0.6B"
    assert report.engine.accelerator == "8× NVIDIA-H100-80GB-HBM3"
    metrics = report.metrics
    assert metrics["mean_ttft_ms"] == pytest.approx(36.8578234128654)  # 0.0368… s
    assert metrics["p99.9_ttft_ms"] == pytest.approx(57.01475721504543)
    assert metrics["mean_tpot_ms"] == pytest.approx(36.8578234128654)  # s/token → ms
    assert (metrics["completed"], metrics["failed"]) == (500, 0)
    assert metrics["request_throughput"] == pytest.approx(2262.448)
    assert report.arena is None and not report.simulated


def test_json_and_yaml_read_alike() -> None:
    document = minimal()
    as_json = parse_report(json.dumps(document))
    as_yaml = parse_report(yaml.safe_dump(document))
    assert (
        as_json.metrics
        == as_yaml.metrics
        == {
            "completed": 9.0,
            "failed": 1.0,
            "mean_ttft_ms": 12.5,
            "median_ttft_ms": 12.0,
        }
    )


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"version": "0.2", "run": {"uid": "u"}}, "'run' or 'results' missing"),
        ({**minimal(), "version": "0.1"}, "only 0.2 is read"),
        ({**minimal(), "run": {}}, "run.uid"),
        (minimal(time_to_first_token={"units": "tokens/s", "mean": 1}), "units 'tokens/s'"),
        (minimal(request_latency={"units": "s", "mean": -1}), "is not a time or rate"),
        (minimal(request_latency={"units": "s", "mean": "fast"}), "request_latency.mean"),
        ({**minimal(), "results": {}}, "nothing to import"),
        ([1, 2], "'run' or 'results' missing"),
    ],
)
def test_a_malformed_report_is_refused_with_its_reason(document: Any, reason: str) -> None:
    with pytest.raises(ParseError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_report(json.dumps(document))


def test_an_engine_name_of_a_megabyte_is_refused() -> None:
    document = minimal()
    engine = {"kind": "inference_engine", "tool": "vllm", "model": {"name": "m" * 1_000_000}}
    document["scenario"] = {"stack": [{"standardized": engine}]}
    with pytest.raises(ParseError, match="model.name: expected text of at most 200"):
        parse_report(json.dumps(document))


def test_more_failures_than_requests_is_refused() -> None:
    document = minimal()
    document["results"]["request_performance"]["aggregate"]["requests"]["failures"] = 11
    with pytest.raises(ParseError, match="failures is larger than requests.total"):
        parse_report(json.dumps(document))


def test_non_finite_numbers_are_refused() -> None:
    text = json.dumps(minimal()).replace("12.5", "NaN")
    with pytest.raises(ParseError, match="time_to_first_token"):
        parse_report(text)


def test_yaml_aliases_are_refused_before_they_expand() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
    with pytest.raises(ParseError, match="aliases"):
        parse_report("version: '0.2'\nrun: {uid: u}\nresults: {}\n" + bomb)


def test_an_oversized_report_is_not_read() -> None:
    with pytest.raises(ParseError, match="larger than 8 MiB"):
        parse_report("x" * (MAX_BYTES + 1))


def test_arenas_block_names_benchmark_variant_and_run_and_is_checked() -> None:
    document = minimal()
    arena = {"benchmark": "02-sweep", "variant": "rate20", "run": 1, "metrics": {"mean_ttft_ms": 3}}
    document["results"]["observability"] = {"arena": arena}
    report = parse_report(json.dumps(document))
    assert report.arena is not None and (report.arena.benchmark, report.arena.run) == (
        "02-sweep",
        1,
    )
    arena["variant"] = "../../etc"
    with pytest.raises(ParseError, match="not a benchmark or variant name"):
        parse_report(json.dumps(document))
    arena["variant"], arena["metrics"] = "rate20", {"DROP TABLE": 1}
    with pytest.raises(ParseError, match="not a metric key"):
        parse_report(json.dumps(document))


def test_a_folder_imports_its_reports_and_names_the_bad_ones(tmp_path: Path) -> None:
    for rate, ttft in ((1, 10.0), (2, 20.0)):
        document = minimal(time_to_first_token={"units": "ms", "mean": ttft})
        document["scenario"] = {
            "load": {"standardized": {"tool": "guidellm", "rate_qps": rate}},
        }
        (tmp_path / f"report-rate{rate}.json").write_text(json.dumps(document))
    (tmp_path / "broken.yaml").write_text("version: '0.2'\nrun: {uid: u}\nresults: [")
    (tmp_path / "notes.json").write_text('{"something": "else"}')  # not a report: not read
    found = scan_reports(tmp_path, lambda path: path.name)
    [(path, message)] = [(p.path.name, p.message) for p in found.problems]
    assert path == "broken.yaml" and "not valid YAML or JSON" in message
    [run] = found.runs
    [bench] = run.benchmarks
    assert (bench.id, bench.tool, bench.kind) == ("01-guidellm", "llm-d", "open_loop")
    assert [v.key for v in bench.variants] == ["rate1", "rate2"]
    assert [v.metrics["mean_ttft_ms"].mean for v in bench.variants] == [10.0, 20.0]
    assert run.hardware == "unknown" and not run.provenance.simulated


def _with_version_placeholder(document: dict[str, Any], value: str) -> str:
    return json.dumps(document).replace('"VALUE"', value)


def test_an_int_of_more_than_4300_digits_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    document = minimal()
    document["run"]["description"] = "VALUE"
    with pytest.raises(ParseError, match="not a readable report"):
        parse_report(_with_version_placeholder(document, "9" * 5000))
    (tmp_path / "huge.json").write_text(_with_version_placeholder(document, "9" * 5000))
    (tmp_path / "good.json").write_text(json.dumps(minimal()))
    found = scan_reports(tmp_path, lambda path: path.name)
    assert [p.path.name for p in found.problems] == ["huge.json"]
    assert len(found.runs) == 1  # the sibling still imports


@pytest.mark.parametrize("depth", [70, 100_000])
def test_deep_nesting_is_refused_before_it_recurses(tmp_path: Path, depth: int) -> None:
    document = minimal()
    document["run"]["description"] = "VALUE"
    text = _with_version_placeholder(document, "[" * depth + "]" * depth)
    with pytest.raises(ParseError, match="nested more than 64 deep"):
        parse_report(text)
    (tmp_path / "deep.json").write_text(text)
    (tmp_path / "good.json").write_text(json.dumps(minimal()))
    found = scan_reports(tmp_path, lambda path: path.name)
    assert [p.path.name for p in found.problems] == ["deep.json"] and len(found.runs) == 1


def test_incomplete_requests_did_not_complete() -> None:
    document = minimal()
    requests = document["results"]["request_performance"]["aggregate"]["requests"]
    requests["incomplete"] = 3  # total 10, failures 1
    metrics = parse_report(json.dumps(document)).metrics
    assert (metrics["completed"], metrics["failed"]) == (6.0, 4.0)
    requests["incomplete"] = 10
    with pytest.raises(ParseError, match="failures \\+ requests.incomplete is larger"):
        parse_report(json.dumps(document))


@pytest.mark.parametrize(("model", "count"), [("NVIDIA H100", 2), ("2× NVIDIA H100", 2)])
def test_the_accelerator_count_is_prefixed_once(model: str, count: int) -> None:
    document = minimal()
    engine = {"kind": "inference_engine", "accelerator": {"model": model, "count": count}}
    document["scenario"] = {"stack": [{"standardized": engine}]}
    report = parse_report(json.dumps(document))
    assert report.engine is not None and report.engine.accelerator == "2× NVIDIA H100"


def test_an_unquoted_yaml_version_reads_as_the_text_it_means() -> None:
    text = yaml.safe_dump(minimal()).replace("version: '0.2'", "version: 0.2")
    assert "version: 0.2\n" in text
    assert parse_report(text).metrics["completed"] == 9.0
    with pytest.raises(ParseError, match="version '0.1'"):
        parse_report(text.replace("version: 0.2", "version: 0.1"))


def test_a_report_whose_version_comes_last_is_found(tmp_path: Path) -> None:
    document = minimal()
    document["run"]["description"] = "x" * 10_000  # the version is past the first 4 KiB
    document["version"] = document.pop("version")
    (tmp_path / "late.json").write_text(json.dumps(document))
    assert is_llmd_report(tmp_path / "late.json")
    (tmp_path / "other.json").write_text(json.dumps({"results": [], "uid": "x", "v": "x" * 9000}))
    assert not is_llmd_report(tmp_path / "other.json")


def _load_report(folder: Path, name: str, **standardized: Any) -> Path:
    document = minimal()
    document["scenario"] = {"load": {"standardized": {"tool": "guidellm", **standardized}}}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(document))
    return folder / name


def test_a_fractional_concurrency_names_its_variant_whole(tmp_path: Path) -> None:
    _load_report(tmp_path, "a.json", concurrency=1.5)
    _load_report(tmp_path, "b.json", concurrency=16)
    [run] = scan_reports(tmp_path, lambda path: path.name).runs
    assert [v.key for v in run.benchmarks[0].variants] == ["c1.5", "c16"]


@pytest.mark.parametrize(
    ("standardized", "field"),
    [
        ({"concurrency": 1e300}, "concurrency"),
        ({"rate_qps": 1e300}, "rate_qps"),
        ({"stage": 10**12}, "stage"),
    ],
)
def test_load_figures_past_any_real_sweep_are_refused(
    tmp_path: Path, standardized: dict[str, Any], field: str
) -> None:
    path = _load_report(tmp_path, "r.json", **standardized)
    with pytest.raises(ParseError, match=field):
        parse_report(path.read_text())


def test_sibling_files_imported_one_at_a_time_are_separate_runs(tmp_path: Path) -> None:
    folder = tmp_path / "model" / "sweep"
    first = _load_report(folder, "stage1.json", rate_qps=1)
    second = _load_report(folder, "stage2.json", rate_qps=2)
    [one] = scan_reports(first, lambda path: path.name).runs
    [two] = scan_reports(second, lambda path: path.name).runs
    assert (one.key, two.key) == ("model/sweep/stage1", "model/sweep/stage2")
    assert one.source == "stage1.json"
    [whole] = scan_reports(folder, lambda path: path.name).runs
    assert whole.key == f"{tmp_path.name}/model/sweep"  # the folder: both reports, one run
