"""``arenactl report`` on a real controller: imported DGX Spark and H200 rows plus a simulated
job with GPU telemetry, the page parsed back and checked against ``show`` and ``rank``."""

import asyncio
import base64
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from arena.agent.settings import AgentSettings
from arena.client.cli import cli
from arena.client.report.write import num
from arena.common.analysis.rank import PRESETS
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, lease_one_job, long_leases, run_leased
from tests.integration.test_export import H200, SUITE
from tests.prerequisites import SPARK_MISSING, SPARK_RESULTS, requires
from tests.telemetry_nvml_double import FakeNvml

REPO = Path(__file__).resolve().parents[2]
SPARK = SPARK_RESULTS / "lfm2.5"
QWEN = SPARK.parent / "qwen-3.8/qwen-3.8-27b/bf16"
"""p95 TTFT over 10 s at its lowest rate: capacity ``none`` under every limit."""
H200_ROWS = REPO / "docs/results/h200/llama-1b"
SMALL = [REPO / "docs/results/h200/llama-small", REPO / "docs/results/cpu/llama-small"]
"""One model on an H200 and on a CPU: the hardware compare."""
MODELS = REPO / "examples/models.yaml"
SECTIONS = [
    "summary",
    "ranking",
    "throughput",
    "latency",
    "pareto",
    "capacity",
    "telemetry",
    "compare",
    "provenance",
]
pytestmark = requires(SPARK.is_dir(), SPARK_MISSING)


class Page(HTMLParser):
    """What the checks read: external references, ids, tables' cells, figures, job entries."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.references: list[str] = []
        self.ids: set[str] = set()
        self.tables: dict[str, list[list[tuple[str | None, str]]]] = {}
        self.figures: dict[str, Any] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.compares: dict[str, list[tuple[dict[str, Any], list[dict[str, Any]]]]] = {}
        self._compare: str | None = None
        self._table: str | None = None
        self._cell: list[Any] | None = None
        self._script: str | None = None
        self._job: str | None = None
        self._text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src") or tag == "link" and found.get("href"):
            self.references.append(str(found.get("src") or found.get("href")))
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "table" and found.get("data-model"):
            self._compare = str(found["data-model"])
            self.compares[self._compare] = []
        elif tag == "tr" and self._compare and found.get("data-metric"):
            self.compares[self._compare].append((found, []))
        elif tag == "td" and self._compare and self.compares[self._compare]:
            self.compares[self._compare][-1][1].append(found)
        if tag == "table" and found.get("data-preset"):
            self._table = str(found["data-preset"])
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag == "td" and self._table:
            self._cell = [found.get("data-value"), ""]
        elif tag == "script" and str(found.get("id", "")).endswith("-json"):
            self._script = str(found["id"]).removesuffix("-json")
            self._text = []
        elif tag == "details" and found.get("data-job"):
            self._job = str(found["data-job"])
            self.jobs[self._job] = {"labels": str(found["data-labels"]).split(), "text": []}

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = self._compare = None
        elif tag == "td" and self._table and self._cell is not None:
            self.tables[self._table][-1].append((self._cell[0], self._cell[1].strip()))
            self._cell = None
        elif tag == "script" and self._script:
            self.figures[self._script] = json.loads("".join(self._text))
            self._script = None
        elif tag == "details":
            self._job = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1] += data
        if self._script:
            self._text.append(data)
        if self._job:
            self.jobs[self._job]["text"].append(data)


def values(array: Any) -> list[float]:
    """A figure array as numbers: plotly writes numpy arrays as base64 typed arrays."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


async def arenactl(controller: Controller, *args: str) -> str:
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["--controller", address(controller), *args]
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller")


async def test_the_report_shows_every_section_with_the_numbers_of_show_and_rank(
    controller: Controller, tmp_path: Path
) -> None:
    link, lease, sim_run = await lease_one_job(controller, SUITE, "h200-box", H200)
    settings = AgentSettings(
        state_dir=tmp_path / "agent", name="h200-box", telemetry_interval_s=0.1
    )
    await run_leased(link, lease, settings, FakeNvml([300.0]))
    await arenactl(controller, "import", str(SPARK))
    for folder in [H200_ROWS, *SMALL]:
        await arenactl(controller, "import", str(folder))
    await arenactl(controller, "import", str(QWEN))
    out = tmp_path / "report.html"
    said = await arenactl(
        controller, "report", "--models", str(MODELS), "--include-unverified", "-o", str(out)
    )
    assert f"wrote {out}" in said
    page = Page(out.read_text())

    assert page.references == []  # plotly.js and the styles are inline: no network needed
    assert set(SECTIONS) <= page.ids

    for preset in PRESETS:
        ranked_by = ["rank", "--preset", preset, "--models", str(MODELS), "-o", "json"]
        ranked_by.append("--include-unverified")
        ranking = json.loads(await arenactl(controller, *ranked_by))
        rows = page.tables[preset][1:]  # the header row has no cells
        assert len(rows) == len(ranking["ranked"]) > 0
        for row, ranked in zip(rows, ranking["ranked"], strict=True):
            entry = ranked["entry"]
            texts = [text for _, text in row]
            assert texts[0] == ranked["place"]  # "=2" where rank intervals overlap
            assert texts[2:7] == [
                entry["model"],
                entry["profile"],
                entry["engine"],
                entry["hardware"],
                entry["origin"],
            ]
            numbers = row[7:13]
            keys = ["score", "q", "g", "e", "ttft_ms", "ttft_p95_ms"]
            for (value, text), key, digits in zip(numbers, keys, [1, 1, 1, 2, 0, 0], strict=True):
                expected = ranked[key]
                assert (float(value) if value is not None else None) == expected, (preset, key)
                assert text == num(expected, digits), (preset, key)

    shown = json.loads(await arenactl(controller, "show", sim_run, "-o", "json"))
    (sim_job,) = shown["jobs"]
    chat = next(b for b in sim_job["benchmarks"] if b["id"] == "01-chat")
    traces = [t for t in page.figures["tput-01-chat"]["data"] if "[simulated]" in t["name"]]
    assert traces and all(t["line"]["dash"] == "dot" for t in traces)
    plotted = {
        variant: y
        for trace in traces
        for (variant, _), y in zip(trace["customdata"], values(trace["y"]), strict=True)
    }
    assert plotted == {v["key"]: v["metrics"]["tg_throughput"]["mean"] for v in chat["variants"]}

    entry = page.jobs[sim_job["job_id"]]
    assert "simulated" in entry["labels"] and "SIMULATED" not in entry["text"]
    assert "simulated" in "".join(entry["text"])  # the visible badge
    assert "name: export-test" in "".join(entry["text"])  # the suite file, as submitted
    imported = [job for job in page.jobs.values() if "imported" in job["labels"]]
    assert len(imported) == 5
    assert any("lfm2.5/lfm2.5-2.6b/bf16" in "".join(job["text"]) for job in imported)

    telemetry = page.figures[f"telemetry-{sim_job['job_id']}"]
    assert {t["name"] for t in telemetry["data"]} == {"GPU 0"}
    assert max(values(telemetry["data"][0]["y"])) == pytest.approx(300.0)
    assert any(
        anchor.startswith("telemetry-") and anchor != f"telemetry-{sim_job['job_id']}"
        for anchor in page.figures
    )
    assert {"ttft-01-chat", "itl-01-chat", "ttft-02-sweep", "pareto-front", "capacity-bars"} <= set(
        page.figures
    )
    capacity = page.figures["capacity-bars"]["data"]
    assert [trace["name"] for trace in capacity] == [
        "p95 TTFT < 2 s",
        "p95 TTFT < 5 s",
        "p95 TTFT < 10 s",
    ]
    for trace in capacity:
        bars = dict(zip(trace["y"], trace["text"], strict=True))
        qwen = [text for name, text in bars.items() if name.startswith("Qwen/Qwen3.8-27B")]
        lfm = [text for name, text in bars.items() if "LFM2.5" in name]
        assert (qwen, lfm) == (["none"], ["1"])  # written where the bar would be

    compared = json.loads(await arenactl(controller, "compare", "--model", "small", "-o", "json"))
    assert len({column["hardware"] for column in compared["columns"]}) == 2
    compare_rows = page.compares[compared["columns"][0]["model"]]
    assert len(compare_rows) == len(compared["rows"]) > 10
    jobs = [column["job_id"] for column in compared["columns"]]
    metrics = {}
    for job_id in jobs:
        run_id = next(c["run_id"] for c in compared["columns"] if c["job_id"] == job_id)
        (job,) = json.loads(await arenactl(controller, "show", run_id, "-o", "json"))["jobs"]
        metrics[job_id] = {
            (b["id"], v["key"]): v["metrics"] for b in job["benchmarks"] for v in b["variants"]
        }
    for (attrs, cells), row in zip(compare_rows, compared["rows"], strict=True):
        assert (attrs["data-benchmark"], attrs["data-variant"], attrs["data-metric"]) == (
            row["benchmark"],
            row["variant"],
            row["metric"],
        )
        valued = [c for c in cells if "data-job" in c]
        expected = [
            (j, v, r)
            for j, v, r in zip(jobs, row["values"], row["ratios"], strict=True)
            if v is not None and v["mean"] is not None
        ]
        assert len(valued) == len(expected)
        for cell, (job_id, stat, ratio) in zip(valued, expected, strict=True):
            assert cell["data-job"] == job_id and float(cell["data-value"]) == stat["mean"]
            assert float(cell["data-ratio"]) == ratio
            if row["metric"] != "joules_per_output_token":
                shown_stat = metrics[job_id][(row["benchmark"], row["variant"])][row["metric"]]
                assert float(cell["data-value"]) == shown_stat["mean"]


async def test_a_selection_that_matches_nothing_writes_no_file(
    controller: Controller, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["--controller", address(controller), "report", "--model", "nothing", "-o", str(out)],
    )
    assert result.exit_code == 1
    assert "no results match: the last 1000 runs; model contains 'nothing'" in result.output
    assert not out.exists()
