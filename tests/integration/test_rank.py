"""arenactl aggregate and rank over DGX Spark results imported into a real controller; every
expected number is read from the source files here with naive readers and computed by hand."""

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from statistics import fmean
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.client.commands.analysis import stored_jobs
from arena.common.analysis.aggregate import aggregate, pool
from arena.common.analysis.rank import rank
from arena.common.schemas.results import JobResult, MetricStat
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.settings import ControllerSettings
from tests.prerequisites import SPARK_MISSING, SPARK_RESULTS, requires
from tests.support import ControllerThread

GEMMA = SPARK_RESULTS / "gemma-4"
PROFILES = {
    "google/gemma-4-31B-it": GEMMA / "gemma-4-31b-it/bf16",
    "nvidia/Gemma-4-31B-IT-NVFP4": GEMMA / "gemma-4-31b-it/nvfp4",
    "google/gemma-4-E4B-it": GEMMA / "gemma-4-e4b-it/bf16",
}
pytestmark = requires(GEMMA.is_dir(), SPARK_MISSING)
MODELS_YAML = """models:
  google/gemma-4-31B-it@bf16: {memory_gb: 60, quality: {mmlu_pro: 70, gpqa: 50}}
  nvidia/Gemma-4-31B-IT-NVFP4: {memory_gb: 20, quality: {mmlu_pro: 66, gpqa: 50}}
  google/gemma-4-E4B-it: {memory_gb: 16}
"""


def arenactl(server: ControllerThread, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--controller", server.address, *args])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerThread]:
    settings = ControllerSettings(listen="127.0.0.1:0", data_dir=tmp_path_factory.mktemp("rank"))
    with ControllerThread(settings) as running:
        for folder in PROFILES.values():
            assert arenactl(running, "import", str(folder)).exit_code == 0
        yield running


def benchy_rows(folder: Path, bench: str) -> dict[str, tuple[float, float]]:
    """``test (cN)`` → (mean, std) of one llama-benchy column, read from the Markdown table."""
    rows: dict[str, tuple[float, float]] = {}
    for line in (folder / f"{bench}.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 9 and re.fullmatch(r"(pp|tg)\d+ \(c\d+\)", cells[1]):
            column = 2 if cells[1].startswith("tg") else 8  # t/s (total), e2e_ttft (ms)
            mean, std = cells[column].split(" ± ")
            rows[cells[1]] = (float(mean), float(std))
    return rows


def chat_g(folder: Path) -> float:
    return fmean(mean for test, (mean, _) in benchy_rows(folder, "01-chat").items() if "tg" in test)


def scaled(values: dict[str, float]) -> dict[str, float]:
    low, high = min(values.values()), max(values.values())
    return {key: (value - low) / (high - low) * 100 for key, value in values.items()}


def test_aggregate_shows_each_variant_with_the_files_mean_std_and_cv(
    server: ControllerThread,
) -> None:
    result = arenactl(
        server, "aggregate", "--benchmark", "01-chat", "--include-unverified", "-o", "csv"
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 3 * 3  # three entries × c1/c5/c10
    for model, folder in PROFILES.items():
        expected = {
            test: stat for test, stat in benchy_rows(folder, "01-chat").items() if "tg" in test
        }
        mine = {row["variant"]: row for row in rows if row["model"] == model}
        for test, (mean, std) in expected.items():
            row = mine[f"pp1024/tg1024/d0/c{test.split('(c')[1].rstrip(')')}"]
            assert row["status"] == "ok" and row["runs"] == "3" and row["jobs"] == "1"
            assert row["metric"] == "tg_throughput"
            assert float(row["mean"]) == pytest.approx(mean, abs=0.006)
            assert float(row["std"]) == pytest.approx(std, abs=0.006)
            cv = std / mean * 100
            assert float(row["cv_pct"]) == pytest.approx(cv, abs=0.05)
            if abs(cv - 2) > 0.1:
                assert row["unstable"] == str(cv > 2)


def test_pooling_is_the_statistics_of_every_observation_together() -> None:
    first, second = [1.0, 2.0, 3.0], [4.0, 5.0]
    stats = [MetricStat(mean=fmean(v), std=float(np.std(v)), n=len(v)) for v in (first, second)]
    pooled = pool(stats)
    assert pooled.n == 5
    assert pooled.mean == pytest.approx(3.0)
    assert pooled.std == pytest.approx(float(np.std(first + second)))


def test_repeated_runs_pool_while_simulated_and_invalid_stand_apart(
    server: ControllerThread,
) -> None:
    with ArenaClient(server.address, DEV_USER_TOKEN) as client:
        (job,) = [j for j in stored_jobs(client) if j.model == "google/gemma-4-E4B-it"]
    simulated = job.model_copy(update={"simulated": True})
    benchmarks = [b.model_copy(update={"valid": b.id != "01-chat"}) for b in job.benchmarks]
    invalid = job.model_copy(update={"benchmarks": benchmarks})
    rows = aggregate([job, job, simulated, invalid], include_unverified=True)
    chat = [r for r in rows if r.benchmark == "01-chat" and r.variant.endswith("/c5")]
    by_status = {r.status: r for r in chat}
    assert sorted(by_status) == ["invalid", "ok", "simulated"]
    mean, std = benchy_rows(PROFILES["google/gemma-4-E4B-it"], "01-chat")["tg1024 (c5)"]
    good = by_status["ok"]
    assert (good.jobs, good.runs) == (2, 6)  # the same job twice: two stored runs of 3
    assert good.throughput is not None
    assert good.throughput.mean == pytest.approx(mean, abs=0.006)
    assert good.throughput.std == pytest.approx(std, abs=0.006)
    assert by_status["simulated"].jobs == by_status["invalid"].jobs == 1

    only_bad = rank([r for r in rows if r.status != "ok"], "chat", {})
    assert only_bad.ranked == []
    assert sorted(x.reason for x in only_bad.excluded) == ["invalid, simulated"]


def test_chat_ranking_matches_a_hand_computed_score(
    server: ControllerThread, tmp_path: Path
) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(MODELS_YAML)
    unsigned = arenactl(server, "rank", "--preset", "chat", "-o", "json")
    assert json.loads(unsigned.output)["ranked"] == []  # the fixtures are unsigned imports
    assert {x["reason"] for x in json.loads(unsigned.output)["excluded"]} == {"unverified"}
    result = arenactl(
        server,
        "rank",
        "--preset",
        "chat",
        "--models",
        str(models),
        "--include-unverified",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    ranking: dict[str, Any] = json.loads(result.output)
    got = {r["entry"]["model"]: r for r in ranking["ranked"]}
    assert set(got) == set(PROFILES) and ranking["excluded"] == []

    g = {model: chat_g(folder) for model, folder in PROFILES.items()}
    memory = {"google/gemma-4-31B-it": 60, "nvidia/Gemma-4-31B-IT-NVFP4": 20}
    memory["google/gemma-4-E4B-it"] = 16
    e = {model: g[model] / memory[model] for model in g}
    q = {"google/gemma-4-31B-it": 60.0, "nvidia/Gemma-4-31B-IT-NVFP4": 58.0}
    gs, es, qs = scaled(g), scaled(e), scaled(q)
    expected = {model: (60 * qs[model] + 30 * gs[model] + 10 * es[model]) / 100 for model in q}
    # no quality scores: Q is missing, G and E carry the score with weights 30/40 and 10/40
    expected["google/gemma-4-E4B-it"] = (30 * gs["google/gemma-4-E4B-it"] + 10 * 100) / 40
    for model, score in expected.items():
        assert got[model]["score"] == pytest.approx(score, abs=0.01)
        assert got[model]["g"] == pytest.approx(g[model], abs=0.01)
    assert got["google/gemma-4-E4B-it"]["q"] is None
    assert got["google/gemma-4-E4B-it"]["weights"] == {"G": 0.75, "E": 0.25}
    assert [r["rank"] for r in sorted(got.values(), key=lambda r: -r["score"])] == [1, 2, 3]

    pp_rows = benchy_rows(PROFILES["google/gemma-4-31B-it"], "01-chat")
    ttft = fmean(mean for test, (mean, _) in pp_rows.items() if test.startswith("pp"))
    assert got["google/gemma-4-31B-it"]["ttft_ms"] == pytest.approx(ttft, abs=0.01)
    assert got["google/gemma-4-31B-it"]["slow"] is (ttft > 2000)


def test_reasoning_preset_reads_the_v2_benchmark_and_vllm_ttft(server: ControllerThread) -> None:
    result = arenactl(
        server,
        "rank",
        "--preset",
        "reasoning",
        "--weights",
        "0,1,0",
        "--include-unverified",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    got = {r["entry"]["model"]: r for r in json.loads(result.output)["ranked"]}
    sources = {m: json.loads((f / "09-reasoning.json").read_text()) for m, f in PROFILES.items()}
    g = {model: source["output_throughput"] for model, source in sources.items()}
    for model, source in sources.items():
        assert got[model]["g"] == pytest.approx(g[model], rel=1e-6)
        assert got[model]["score"] == pytest.approx(scaled(g)[model], abs=0.01)
        assert got[model]["ttft_ms"] == pytest.approx(source["median_ttft_ms"], rel=1e-6)
        assert got[model]["ttft_p95_ms"] == pytest.approx(source["p95_ttft_ms"], rel=1e-6)


def test_rank_markdown_export_and_hardware_filter(server: ControllerThread) -> None:
    result = arenactl(server, "rank", "--preset", "batch", "--hardware", "spark", "-o", "md")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("| rank | place | rank_range | model |")
    assert lines[1].startswith("| --- |")
    assert len(lines) == 2 + len(PROFILES)
    elsewhere = arenactl(server, "rank", "--hardware", "H200", "-o", "json")
    assert elsewhere.exit_code == 0
    assert json.loads(elsewhere.output)["ranked"] == json.loads(elsewhere.output)["excluded"] == []


def test_a_bad_models_file_or_weights_are_refused(server: ControllerThread, tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text("models:\n  some/model: {memory_gb: lots}\n")
    refused = arenactl(server, "rank", "--models", str(models))
    assert refused.exit_code == 2 and "not a models file" in refused.output
    assert arenactl(server, "rank", "--weights", "1,2").exit_code == 2
    assert arenactl(server, "rank", "--weights", "0,0,0").exit_code == 2


def stored(server: ControllerThread) -> dict[str, JobResult]:
    with ArenaClient(server.address, DEV_USER_TOKEN) as client:
        return {job.model: job for job in stored_jobs(client)}


def test_scores_are_read_on_the_benchmarks_every_entry_shares(server: ControllerThread) -> None:
    jobs = stored(server)
    small = jobs["google/gemma-4-E4B-it"]
    lacking = small.model_copy(
        update={"benchmarks": [b for b in small.benchmarks if b.id != "05-big-context"]}
    )
    others = [job for model, job in jobs.items() if model != small.model]
    rows = aggregate([lacking, *others], include_unverified=True)
    ranking = rank(rows, "aggregate", {})
    got = {r.entry.model: r for r in ranking.ranked}
    assert got[small.model].missing == ["big-context"]
    assert all(r.missing == [] for model, r in got.items() if model != small.model)
    shared = {r.benchmarks.__len__() for r in got.values()}
    assert shared == {10} and "big-context" not in got[small.model].benchmarks
    for model, ranked in got.items():
        per_bench: dict[str, list[float]] = {}
        for row in rows:
            stat = row.throughput
            if row.entry.model == model and stat is not None and stat.mean is not None:
                per_bench.setdefault(row.benchmark, []).append(stat.mean)
        expected = fmean(fmean(v) for b, v in per_bench.items() if b != "05-big-context")
        assert ranked.g == pytest.approx(expected, rel=1e-9), model


def test_entries_whose_rank_intervals_overlap_are_tied(server: ControllerThread) -> None:
    jobs = stored(server)
    small = jobs["google/gemma-4-E4B-it"]
    twin = small.model_copy(update={"hardware": "another Spark"})
    rows = aggregate([small, twin, *jobs.values()], include_unverified=True)
    ranking = rank(rows, "chat", {}, (0, 1, 0))
    by_hw = {(r.entry.model, r.entry.hardware): r for r in ranking.ranked}
    a, b = by_hw[(small.model, small.hardware or "")], by_hw[(small.model, "another Spark")]
    assert a.place == b.place == "=1"
    assert (a.rank_low, a.rank_high) == (b.rank_low, b.rank_high) == (1, 2)
    slowest = by_hw[("google/gemma-4-31B-it", small.hardware or "")]
    assert slowest.place == "4" and (slowest.rank_low, slowest.rank_high) == (4, 4)
    again = rank(rows, "chat", {}, (0, 1, 0))  # seeded: the same intervals every time
    assert [r.model_dump() for r in again.ranked] == [r.model_dump() for r in ranking.ranked]


def test_cost_per_million_tokens_at_a_per_user_speed(server: ControllerThread) -> None:
    folder = PROFILES["google/gemma-4-E4B-it"]
    tg = {test: row for test, row in benchy_rows(folder, "01-chat").items() if "tg" in test}
    assert tg["tg1024 (c10)"][0] == 134.08  # t/s (total); its t/s (req) is 21.47, c5's 21.46
    args = ["rank", "--preset", "chat", "--include-unverified", "-o", "json"]
    result = arenactl(server, *args, "--gpu-hour-price", "2.5")
    assert result.exit_code == 0, result.output
    got = {r["entry"]["model"]: r for r in json.loads(result.output)["ranked"]}
    cost = got["google/gemma-4-E4B-it"]["cost"]
    assert cost["variant"] == "pp1024/tg1024/d0/c10" and cost["gpus"] == 1
    # llama-benchy kept only the decode rate: the cost is read on it, and said to be a floor
    assert cost["rate_key"] == "tg_throughput"
    assert cost["usd_per_mtok"] == pytest.approx(2.5 / (134.08 * 3600) * 1e6, rel=1e-4)  # 5.18
    assert "cost is a lower bound" in cost["note"]
    # no power per load level and no token count: no tok/kWh (was decode t/s ÷ the file's
    # mean power over every load level, 1.12e7)
    assert cost["tokens_per_kwh"] is None and "no tok/kWh" in cost["note"]

    strict = arenactl(server, *args, "--gpu-hour-price", "2.5", "--per-user-tps", "21.5")
    cost = {r["entry"]["model"]: r for r in json.loads(strict.output)["ranked"]}[
        "google/gemma-4-E4B-it"
    ]["cost"]
    assert cost["usd_per_mtok"] is None and cost["note"] == "no point at ≥ 21.5 tok/s per user"

    table = arenactl(
        server, "rank", "--preset", "chat", "--include-unverified", "--gpu-hour-price", "2.5"
    )
    assert "USD/M out tok" in table.output and "rank 95 %" in table.output


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--gpu-hour-price", "-1"),
        ("--gpu-hour-price", "0"),
        ("--gpu-hour-price", "nan"),
        ("--gpu-hour-price", "1e9"),
        ("--per-user-tps", "0"),
        ("--per-user-tps", "inf"),
        ("--per-user-tps", "lots"),
    ],
)
def test_bad_prices_and_speeds_are_refused(
    server: ControllerThread, option: str, value: str
) -> None:
    refused = arenactl(server, "rank", option, value)
    assert refused.exit_code == 2, refused.output
    assert option in refused.output
