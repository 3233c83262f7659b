"""Suite files: resolution of built-in sets, and errors that name their line and field."""

from pathlib import Path
from textwrap import dedent

import pytest

from arena.common.errors import ArenaError, SuiteError, SuiteProblem
from arena.common.schemas.suite import OpenLoopBenchmark
from arena.common.suites.loader import load_suite_file, load_suite_text

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

HEAD = """\
name: t
models:
  - name: m
    engine: sim
engines:
  sim:
    runtime: simulated
"""


def load(body: str, head: str = HEAD) -> SuiteError:
    with pytest.raises(SuiteError) as caught:
        load_suite_text(head + dedent(body), "suite.yaml")
    return caught.value


def test_builtin_with_only_extras_and_own() -> None:
    resolved = load_suite_text(
        HEAD
        + dedent("""\
        suite: arena-v2
        only: [11-rate-sweep, 01-chat]
        extras: [04t-multi-turn-true]
        benchmarks:
          - {kind: closed_loop, id: mine, pp: [64], tg: [32]}
        """)
    )
    assert [b.id for b in resolved.benchmarks] == [
        "01-chat",
        "11-rate-sweep",
        "04t-multi-turn-true",
        "mine",
    ]
    assert resolved.simulated_data == []
    assert resolved.spec.runs == 3


def test_sharegpt_without_path_is_labelled() -> None:
    resolved = load_suite_text(HEAD + "suite: arena-v1\n")
    assert resolved.simulated_data == [
        "07-sharegpt: synthetic ShareGPT-format stand-in "
        "(shared/arena/common/suites/data/sharegpt-synthetic.json), not the real ShareGPT V3"
    ]
    sharegpt = resolved.benchmarks[6]
    assert isinstance(sharegpt, OpenLoopBenchmark) and sharegpt.dataset_path is None


def test_relative_dataset_path_follows_the_suite_file(tmp_path: Path) -> None:
    suite = tmp_path / "suites" / "mine.yaml"
    suite.parent.mkdir()
    suite.write_text(
        HEAD
        + dedent("""\
        benchmarks:
          - kind: open_loop
            id: replay
            dataset: sharegpt
            dataset_path: data/v3.json
            num_prompts: 10
            request_rate: [1]
          - kind: open_loop
            id: absolute
            dataset: sharegpt
            dataset_path: /srv/v3.json
            num_prompts: 10
            request_rate: [1]
        """)
    )
    replay, absolute = load_suite_file(suite).benchmarks
    assert isinstance(replay, OpenLoopBenchmark) and isinstance(absolute, OpenLoopBenchmark)
    assert replay.dataset_path == str(tmp_path / "suites" / "data" / "v3.json")
    assert absolute.dataset_path == "/srv/v3.json"


def test_quick_scales_and_notes() -> None:
    resolved = load_suite_text(HEAD + "suite: arena-v1\nquick: 0.25\n")
    assert resolved.benchmarks[0].pp == [256]  # type: ignore[union-attr]
    assert resolved.simulated_data[-1] == (
        "quick=0.25: lengths and counts ×0.25, rates ÷0.25 — not comparable with full runs"
    )


@pytest.mark.parametrize("name", ["demo", "demo-agentic", "custom", "arena-v1"])
def test_examples_load(name: str) -> None:
    resolved = load_suite_file(EXAMPLES / f"{name}.yaml")
    assert resolved.benchmarks


def test_broken_yaml_reports_its_line() -> None:
    error = load("suite: arena-v1\nonly: [01-chat\nruns: 3\n")
    assert error.line == 10
    assert str(error).startswith("suite.yaml:10: invalid YAML: ")


def test_unknown_id_in_only_lists_valid_ids() -> None:
    error = load("suite: arena-v1\nonly:\n  - 01-chat\n  - 10-nope\n")
    assert (error.line, error.field) == (11, "only[1]")
    assert "'10-nope'" in error.message and "09-monday-peak" in error.message


def test_negative_rate_names_its_node_and_path() -> None:
    error = load("""\
        benchmarks:
          - {kind: closed_loop, id: a, pp: [8], tg: [8]}
          - {kind: closed_loop, id: b, pp: [8], tg: [8]}
          - kind: open_loop
            id: c
            input_len: 100
            output_len: 10
            num_prompts: 5
            request_rate:
              - -0.5
        """)
    assert str(error) == (
        "suite.yaml:17: benchmarks[2].request_rate[0]: Input should be greater than 0"
    )


def test_unknown_engine_reference() -> None:
    error = load("suite: arena-v1\n", head=HEAD.replace("engine: sim", "engine: vllm"))
    assert (error.line, error.field) == (4, "models[0].engine")
    assert "unknown engine profile 'vllm' (defined: sim)" in error.message


def test_typo_names_the_field_and_line() -> None:
    error = load("suite: arena-v1\nrunz: 3\n")
    assert (error.line, error.field) == (9, "runz")
    assert "did you mean 'runs'" in error.message


def test_missing_models_points_at_the_parent() -> None:
    error = load("suite: arena-v1\n", head="name: t\nengines:\n  sim: {runtime: simulated}\n")
    assert (error.line, error.field, error.message) == (1, "models", "Field required")


def test_all_problems_reported_at_once_in_line_order() -> None:
    error = load("""\
        suite: arena-v1
        quick: 2
        runz: 3
        benchmarks:
          - kind: closed_loop
            id: a
            pp: [0]
            tg: [8]
        """)
    assert [(p.line, p.field) for p in error.errors] == [
        (9, "quick"),
        (10, "runz"),
        (14, "benchmarks[0].pp[0]"),
    ]
    assert len(str(error).splitlines()) == 3
    assert (error.line, error.field) == (9, "quick")


def test_selection_problems_together() -> None:
    error = load("""\
        suite: arena-v1
        only: [01-chat, 02-nope]
        extras: [zzz]
        benchmarks:
          - {kind: closed_loop, id: 01-chat, pp: [8], tg: [8]}
        """)
    assert [p.field for p in error.errors] == ["only[1]", "extras[0]", "benchmarks[0].id"]
    assert "already used by arena-v1" in error.errors[2].message


def test_unknown_builtin_suite_names_the_known_ones() -> None:
    error = load("suite: arena-v3\n")
    assert (error.line, error.field) == (8, "suite")
    assert "arena-agentic, arena-v1, arena-v2" in error.message


def test_only_without_suite() -> None:
    error = load("only: [01-chat]\nbenchmarks:\n  - {kind: closed_loop, id: a, pp: [8], tg: [8]}\n")
    assert (error.field, error.line) == ("only", 8)


def test_missing_kind_and_duplicate_keys() -> None:
    error = load("suite: arena-v1\nseed: 1\nseed: 2\nbenchmarks:\n  - {id: a, pp: [8], tg: [8]}\n")
    assert [(p.line, p.field) for p in error.errors] == [(10, "seed"), (12, "benchmarks[0]")]
    assert "written twice" in error.errors[0].message
    assert "'kind'" in error.errors[1].message


def test_not_a_mapping_and_unreadable_file(tmp_path: Path) -> None:
    assert "got a list" in load("", head="- a\n").message
    with pytest.raises(SuiteError, match="cannot read the suite file"):
        load_suite_file(tmp_path / "absent.yaml")


def test_error_shape() -> None:
    problems = [SuiteProblem("s.yaml", 3, "runs", "bad"), SuiteProblem("s.yaml", None, "", "worse")]
    error = SuiteError.from_problems(problems)
    assert isinstance(error, ArenaError)
    assert str(error) == "s.yaml:3: runs: bad\ns.yaml: worse"
    assert (error.file, error.line, error.field, error.message) == ("s.yaml", 3, "runs", "bad")


def test_the_documented_example_loads() -> None:
    doc = (EXAMPLES.parent / "docs/suite-format.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    resolved = load_suite_text(example, "suite-format.md")
    assert [b.id for b in resolved.benchmarks] == [
        "01-chat",
        "07-office-baseline",
        "11-rate-sweep",
        "04t-multi-turn-true",
        "code-review",
        "helpdesk",
    ]
