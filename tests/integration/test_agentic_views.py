"""A session benchmark run by a real agent on the simulated engine, stored by a real controller,
then read back through arenactl: ``show`` prints its steps, tiers, cache and capacity lines,
``capacity --agents`` its capacity rows in every format (the dashboard's JSON the same), the
run page and the report their agentic sections, and the Parquet export its session columns."""

import asyncio
import csv
import io
import json
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from arena.agent.settings import AgentSettings
from arena.client.cli import cli
from arena.common.schemas.agent import GpuInfo, HardwareInfo
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, lease_one_job, long_leases, run_leased
from tests.telemetry_nvml_double import FakeNvml

SUITE = """
name: agentic-views
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
targets:
  - name: any
runs: 1
benchmarks:
  - kind: sessions
    id: 01-chat-sessions
    trace:
      profile: chat
      sessions: 3
      params: {think_min_s: 0, think_max_s: 0.05, system_tokens: 64, user_tokens_min: 5,
               user_tokens_max: 50, answer_tokens_min: 20, answer_tokens_max: 80}
    users: [1, 2]
    step_s: 1
    prefix_cache: on
    slo:
      - {name: agent, ttft_s: 30, output_tokens_per_s: 0.1}
      - {name: instant, ttft_s: 0.000001, output_tokens_per_s: 0}
"""
BOX = HardwareInfo(
    cpu_model="Xeon",
    cpu_arch="x86_64",
    cpu_cores=16,
    ram_gb=128,
    os="Linux",
    kernel="6.8",
    hostname="gpu-box",
    gpus=[GpuInfo(name="NVIDIA H200", memory_gb=141)],
)


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    settings = long_leases(tmp_path / "agentic-views")
    return settings.model_copy(update={"dashboard": "127.0.0.1:0"})


async def arenactl(controller: Controller, *args: str) -> str:
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["--controller", address(controller), *args],
        env={"COLUMNS": "300"},  # a table's rows on one line each
    )
    assert result.exit_code == 0, result.output
    return result.output


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:
        text: str = answer.read().decode()
        return text


async def test_show_capacity_and_parquet_of_a_session_benchmark(
    controller: Controller, tmp_path: Path
) -> None:
    link, lease, run_id = await lease_one_job(controller, SUITE, "gpu-box", BOX)
    settings = AgentSettings(state_dir=tmp_path / "agent", name="gpu-box", telemetry_interval_s=0.1)
    await run_leased(link, lease, settings, FakeNvml([250.0]))

    shown = json.loads(await arenactl(controller, "show", run_id, "-o", "json"))
    (bench,) = shown["jobs"][0]["benchmarks"]
    assert [v["key"] for v in bench["variants"]] == ["u1", "u2"]
    capacity = bench["agent_capacity"]
    assert capacity["capacity"] == {"agent": 2.0, "instant": None}

    table = await arenactl(controller, "show", run_id)
    assert "agent SLO %" in table and "instant SLO %" in table and "< 95 %" in table
    assert "prefix cache on (declared)" in table and "median TTFT by turn number" in table
    assert "2 users or more within agent, none within instant" in table  # no step failed

    rows: list[dict[str, Any]] = json.loads(
        await arenactl(controller, "capacity", run_id, "--agents", "-o", "json")
    )
    assert [(r["tier"], r["capacity"], r["status"], r["steps"]) for r in rows] == [
        ("agent", 2.0, "ok", 2),
        ("instant", None, "none", 2),
    ]
    assert rows[0]["passed"] == [1.0, 2.0] and rows[0]["gpus"] == 1 and rows[0]["lower_bound"]
    # per kW divides by the benchmark's measured mean power: the double draws 250 W, which the
    # energy counter over a window of whole ticks reads to within a few per mille
    power_w = bench["energy"]["mean_power_w"]
    assert power_w == pytest.approx(250.0, rel=0.02)
    assert rows[0]["per_gpu"] == 2.0
    assert rows[0]["per_kw"] == pytest.approx(2.0 / (power_w / 1000.0), rel=1e-6)
    exported = list(
        csv.reader(
            io.StringIO(await arenactl(controller, "capacity", run_id, "--agents", "-o", "csv"))
        )
    )
    assert len(exported) == 3 and exported[0][:3] == ["run", "job", "model"]
    both = await arenactl(controller, "capacity", run_id)
    assert "Capacity in concurrent agents" in both and "users" in both
    assert "per kW divides by the benchmark's mean GPU power" in both  # once, under the table

    assert controller.dashboard_url is not None
    base = controller.dashboard_url.rstrip("/")
    served = json.loads(await asyncio.to_thread(get, f"{base}/api/capacity/agents"))
    assert served == rows  # the dashboard's JSON is what arenactl prints
    page = await asyncio.to_thread(get, f"{base}/runs/{run_id}")
    assert '<section id="agentic">' in page and 'data-figure="slo-01-chat-sessions"' in page
    assert 'data-figure="turns-01-chat-sessions"' in page and 'data-view="agent_capacity"' in page
    assert "prefix cache on (declared)" in page
    capacity_page = await asyncio.to_thread(get, f"{base}/capacity")
    assert 'data-view="agent_capacity"' in capacity_page
    assert 'data-figure="agent-capacity"' in capacity_page

    await arenactl(controller, "report", run_id, "-o", str(tmp_path / "report.html"))
    report = (tmp_path / "report.html").read_text()
    assert '<section id="agentic">' in report and 'data-view="agent_capacity"' in report
    assert (
        'id="slo-01-chat-sessions-json"' in report and 'id="turns-01-chat-sessions-json"' in report
    )

    out = tmp_path / "out"
    await arenactl(controller, "export", run_id, str(out), "--parquet")
    samples = pq.read_table(out / "samples.parquet").to_pylist()
    assert samples and all(s["session"] is not None and s["turn"] is not None for s in samples)
    assert {s["turn"] for s in samples} >= {0, 1}
