"""llama-benchy's markdown table and JSON report → Arena variants and metric keys."""

import json

import pytest

from arena.common.parsers import ParseError, llama_benchy_json, llama_benchy_md

HEADER = (
    "t/s (total) | t/s (req) | peak t/s | peak t/s (req) | ttfr (ms) | est_ppt (ms) | e2e_ttft (ms)"
)
REPORT = "\n".join(
    [
        "# Test 05 — context",
        "## Command",
        "```bash",
        "uvx llama-benchy==0.4.0 --model m --runs 5 --latency-mode api --pp 512 4096 --tg 64"
        " --depth 0 8 --concurrency 2",
        "```",
        f"| model | test | {HEADER} |",
        "|:--|--:|--:|--:|--:|--:|--:|--:|--:|",
        "| m | pp512 (c2) | 100.50 ± 1.25 | 50.00 ± 2.00 | | | 10.00 ± 1.00 | 9.00 ± 1.00"
        " | 11.00 ± 1.00 |",
        "| m | tg64 (c2) | 20.00 ± 0.10 | 10.00 ± 0.20 | 25.00 ± 0.00 | 12.50 ± 0.50 | | | |",
        "| m | pp4096 @ d8 (c2) | 900.00 ± 9.00 | 450.00 ± 4.50 | | | 99.00 ± 9.00 | 98.00 ± 9.00"
        " | 100.00 ± 9.00 |",
        "| m | tg64 @ d8 (c2) | 19.00 ± 0.10 | 9.50 ± 0.20 | 24.00 ± 0.00 | 12.00 ± 0.50 | | | |",
        "",
        "llama-benchy (0.4.0)",
    ]
)


def test_command_line_gives_the_parameters() -> None:
    command = llama_benchy_md.parse_report(REPORT).command
    assert command is not None
    assert (command.pp, command.tg, command.depth, command.concurrency) == (
        [512, 4096],
        [64],
        [0, 8],
        [2],
    )
    assert (command.runs, command.latency_mode, command.model) == (5, "api", "m")


def test_pp_and_tg_rows_join_into_one_variant_with_n_runs() -> None:
    found, problems = llama_benchy_md.variants(llama_benchy_md.parse_report(REPORT))
    assert problems == []
    assert [v.key for v in found] == ["pp512/tg64/d0/c2", "pp4096/tg64/d8/c2"]
    first = found[0].metrics
    assert (first["pp_throughput"].mean, first["pp_throughput"].std) == (100.5, 1.25)
    assert first["ttfr"].mean == 10.0 and first["e2e_ttft"].mean == 11.0
    assert first["tg_throughput"].mean == 20.0 and first["peak_req_throughput"].mean == 12.5
    assert "peak_throughput" in first and all(stat.n == 5 for stat in first.values())


def test_a_broken_row_is_named_and_the_others_still_count() -> None:
    broken = REPORT.replace("| 900.00 ± 9.00 |", "| 9x0 |")
    report = llama_benchy_md.parse_report(broken)
    (problem,) = report.problems
    assert "row 'pp4096 @ d8 (c2)', column 't/s (total)': '9x0'" in problem
    found, problems = llama_benchy_md.variants(report)
    # the tg row lost its pp partner; the command has two pp values, so it cannot be keyed
    assert [v.key for v in found] == ["pp512/tg64/d0/c2"]
    assert problems and "tg64 @ d8 (c2)" in problems[0]


def test_a_file_without_a_table_is_an_error() -> None:
    with pytest.raises(ParseError, match="no llama-benchy results table"):
        llama_benchy_md.parse_report("# nothing here\n")


def _metric(mean: float, values: list[float]) -> dict[str, object]:
    return {"mean": mean, "std": 0.5, "values": values}


JSON_REPORT = {
    "version": "0.4.0",
    "timestamp": "2026-01-01T00:00:00",
    "latency_mode": "generation",
    "latency_ms": 12.5,
    "model": "m",
    "prefix_caching_enabled": True,
    "max_concurrency": 4,
    "benchmarks": [
        {
            "concurrency": 4,
            "context_size": 1024,
            "prompt_size": 512,
            "response_size": 64,
            "is_context_prefill_phase": True,
            "pp_throughput": _metric(1.0, [1.0]),
        },
        {
            "concurrency": 4,
            "context_size": 1024,
            "prompt_size": 512,
            "response_size": 64,
            "is_context_prefill_phase": False,
            "pp_throughput": _metric(800.0, [790.0, 800.0, 810.0]),
            "ttfr": _metric(120.0, [100.0] * 12),
            "tg_throughput": None,
        },
    ],
}


def test_json_report_skips_the_context_prefill_phase_and_counts_values() -> None:
    report = llama_benchy_json.parse_report(json.dumps(JSON_REPORT))
    assert report.latency_ms == 12.5 and report.prefix_caching_enabled
    (variant,) = llama_benchy_json.variants(report, runs=3)
    assert variant.key == "pp512/tg64/d1024/c4"
    assert variant.metrics["pp_throughput"].n == 3 and variant.metrics["ttfr"].n == 12
    assert "tg_throughput" not in variant.metrics


def test_json_report_with_a_missing_field_names_it() -> None:
    document = json.loads(json.dumps(JSON_REPORT))
    del document["benchmarks"][1]["prompt_size"]
    with pytest.raises(ParseError, match=r"benchmarks\[1\]: missing 'prompt_size'"):
        llama_benchy_json.parse_report(json.dumps(document))
