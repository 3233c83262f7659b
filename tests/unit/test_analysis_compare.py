"""N-way compare on hand-made results: the notes a measured run can raise that the imported
fixtures cannot (two vLLM versions, two load generators, quick factors), and baseline picking."""

import pytest

from arena.common.analysis.compare import compare, pick_baseline, quick_factor
from arena.common.schemas.results import (
    BenchmarkResult,
    JobResult,
    MetricStat,
    RunResults,
    VariantResult,
)
from arena.common.suites.scaling import quick_note


def chat(tg: float, tool: str = "builtin", spread: float | None = None) -> BenchmarkResult:
    variant = VariantResult(
        key="pp512/tg128/d0/c1",
        runs=3,
        metrics={
            "tg_throughput": MetricStat(mean=tg, std=1.0, n=3),
            "ttfr": MetricStat(mean=20.0, std=2.0, n=3),
        },
        spread_pct=spread,
    )
    return BenchmarkResult(
        id="01-chat", title="Chat", kind="closed_loop", variants=[variant], tool=tool
    )


def run(
    run_id: str,
    version: str,
    tg: float,
    *,
    tool: str = "builtin",
    quick: float | None = None,
    extra: tuple[BenchmarkResult, ...] = (),
    spread: float | None = None,
) -> RunResults:
    job = JobResult(
        job_id=f"job-{run_id}",
        target="t",
        model="org/model",
        engine="vllm",
        agent="a",
        hardware="NVIDIA H200 (141 GB)",
        simulated=False,
        state="succeeded",
        message="",
        benchmarks=[chat(tg, tool, spread), *extra],
        provenance={"engine_version": version},
    )
    notes = [] if quick is None else [quick_note(quick)]
    return RunResults(run_id=run_id, suite="s", state="succeeded", notes=notes, jobs=[job])


def test_two_engine_versions_and_load_generators_are_named_per_column() -> None:
    other = BenchmarkResult(id="02-rag", title="RAG", kind="closed_loop", variants=[])
    runs = [run("a", "0.26.0", 10.0), run("b", "0.27.1", 15.0, tool="vllm-bench", extra=(other,))]
    comparison = compare(runs)
    row, _ = comparison.rows
    assert row.metric == "tg_throughput" and row.ratios == pytest.approx([1.0, 1.5])
    notes = {note.kind: note for note in comparison.notes}
    labels = [c.label for c in comparison.columns]
    assert labels[0] != labels[1]  # same model, engine and box: the job id tells them apart
    assert notes["engine-version"].values == {labels[0]: "vllm 0.26.0", labels[1]: "vllm 0.27.1"}
    assert "0.26.0" in notes["engine-version"].text and labels[1] in notes["engine-version"].text
    assert notes["tool"].benchmark == "01-chat"
    assert notes["tool"].values == {labels[0]: "builtin", labels[1]: "vllm-bench"}
    assert notes["only-one"].benchmark == "02-rag" and "imported" not in notes


def test_the_spread_is_the_variants_own_on_its_throughput_row_only() -> None:
    comparison = compare([run("a", "1", 10.0, spread=7.25), run("b", "1", 12.0)])
    tg, ttfr = comparison.rows
    assert (tg.metric, ttfr.metric) == ("tg_throughput", "ttfr")
    assert tg.spreads == [7.25, None]  # as served (show's spread %); none with no spread
    assert ttfr.spreads == [None, None]  # measured on the throughput, not on TTFT


def test_quick_factors_differ_and_full_scale_is_said() -> None:
    runs = [run("a", "1", 10.0, quick=0.1), run("b", "1", 12.0)]
    assert [quick_factor(r) for r in runs] == [0.1, None]
    notes = {note.kind: note for note in compare(runs).notes}
    assert sorted(notes["quick"].values.values()) == ["full scale", "quick 0.1"]


def test_baseline_by_number_run_job_or_label_and_clear_refusals() -> None:
    columns = compare([run("a", "1", 10.0), run("b", "1", 20.0)]).columns
    assert pick_baseline(columns, "2") == pick_baseline(columns, "b") == 1
    assert pick_baseline(columns, "job-a") == 0
    with pytest.raises(ValueError, match="there are 2 column"):
        pick_baseline(columns, "3")
    with pytest.raises(ValueError, match="matches 2 columns"):
        pick_baseline(columns, "H200")
    with pytest.raises(ValueError, match="no job to compare"):
        compare([run("a", "1", 10.0)], model="llama")


def test_an_invalid_or_partial_benchmark_is_named_with_its_reason() -> None:
    broken, partial, whole = (run(r, "1", 10.0) for r in ("a", "b", "c"))
    (bench,) = broken.jobs[0].benchmarks[:1]
    bench.valid = False
    bench.flags = ["run-to-run spread of tg_throughput above ±2 %: c1 ±3.0 %", "invalid: 3 of 9"]
    partial.jobs[0].benchmarks[0].partial = True
    notes = [n for n in compare([broken, partial, whole]).notes if n.kind == "invalid"]
    (note,) = notes
    labels = [c.label for c in compare([broken, partial, whole]).columns]
    assert note.benchmark == "01-chat"
    assert note.values == {
        labels[0]: "invalid: 3 of 9",
        labels[1]: "partial: its job stopped after it",
    }
    assert "not valid in" in note.text and labels[2] not in note.values
    assert not [n for n in compare([whole, run("d", "1", 11.0)]).notes if n.kind == "invalid"]
