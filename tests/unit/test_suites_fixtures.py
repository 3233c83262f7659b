"""Cross-check the built-in arena-v2 set against the reference runs' recorded commands."""

import json
import re
import shlex
from pathlib import Path

import pytest

from arena.common.schemas.suite import ClosedLoopBenchmark, OpenLoopBenchmark
from arena.common.suites.builtin import builtin_benchmarks
from arena.common.suites.variants import open_variants
from tests.prerequisites import SPARK_MISSING, SPARK_RESULTS, requires

pytestmark = requires(SPARK_RESULTS.is_dir(), SPARK_MISSING)

BENCHMARKS = {bench.id: bench for bench in builtin_benchmarks("arena-v2")}


def command_of(markdown: Path) -> dict[str, list[str]]:
    """The ``## Command`` block's options: ``--flag v1 v2`` → {"flag": ["v1", "v2"]}."""
    block = re.search(r"## Command\s+```bash\n(.+?)\n```", markdown.read_text(), re.S)
    assert block is not None, markdown
    options: dict[str, list[str]] = {}
    current: list[str] = []
    for word in shlex.split(block.group(1)):
        if word.startswith("--"):
            current = options.setdefault(word[2:], [])
        else:
            current.append(word)
    return options


def numbers(values: list[str]) -> list[float]:
    return [float(v) for v in values]


def command_files() -> list[Path]:
    """Every benchmark report with a recorded command (the rate sweep's report has none)."""
    return [
        p for p in sorted(SPARK_RESULTS.glob("*/*/*/[01][0-9]-*.md")) if p.stem != "11-rate-sweep"
    ]


def test_fixtures_found() -> None:
    stems = {path.stem for path in command_files()}
    assert stems == set(BENCHMARKS) - {"11-rate-sweep"}
    assert len(command_files()) >= 10 * len(stems)  # 10 profiles in tests/data; 21 in the full set


@pytest.mark.parametrize("markdown", command_files(), ids=lambda p: "/".join(p.parts[-4:]))
def test_command_matches_builtin(markdown: Path) -> None:
    options = command_of(markdown)
    bench = BENCHMARKS[markdown.stem]
    if isinstance(bench, ClosedLoopBenchmark):
        assert numbers(options["pp"]) == bench.pp
        assert numbers(options["tg"]) == bench.tg
        assert numbers(options["depth"]) == bench.depth
        assert numbers(options["concurrency"]) == bench.concurrency
        assert options["latency-mode"] == [bench.latency_mode]
        return
    assert isinstance(bench, OpenLoopBenchmark)
    assert options["dataset-name"] == [bench.dataset]
    assert numbers(options["num-prompts"]) == [bench.num_prompts]
    assert numbers(options["request-rate"]) == bench.request_rate
    assert numbers(options["burstiness"]) == [bench.burstiness]
    assert numbers(options["metric-percentiles"][0].split(",")) == bench.percentiles
    assert numbers(options.get("max-concurrency", [])) == (
        [bench.max_concurrency] if bench.max_concurrency else []
    )
    if bench.dataset == "random":
        assert numbers(options["random-input-len"]) == [bench.input_len]
        assert numbers(options["random-output-len"]) == [bench.output_len]
        assert numbers(options["random-range-ratio"]) == [bench.range_ratio]


@pytest.mark.parametrize(
    "run",
    sorted(SPARK_RESULTS.glob("*/*/*/11-rate-sweep.log")),
    ids=lambda p: "/".join(p.parts[-4:-1]),
)
def test_rate_sweep_matches_logs_and_results(run: Path) -> None:
    sweep = BENCHMARKS["11-rate-sweep"]
    assert isinstance(sweep, OpenLoopBenchmark)
    log = run.read_text()
    assert set(re.findall(r"random_input_len=(\d+)", log)) == {str(sweep.input_len)}
    assert set(re.findall(r"random_output_len=(\d+)", log)) == {str(sweep.output_len)}
    assert set(re.findall(r"random_range_ratio='([\d.]+)'", log)) == {f"{sweep.range_ratio}"}
    steps = [(v, run.with_name(f"11-rate-sweep-{v.rate:.1f}.json")) for v in open_variants(sweep)]
    assert steps[0][1].exists()  # a run aborted past its capacity lacks only the later steps
    for variant, step in steps:
        if not step.exists():
            continue
        result = json.loads(step.read_text())
        assert result["num_prompts"] == variant.num_prompts
        assert result["burstiness"] == sweep.burstiness
        assert result["max_concurrency"] is None
