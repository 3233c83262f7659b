"""``arenactl trace generate`` and ``inspect`` through click, as a user types them."""

import json
from pathlib import Path

from click.testing import CliRunner

from arena.client.cli import cli
from arena.common.traces.io import read_trace
from arena.common.traces.profiles import generate
from tests.conftest import REPO

SAMPLE = str(REPO / "examples" / "traces" / "mooncake-sample.jsonl")


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_generate_writes_the_seeded_trace(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl.gz"
    code, out, _ = _run(
        "trace",
        "generate",
        "--profile",
        "chat",
        "--sessions",
        "5",
        "--seed",
        "3",
        "--param",
        "turns_max=2",
        "-o",
        str(path),
    )
    assert code == 0, out
    assert f"wrote {path}: 5 chat sessions" in out
    assert read_trace(path) == generate("chat", 5, 3, {"turns_max": 2})


def test_generate_refuses_an_unknown_parameter(tmp_path: Path) -> None:
    code, _, err = _run(
        "trace", "generate", "--profile", "rag", "--param", "docs=3", "-o", str(tmp_path / "t")
    )
    assert code == 2
    assert "unknown parameter(s) docs of trace profile 'rag' (known: " in err
    code, _, err = _run(
        "trace", "generate", "--profile", "rag", "--param", "docs", "-o", str(tmp_path / "t")
    )
    assert (code, "expected name=number, got 'docs'" in err) == (2, True)
    assert not (tmp_path / "t").exists()


def test_inspect_prints_shape_and_implied_hit_rate() -> None:
    code, out, _ = _run("trace", "inspect", str(REPO / "examples/traces/coding-small.jsonl"))
    assert code == 0, out
    assert "8 sessions" in out
    assert "context per request" in out
    assert "Implied prefix-cache hit rate (unbounded cache, 64-token blocks" in out


def test_inspect_reads_mooncake_as_json() -> None:
    code, out, _ = _run("trace", "inspect", SAMPLE, "--format", "mooncake", "-o", "json")
    assert code == 0, out
    summary = json.loads(out)
    assert (summary["sessions"], summary["requests"], summary["block_size"]) == (10, 10, 512)
    assert round(summary["implied_hit_pct_engine"], 2) == 65.82
    code, out, _ = _run(
        "trace", "inspect", SAMPLE, "--format", "mooncake", "--block-size", "256", "-o", "csv"
    )
    assert code == 2, "256-token blocks do not fit the sample's hash_ids"


def test_inspect_names_the_broken_line_and_exits_2(tmp_path: Path) -> None:
    code, _, err = _run("trace", "inspect", SAMPLE)
    assert code == 2
    assert f"{SAMPLE}:1: not an Arena trace header" in err
    assert "read it as format mooncake" in err
    code, _, err = _run("trace", "inspect", SAMPLE, "--block-size", "512")
    assert code == 2
    assert "applies to --format mooncake only" in err


def test_inspect_csv_has_one_row_per_quantity() -> None:
    code, out, _ = _run("trace", "inspect", SAMPLE, "--format", "mooncake", "-o", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "quantity,unit,count,mean,p50,p95,max"
    assert lines[3].startswith("context per request,tokens,10,1866.8,")
