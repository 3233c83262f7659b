"""A result's origin is one of two typed cases: measured by Arena or imported. Code reads the
fields both share; the wire carries the imported case and brings the same origin back."""

from arena.common.analysis.aggregate import aggregate
from arena.common.analysis.compare import compare
from arena.common.pb.arena.v2 import results_pb2
from arena.common.schemas.imported import ImportOrigin, Provenance, TelemetrySample
from arena.common.schemas.results import (
    MEASURED,
    BenchmarkResult,
    JobResult,
    MetricStat,
    RunResults,
    VariantResult,
)
from arena.common.wire import from_message, to_message


def origin(verified_by: str = "") -> ImportOrigin:
    return ImportOrigin(
        key="lfm/lfm-2b/bf16",
        source="results/lfm/lfm-2b/bf16",
        content_hash="0" * 64,
        served_name=None,
        profile="bf16",
        provenance=Provenance(vllm_version="0.26.0", engine="vllm"),
        commands={"01-chat": ["llama-benchy --runs 3"]},
        rate_sweep=None,
        telemetry={"01-chat": [TelemetrySample(elapsed_s=0.0, power_w=40.0)]},
        verified_by=verified_by,
    )


def job(imported: ImportOrigin | None, engine: str = "vllm", version: str = "") -> JobResult:
    variant = VariantResult(
        key="pp512/tg128/d0/c1", runs=3, metrics={"tg_throughput": MetricStat(mean=10, std=1, n=3)}
    )
    bench = BenchmarkResult(id="01-chat", title="Chat", kind="closed_loop", variants=[variant])
    return JobResult(
        job_id=f"job-{engine}-{imported is not None}",
        target="t",
        model="org/model",
        engine=engine,
        agent=None if imported else "a",
        hardware="NVIDIA DGX Spark (GB10, 128 GB unified)",
        simulated=False,
        state="succeeded",
        message="",
        benchmarks=[bench],
        imported=imported,
        provenance={"engine_version": version} if version else {},
    )


def test_a_measured_job_reads_as_the_measured_case_with_nothing_from_a_source_folder() -> None:
    measured = job(None).origin
    assert measured is MEASURED and measured.kind == "measured" and measured.label == "measured"
    assert not measured.unverified and measured.provenance is None
    assert (measured.profile, measured.telemetry, measured.commands) == ("", {}, {})
    assert measured.rate_sweep is None and measured.engine_version is None


def test_an_imported_job_reads_as_the_imported_case_and_says_who_vouches() -> None:
    unverified = job(origin()).origin
    assert unverified.kind == "imported" and unverified.label == "unverified"
    assert unverified.unverified and unverified.profile == "bf16"
    verified = job(origin("agent spark, key ab12")).origin
    assert verified.label == "imported" and not verified.unverified
    assert verified.engine_version == "0.26.0"


def test_the_wire_carries_the_origin() -> None:
    sent = job(origin("agent spark, key ab12"))
    received = from_message(to_message(sent, results_pb2.JobResult), JobResult)
    assert received.origin == sent.origin and received.imported is not None
    assert received.imported.provenance.engine == "vllm"
    assert from_message(to_message(job(None), results_pb2.JobResult), JobResult).origin is MEASURED


def test_compare_names_the_engine_that_ran_beside_the_origin() -> None:
    """The imported column's engine is vLLM's, its version once (not 'vllm vllm 0.26.0')."""
    runs = [
        RunResults(run_id=run_id, suite="s", state="succeeded", notes=[], jobs=[one])
        for run_id, one in (
            ("imp", job(origin("agent spark"))),
            ("own", job(None, version="0.27.1")),
        )
    ]
    comparison = compare(runs)
    assert [c.engine for c in comparison.columns] == ["vllm", "vllm"]
    assert [c.source for c in comparison.columns] == ["imported", "measured"]
    notes = {note.kind: note for note in comparison.notes}
    assert sorted(notes["engine-version"].values.values()) == ["vllm 0.26.0", "vllm 0.27.1"]


def test_imported_numbers_are_never_pooled_with_measured_ones_of_the_same_engine() -> None:
    """With the engine that ran named for both, the origin keeps them apart (it was the engine
    'imported' that did before)."""
    unprofiled = origin("agent spark").model_copy(update={"profile": ""})  # as measured
    imported = job(unprofiled).model_copy(update={"job_id": "job-imp"})
    rows = aggregate([job(None), imported], include_unverified=True)
    assert [(r.entry.engine, r.entry.origin, r.jobs) for r in rows] == [
        ("vllm", "imported", 1),
        ("vllm", "measured", 1),
    ]
