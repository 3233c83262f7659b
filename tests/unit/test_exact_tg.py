"""``exact_tg`` in the suite: the suite-wide default, and the refusal of an engine that cannot
take ``ignore_eos`` (answers of exactly ``tg`` tokens are impossible there)."""

import pytest

from arena.common.errors import SuiteError
from arena.common.schemas.suite import ClosedLoopBenchmark
from arena.common.suites.expand import expand
from arena.common.suites.loader import load_suite_text

BENCHMARKS = """
benchmarks:
  - {kind: closed_loop, id: own-default, pp: [8], tg: [8]}
  - {kind: closed_loop, id: kept-off, pp: [8], tg: [8], exact_tg: false}
  - {kind: closed_loop, id: tool, pp: [8], tg: [8], tool: llama-benchy}
  - {kind: open_loop, id: rates, input_len: 8, output_len: 8, num_prompts: 2, request_rate: [1]}
"""


def suite(head: str, engine: str = "{runtime: simulated}") -> str:
    return f"name: exact\n{head}\nmodels: [{{name: tiny, engine: e}}]\nengines: {{e: {engine}}}\n"


def exact_of(text: str) -> dict[str, bool | None]:
    resolved = load_suite_text(text)
    return {bench.id: getattr(bench, "exact_tg", None) for bench in resolved.benchmarks}


def test_off_unless_asked() -> None:
    assert exact_of(suite("") + BENCHMARKS) == {
        "own-default": False,
        "kept-off": False,
        "tool": False,
        "rates": None,
    }


def test_the_suite_default_fills_closed_loops_that_set_none() -> None:
    assert exact_of(suite("exact_tg: true") + BENCHMARKS) == {
        "own-default": True,
        "kept-off": False,
        "tool": True,
        "rates": None,
    }


def test_the_suite_default_reaches_the_built_in_set() -> None:
    resolved = load_suite_text(suite("suite: arena-v1\nexact_tg: true"))
    closed = [b for b in resolved.benchmarks if isinstance(b, ClosedLoopBenchmark)]
    assert closed and all(bench.exact_tg for bench in closed)


STRICT = '{runtime: external, url: "http://h:8000", accepts_ignore_eos: false}'


def test_an_engine_refusing_ignore_eos_refuses_exact_tg() -> None:
    with pytest.raises(SuiteError) as caught:
        load_suite_text(suite("exact_tg: true", STRICT) + BENCHMARKS, "s.yaml")
    error = caught.value
    assert error.line == 4 and error.field == "engines.e"  # the engine profile's line
    assert "accepts_ignore_eos: false" in error.message
    assert "own-default, tool set exact_tg" in error.message


def test_an_engine_refusing_ignore_eos_runs_without_exact_tg() -> None:
    assert exact_of(suite("", STRICT) + BENCHMARKS)["own-default"] is False


def test_exact_tg_is_a_boolean() -> None:
    with pytest.raises(SuiteError, match="exact_tg"):
        load_suite_text(suite("exact_tg: sometimes") + BENCHMARKS)


def job_exact(text: str) -> dict[str, bool | None]:
    """What the expanded job's benchmarks say: the random-weight default is applied per job."""
    (job,) = expand(load_suite_text(text), run_id="run-x")
    return {bench.id: getattr(bench, "exact_tg", None) for bench in job.benchmarks}


def random_weights(head: str, engine: str = "{runtime: simulated}") -> str:
    model = "models: [{name: tiny, engine: e, random_weights: true}]"
    return f"name: exact\n{head}\n{model}\nengines: {{e: {engine}}}\n{BENCHMARKS}"


def test_a_random_weight_model_gets_exact_lengths_unless_someone_chose() -> None:
    assert job_exact(random_weights("")) == {
        "own-default": True,
        "kept-off": False,  # the benchmark chose
        "tool": True,
        "rates": None,
    }
    assert job_exact(random_weights("quick: 0.5"))["own-default"] is True  # scaled, not chosen
    assert job_exact(random_weights("exact_tg: false"))["own-default"] is False  # the suite chose
    assert job_exact(suite("") + BENCHMARKS)["own-default"] is False  # a real model's end token


def test_no_exact_lengths_by_default_where_the_engine_refuses_ignore_eos() -> None:
    engine = "{runtime: external, url: 'http://127.0.0.1:9', accepts_ignore_eos: false}"
    assert job_exact(random_weights("", engine))["own-default"] is False
