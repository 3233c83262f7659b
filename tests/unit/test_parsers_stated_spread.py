"""An Arena export's meta.json states each variant's run-to-run spread and the engine's version;
the import keeps them, and leaves out a malformed one with a problem naming meta.json."""

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from arena.common.parsers.result_folder import Scan, scan
from arena.common.schemas.imported import (
    MAX_SPREAD_PCT,
    MAX_VERSION_CHARS,
    ImportedVariant,
    Provenance,
)

RESULT = {
    "date": "20260101-000000",
    "request_rate": 0.5,
    "num_prompts": 3,
    "completed": 3,
    "failed": 0,
    "duration": 4.0,
}

REPO = Path(__file__).resolve().parents[2]


def folder(root: Path, arena: dict[str, Any]) -> Scan:
    """A profile folder with two runs of rate 0.5 (output 90 and 110 tok/s) and ``arena``."""
    profile = root / "box" / "tiny" / "sim"
    profile.mkdir(parents=True)
    (profile / "meta.json").write_text(json.dumps({"model": "tiny", "arena": arena}))
    for run, throughput in enumerate((90.0, 110.0)):
        result = RESULT | {"output_throughput": throughput}
        (profile / f"01-chat.rate0.5.run{run}.json").write_text(json.dumps(result))
    return scan(root)


def test_the_stated_spread_and_engine_version_are_kept(tmp_path: Path) -> None:
    validity = {"01-chat": {"spread_pct": {"rate0.5": 12.5, "rate9": 1.0}}}
    found = folder(tmp_path, {"validity": validity, "engine_version": " b6123-abc "})
    assert found.problems == []
    (run,) = found.runs
    (variant,) = run.benchmarks[0].variants
    assert variant.spread_pct == 12.5  # as stated, not one read from the runs (10 %)
    assert run.provenance.engine_version == "b6123-abc"


def test_without_a_stated_spread_the_variant_has_none(tmp_path: Path) -> None:
    """A reference folder or an older export: the results layer estimates it from the std."""
    found = folder(tmp_path, {"validity": {"01-chat": {"spread_pct": {"rate0.5": None}}}})
    assert found.problems == []
    assert found.runs[0].benchmarks[0].variants[0].spread_pct is None
    assert found.runs[0].provenance.engine_version is None


@pytest.mark.parametrize(
    "stated",
    [-1.0, float("nan"), float("inf"), 1e7, 10**400, True, "3.5", [3.5]],
    ids=lambda value: repr(value)[:20],
)
def test_a_malformed_spread_is_left_out_with_a_problem(tmp_path: Path, stated: object) -> None:
    validity = {"01-chat": {"spread_pct": {"rate0.5": stated}}}
    found = folder(tmp_path, {"validity": validity})
    (problem,) = found.problems
    assert problem.file == "box/tiny/sim/meta.json"
    assert "spread_pct" in problem.message and "rate0.5" in problem.message
    (run,) = found.runs  # the rest still imports
    assert run.benchmarks[0].variants[0].spread_pct is None


def test_spreads_that_are_not_an_object_are_left_out_with_a_problem(tmp_path: Path) -> None:
    found = folder(tmp_path, {"validity": {"01-chat": {"spread_pct": [12.5]}}})
    (problem,) = found.problems
    assert "'arena.validity.01-chat.spread_pct' should be an object" in problem.message
    assert found.runs[0].benchmarks[0].variants[0].spread_pct is None


@pytest.mark.parametrize("version", ["", "   ", "x" * 257, 6123, {"build": 1}], ids=repr)
def test_a_malformed_engine_version_is_left_out_with_a_problem(
    tmp_path: Path, version: object
) -> None:
    found = folder(tmp_path, {"engine_version": version})
    (problem,) = found.problems
    assert problem.file == "box/tiny/sim/meta.json" and "arena.engine_version" in problem.message
    assert found.runs[0].provenance.engine_version is None


@pytest.mark.parametrize(
    "fields",
    [
        {"spread_pct": -0.1},
        {"spread_pct": float("nan")},
        {"spread_pct": float("inf")},
        {"spread_pct": MAX_SPREAD_PCT * 2},
    ],
    ids=repr,
)
def test_the_schema_refuses_a_spread_no_folder_could_state(fields: dict[str, float]) -> None:
    """What a hand-written client could send past the parser: the controller refuses it."""
    with pytest.raises(ValidationError, match="spread_pct"):
        ImportedVariant(key="rate1", runs=2, metrics={}, **fields)


@pytest.mark.parametrize("version", ["", "x" * (MAX_VERSION_CHARS + 1)], ids=len)
def test_the_schema_refuses_an_engine_version_no_folder_could_state(version: str) -> None:
    with pytest.raises(ValidationError, match="engine_version"):
        Provenance(engine_version=version)


def test_an_exported_benchmark_renumbered_in_its_file_name_keeps_what_its_job_said() -> None:
    """The export writes ``chat-512`` as ``01-chat-512.json``; ``arena.validity`` keeps the id
    the job ran under. The 2-core CPU row's client was saturated and accepted, its answers
    exact: both and the measured spread must survive the renaming."""
    found = scan(REPO / "docs/results/llama-1.1b/cpu-one-model/model-f16.gguf/llama-cpp")
    (run,) = found.runs
    chat = next(bench for bench in run.benchmarks if bench.id == "01-chat-512")
    assert chat.accept_saturated_client and chat.exact_tg
    spreads = {variant.key: variant.spread_pct for variant in chat.variants}
    assert spreads["pp512/tg128/d0/c4"] == pytest.approx(34.0, abs=0.1)
