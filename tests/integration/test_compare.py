"""arenactl compare on a real controller: a simulated job measured here beside the committed H200
and CPU rows (docs/results), and two DGX Spark precisions imported from the reference fixture.
Expected numbers are read from the source files (or from ``show -o json``) here."""

import asyncio
import csv
import io
import json
from pathlib import Path
from statistics import fmean, pstdev
from typing import Any

import pytest
from click.testing import CliRunner, Result

from arena.agent.settings import AgentSettings
from arena.client.cli import cli
from arena.common.schemas.agent import HardwareInfo
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.conftest import REPO
from tests.direct_job import address, lease_one_job, long_leases, run_leased
from tests.prerequisites import SPARK_MISSING, SPARK_RESULTS, requires
from tests.telemetry_nvml_double import FakeNvml

RESULTS = REPO / "docs" / "results"
GEMMA = SPARK_RESULTS / "gemma-4/gemma-4-31b-it"
SUITE = """
name: compare-test
quick: 0.5
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
targets:
  - name: any
runs: 2
benchmarks:
  - kind: open_loop
    id: 06-office-baseline
    input_len: 32
    output_len: 16
    num_prompts: 8
    request_rate: [3]
"""
"""``quick: 0.5`` doubles the rate: variant ``rate6``, as in the committed rows."""
BOX = HardwareInfo(
    cpu_model="Xeon",
    cpu_arch="x86_64",
    cpu_cores=8,
    ram_gb=64,
    os="Linux",
    kernel="6.8",
    hostname="sim-box",
    gpus=[],
)


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "compare")


async def arenactl(controller: Controller, *args: str, code: int = 0) -> Result:
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["--controller", address(controller), *args]
    )
    assert result.exit_code == code, result.output
    return result


async def as_json(controller: Controller, *args: str) -> Any:
    return json.loads((await arenactl(controller, *args, "-o", "json")).output)


def output_throughputs(folder: Path) -> list[float]:
    """vLLM's ``output_throughput`` of each run of rate 6, straight from the result files."""
    files = sorted(folder.glob("06-office-baseline.rate6.run*.json"))
    return [json.loads(path.read_text())["output_throughput"] for path in files]


def row(comparison: dict[str, Any], bench: str, variant: str, metric: str) -> dict[str, Any]:
    (found,) = [
        r
        for r in comparison["rows"]
        if (r["benchmark"], r["variant"], r["metric"]) == (bench, variant, metric)
    ]
    return found


async def simulated_run(controller: Controller, tmp_path: Path) -> str:
    link, lease, run_id = await lease_one_job(controller, SUITE, "sim-box", BOX)
    settings = AgentSettings(state_dir=tmp_path / "agent", name="sim-box", telemetry_interval_s=0.1)
    await run_leased(link, lease, settings, FakeNvml([200.0]))
    return run_id


async def test_compare_lines_up_a_simulated_job_with_imported_hardware_rows(
    controller: Controller, tmp_path: Path
) -> None:
    sim = await simulated_run(controller, tmp_path)
    await arenactl(controller, "import", str(RESULTS))
    runs = {r["suite"]: r["run_id"] for r in await as_json(controller, "runs")}
    cpu, h200 = (runs[f"import:{box}/llama-small/transformers"] for box in ("cpu", "h200"))
    # by default the ratios are against the column with a value in the most rows: the H200's
    # (the CPU row has no energy figure, the simulated job fewer benchmarks)
    assert (await as_json(controller, "compare", sim, cpu, h200))["baseline"] == 2
    comparison = await as_json(controller, "compare", sim, cpu, h200, "--baseline", "1")

    columns = comparison["columns"]
    assert [c["source"] for c in columns] == ["simulated", "unverified", "unverified"]
    assert [c["run_id"] for c in columns] == [sim, cpu, h200] and comparison["baseline"] == 0
    out = row(comparison, "06-office-baseline", "rate6", "output_throughput")
    shown = [await as_json(controller, "show", run_id) for run_id in (sim, cpu, h200)]
    served = [s["jobs"][0]["benchmarks"] for s in shown]
    for stat, benches in zip(out["values"], served, strict=True):
        (office,) = [b for b in benches if b["id"] == "06-office-baseline"]
        assert stat == office["variants"][0]["metrics"]["output_throughput"]
    for stat, box in zip(out["values"][1:], ("cpu", "h200"), strict=True):
        source = output_throughputs(RESULTS / box / "llama-small" / "transformers")
        assert stat["mean"] == pytest.approx(fmean(source), rel=1e-12)
        assert stat["std"] == pytest.approx(pstdev(source), rel=1e-9)
    means = [stat["mean"] for stat in out["values"]]
    assert out["ratios"] == pytest.approx([1.0, means[1] / means[0], means[2] / means[0]])

    energy = row(comparison, "06-office-baseline", "(whole benchmark)", "joules_per_output_token")
    for stat, benches in zip(energy["values"], served, strict=True):
        (office,) = [b for b in benches if b["id"] == "06-office-baseline"]
        figure = (office["energy"] or {}).get("joules_per_output_token")
        assert (stat and stat["mean"]) == figure
    assert energy["values"][0] is not None and energy["values"][2] is not None  # FakeNvml, H200

    notes = {note["kind"]: note for note in comparison["notes"]}
    labels = [c["label"] for c in columns]
    simulated = notes["simulated"]["values"]
    assert simulated == dict(zip(labels, ["simulated", "unverified", "unverified"], strict=True))
    version = columns[0]["engine_version"]
    assert version and notes["engine-version"]["values"][labels[0]] == f"simulated {version}"
    # an import names the engine that ran (its export's engine runtime), not "imported"
    assert notes["engine-version"]["values"][labels[1]] == "process version unknown"
    assert all(label in notes["simulated"]["text"] for label in labels)
    assert (
        version in notes["engine-version"]["text"] and labels[0] in notes["engine-version"]["text"]
    )
    # The committed rows' meta.json carries their suite (quick: 0.05); the import keeps it.
    quick = ["quick 0.5", "quick 0.05", "quick 0.05"]
    assert notes["quick"]["values"] == dict(zip(labels, quick, strict=True))
    assert notes["model"]["values"] == dict(
        zip(labels, ["tiny", "/tmp/llama-small", "/tmp/llama-small"], strict=True)
    )

    rebased = await as_json(controller, "compare", sim, cpu, h200, "--baseline", "2")
    again = row(rebased, "06-office-baseline", "rate6", "output_throughput")
    assert again["ratios"] == pytest.approx([means[0] / means[1], 1.0, means[2] / means[1]])
    by_label = await as_json(controller, "compare", sim, cpu, h200, "--baseline", "h200")
    by_run = await as_json(controller, "compare", sim, cpu, h200, "--baseline", h200)
    assert by_label["baseline"] == by_run["baseline"] == 2
    refused = await arenactl(controller, "compare", sim, cpu, h200, "--baseline", "llama", code=2)
    assert "matches 2 columns" in refused.output

    table = (await arenactl(controller, "compare", sim, cpu, h200)).output
    assert "not comparable: simulated vs measured: " in table
    assert "engine versions differ" in table and "×" in table


async def test_compare_as_csv_and_markdown_has_the_json_numbers_and_notes(
    controller: Controller,
) -> None:
    await arenactl(controller, "import", str(RESULTS))
    runs = {r["suite"]: r["run_id"] for r in await as_json(controller, "runs")}
    run_ids = [runs[f"import:{box}/llama-small/transformers"] for box in ("cpu", "h200")]
    comparison = await as_json(controller, "compare", *run_ids)
    text = (await arenactl(controller, "compare", *run_ids, "-o", "csv")).output
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(comparison["rows"]) > 0
    labels = [c["label"] for c in comparison["columns"]]
    for json_row, csv_row in zip(comparison["rows"], rows, strict=True):
        key = (json_row["benchmark"], json_row["variant"], json_row["metric"])
        assert (csv_row["benchmark"], csv_row["variant"], csv_row["metric"]) == key
        for label, value, ratio in zip(labels, json_row["values"], json_row["ratios"], strict=True):
            assert csv_row[f"{label} mean"] == ("" if value is None else str(value["mean"]))
            assert csv_row[f"{label} ratio"] == ("" if ratio is None else str(ratio))
    markdown = (await arenactl(controller, "compare", *run_ids, "-o", "md")).output
    assert markdown.count("\n| ") == len(comparison["rows"]) + 1
    for note in comparison["notes"]:
        assert f"- {note['text']}" in markdown


@requires(GEMMA.is_dir(), SPARK_MISSING)
async def test_compare_precisions_from_the_stored_results(controller: Controller) -> None:
    for profile in ("bf16", "nvfp4"):
        await arenactl(controller, "import", str(GEMMA / profile))
    comparison = await as_json(
        controller,
        "compare",
        "--model",
        "gemma-4-31b",
        "--benchmark",
        "01-chat",
        "--baseline",
        "nvfp4",
    )
    profiles = [c["profile"] for c in comparison["columns"]]
    assert sorted(profiles) == ["bf16", "nvfp4"]
    assert comparison["baseline"] == profiles.index("nvfp4")
    assert {r["benchmark"] for r in comparison["rows"]} == {"01-chat"}
    tg = row(comparison, "01-chat", "pp1024/tg1024/d0/c1", "tg_throughput")
    # llama-benchy's tables: "tg1024 (c1)", t/s (total): bf16 3.67 ± 0.01, nvfp4 6.92 ± 0.06
    published = {"bf16": (3.67, 0.01), "nvfp4": (6.92, 0.06)}
    for profile, stat in zip(profiles, tg["values"], strict=True):
        assert (stat["mean"], stat["std"]) == pytest.approx(published[profile], abs=0.005)
    bf16 = profiles.index("bf16")
    assert tg["ratios"][bf16] == pytest.approx(
        tg["values"][bf16]["mean"] / tg["values"][1 - bf16]["mean"]
    )
    kinds = {note["kind"] for note in comparison["notes"]}
    assert not kinds & {"model", "precision", "engine-version", "quick", "simulated"}
    refused = await arenactl(controller, "compare", code=2)
    assert "give run ids" in refused.output


async def test_compare_model_shows_both_boxes_with_the_spread_show_prints(
    controller: Controller,
) -> None:
    """The committed CPU and H200 rows of one model: each column's throughput row carries its
    run-to-run spread, the figure ``show`` serves as the variant's ``spread_pct``."""
    await arenactl(controller, "import", str(RESULTS))
    comparison = await as_json(controller, "compare", "--model", "llama-small")
    columns = comparison["columns"]
    assert sorted(c["hardware"].split(" (")[0] for c in columns) == [
        "CPU Intel(R) Xeon(R) Processor",
        "NVIDIA H200",
    ]
    served = {}
    for column in columns:
        (job,) = (await as_json(controller, "show", column["run_id"]))["jobs"]
        served[column["job_id"]] = {
            (b["id"], v["key"]): v["spread_pct"] for b in job["benchmarks"] for v in b["variants"]
        }
    throughput = {"01-chat": "tg_throughput", "06-office-baseline": "output_throughput"}
    spread_rows = [r for r in comparison["rows"] if r["metric"] == throughput[r["benchmark"]]]
    assert len(spread_rows) == 4  # c1, c5, c10 and rate6
    for found in comparison["rows"]:
        if found not in spread_rows:
            assert found["spreads"] == [None, None]  # the spread is the throughput's only
            continue
        expected = [served[c["job_id"]][(found["benchmark"], found["variant"])] for c in columns]
        assert found["spreads"] == expected and None not in expected

    table = (await arenactl(controller, "compare", "--model", "llama-small")).output
    flat = " ".join(table.split())
    for found in spread_rows:
        for value in found["spreads"]:
            assert f"(spread ±{value:.1f} %)" in flat
    assert "process version unknown" in table and "quick 0.05" in table


async def test_a_report_of_named_runs_puts_the_spark_row_beside_the_measured_ones(
    controller: Controller, tmp_path: Path
) -> None:
    await arenactl(controller, "import", str(RESULTS))
    await arenactl(controller, "import", str(REPO / "examples/results/dgx-spark-sample"))
    runs = {r["suite"]: r["run_id"] for r in await as_json(controller, "runs")}
    named = [
        runs["import:cpu/llama-small/transformers"],
        runs["import:h200/llama-small/transformers"],
        next(run_id for suite, run_id in runs.items() if "qwen-3.5-0.8b" in suite),
    ]
    out = tmp_path / "report.html"
    await arenactl(controller, "report", *named, "--include-unverified", "-o", str(out))
    page = out.read_text()
    section = page[page.index('<section id="compare">') :]
    section = section[: section.index("</section>")]
    selection = section[section.index('data-model="selection"') :]
    selection = selection[: selection.index("</table>")]
    comparison = await as_json(controller, "compare", *named)
    for column in comparison["columns"]:
        assert column["label"] in selection
    assert "NVIDIA DGX Spark" in selection and "vllm 0.26.0" in selection
    assert section.index('data-model="selection"') < section.index('data-model="/tmp/llama-small"')
    assert "models differ across hardware" in section
    assert selection.count('class="spread"') == 2 * 4  # two boxes, four throughput rows


async def test_one_gguf_on_the_h100_and_the_cpu_compares_with_the_spreads_each_box_measured(
    controller: Controller,
) -> None:
    """Issue 25's rows (docs/results/llama-1.1b): after ``import docs/results``, ``compare
    --model llama-1.1b`` puts the same GGUF's F16 and Q8_0 on the H100 and on the CPU side by
    side, each spread the one the measuring controller stated (not recomputed from the std),
    the llama.cpp build in the header, the CPU's accepted saturated client not invalidating."""
    await arenactl(controller, "import", str(RESULTS))
    comparison = await as_json(controller, "compare", "--model", "llama-1.1b", "--benchmark", "512")
    columns = comparison["columns"]
    assert sorted((c["hardware"].split(" (")[0], c["model"]) for c in columns) == [
        ("CPU AMD EPYC", "llama-1.1b/model-f16.gguf"),
        ("CPU AMD EPYC", "llama-1.1b/model-q8_0.gguf"),
        ("NVIDIA H100 80GB HBM3", "llama-1.1b/model-f16.gguf"),
        ("NVIDIA H100 80GB HBM3", "llama-1.1b/model-q8_0.gguf"),
    ]
    stated = {}
    for column in columns:
        box = "h100" if "H100" in column["hardware"] else "cpu"
        quant = column["model"].split("/")[-1]
        meta = json.loads(
            (
                RESULTS / "llama-1.1b" / f"{box}-one-model" / quant / "llama-cpp" / "meta.json"
            ).read_text()
        )
        stated[column["job_id"]] = meta["arena"]["validity"]["chat-512"]["spread_pct"]
    (c4,) = [
        r
        for r in comparison["rows"]
        if r["metric"] == "tg_throughput" and r["variant"] == "pp512/tg128/d0/c4"
    ]
    assert c4["spreads"] == pytest.approx(
        [stated[c["job_id"]]["pp512/tg128/d0/c4"] for c in columns]
    )
    texts = " ".join(note["text"] for note in comparison["notes"])
    assert "02-office-512: not valid" in texts  # the warm prompt cache, on every box
    assert "01-chat-512: not valid" not in texts  # the CPU's saturated client was accepted
    table = " ".join(
        (await arenactl(controller, "compare", "--model", "llama-1.1b")).output.split()
    )
    assert "b0-unknown" in table and "b1-0c1e570" in table  # each box's llama.cpp build
