"""arenactl against a real controller: bad inputs get clear errors, listings print JSON."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from arena.client.cli import cli
from tests.support import ControllerThread

GOOD = """\
name: cli-test
suite: arena-v1
quick: 0.05
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
"""


def arenactl(server: ControllerThread, *args: str, token: str | None = None) -> Result:
    flags = ["--controller", server.address]
    if token is not None:
        flags += ["--token", token]
    return CliRunner().invoke(cli, [*flags, *args])


def suite_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return str(path)


def test_submit_prints_the_run_id_and_lists_it(
    controller_in_thread: ControllerThread, tmp_path: Path
) -> None:
    result = arenactl(controller_in_thread, "submit", suite_file(tmp_path, GOOD))
    assert result.exit_code == 0, result.output
    run_id = result.output.strip()
    assert run_id.startswith("run-")
    listed = arenactl(controller_in_thread, "runs", "-o", "json")
    runs = json.loads(listed.output)
    assert [r["run_id"] for r in runs] == [run_id]
    assert runs[0]["state"] == "queued"
    shown = json.loads(arenactl(controller_in_thread, "show", run_id, "-o", "json").output)
    assert shown["jobs"][0]["simulated"] is True
    assert [b["id"] for b in shown["jobs"][0]["benchmarks"]][:2] == ["01-chat", "02-rag-8k"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("quick: 0.05", "quick: [0.05"), r"suite.yaml:\d+"),
        (GOOD.replace("suite: arena-v1", "suite: arena-v1\nonly: [99-nope]"), "99-nope"),
        (
            GOOD.replace("suite: arena-v1\n", "")
            + "benchmarks:\n  - kind: open_loop\n    id: x\n    input_len: 8\n    output_len: 8\n"
            "    num_prompts: 4\n    request_rate: [-1]\n",
            r"suite.yaml:\d+: benchmarks\[0\]\.request_rate\[0\]",
        ),
        (GOOD.replace("engine: sim", "engine: vllm"), "unknown engine profile 'vllm'"),
    ],
    ids=["broken-yaml", "unknown-benchmark", "negative-rate", "unknown-engine"],
)
def test_bad_suites_are_refused_with_file_line_and_field(
    controller_in_thread: ControllerThread, tmp_path: Path, text: str, expected: str
) -> None:
    result = arenactl(controller_in_thread, "submit", suite_file(tmp_path, text))
    assert result.exit_code == 2
    assert "error:" in result.output
    assert re.search(expected, result.output), result.output
    assert json.loads(arenactl(controller_in_thread, "runs", "-o", "json").output) == []


def test_unknown_user_token_is_a_clear_error(controller_in_thread: ControllerThread) -> None:
    result = arenactl(controller_in_thread, "runs", token="wrong")
    assert result.exit_code == 1
    assert "refused the user token" in result.output


def test_unknown_run_is_a_clear_error(controller_in_thread: ControllerThread) -> None:
    result = arenactl(controller_in_thread, "show", "run-nope")
    assert result.exit_code == 1
    assert "no run 'run-nope'" in result.output


def test_unreachable_controller_is_a_clear_error() -> None:
    result = CliRunner().invoke(cli, ["--controller", "127.0.0.1:1", "runs"])
    assert result.exit_code == 1
    assert "cannot reach the controller at 127.0.0.1:1" in result.output
