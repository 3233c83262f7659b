"""``arenactl export RUN DIR --parquet`` on a real controller: a measured job (simulated engine,
NVML's stand-in) and an imported one (docs/results), read back with pyarrow and with DuckDB and
checked against the API's streams and ``arenactl show -o json``."""

import asyncio
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from arena.agent.settings import AgentSettings
from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.client.parquet import SAMPLES, TELEMETRY
from arena.common.schemas.agent import GpuInfo, HardwareInfo
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.conftest import REPO
from tests.direct_job import address, lease_one_job, long_leases, run_leased
from tests.telemetry_nvml_double import FakeNvml

SUITE = """
name: parquet-test
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
  - kind: closed_loop
    id: 01-chat
    pp: [64]
    tg: [16]
    concurrency: [1, 2]
  - kind: open_loop
    id: 02-sweep
    input_len: 32
    output_len: 8
    num_prompts: 6
    request_rate: [20]
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
    return long_leases(tmp_path / "parquet")


async def arenactl(controller: Controller, *args: str) -> str:
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["--controller", address(controller), *args]
    )
    assert result.exit_code == 0, result.output
    return result.output


def streamed(controller: Controller, run_id: str) -> tuple[list[Any], list[Any]]:
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        return list(client.samples(run_id=run_id)), list(client.telemetry(run_id=run_id))


async def test_parquet_holds_every_sample_and_reading_the_api_serves(
    controller: Controller, tmp_path: Path
) -> None:
    link, lease, run_id = await lease_one_job(controller, SUITE, "gpu-box", BOX)
    settings = AgentSettings(state_dir=tmp_path / "agent", name="gpu-box", telemetry_interval_s=0.1)
    await run_leased(link, lease, settings, FakeNvml([250.0]))
    out = tmp_path / "out"
    report = json.loads(
        await arenactl(controller, "export", run_id, str(out), "--parquet", "-o", "json")
    )
    samples, readings = await asyncio.to_thread(streamed, controller, run_id)
    assert report["samples"] == len(samples) > 0 and report["telemetry"] == len(readings) > 0

    table = pq.read_table(out / "samples.parquet")
    assert table.schema.equals(SAMPLES) and table.schema.metadata == SAMPLES.metadata
    rows = table.to_pylist()
    assert len(rows) == len(samples)
    for got, (job_id, sample) in zip(rows, samples, strict=True):
        assert got["job_id"] == job_id and got["run_id"] == run_id
        assert (got["benchmark"], got["variant"], got["run_index"], got["request_index"]) == (
            sample.benchmark,
            sample.variant,
            sample.run,
            sample.index,
        )
        assert got["sent_s"] == sample.sent_s and got["end_s"] == sample.end_s
        assert got["first_token_s"] == sample.first_token_s
        assert got["scheduled_s"] == sample.scheduled_s
        assert got["chunk_times_s"] == sample.chunk_times_s
        assert got["completion_tokens"] == sample.completion_tokens
        assert (got["model"], got["hardware"], got["source"]) == (
            "tiny",
            "NVIDIA H200 (141 GB)",
            "simulated",
        )

    shown = json.loads(await arenactl(controller, "show", run_id, "-o", "json"))
    (job,) = shown["jobs"]
    (sweep,) = [b for b in job["benchmarks"] if b["id"] == "02-sweep"]
    variant = sweep["variants"][0]
    completed = variant["metrics"]["completed"]
    with duckdb.connect() as db:
        per_variant = db.execute(
            "SELECT count(*) FILTER (WHERE error IS NULL), count(DISTINCT run_index),"
            " sum(len(chunk_times_s)) FROM read_parquet(?) WHERE benchmark = '02-sweep'",
            [str(out / "samples.parquet")],
        ).fetchone()
        power = db.execute(
            "SELECT count(*), min(power_w), max(power_w), count(DISTINCT gpu) FROM read_parquet(?)",
            [str(out / "telemetry.parquet")],
        ).fetchone()
    assert per_variant is not None and power is not None
    assert per_variant[0] == completed["mean"] * completed["n"]
    assert per_variant[1] == variant["runs"] == 2
    assert per_variant[2] == sum(
        len(s.chunk_times_s) for _, s in samples if s.benchmark == "02-sweep"
    )
    assert power == (len(readings), 250.0, 250.0, 1)
    telemetry = pq.read_table(out / "telemetry.parquet")
    assert telemetry.schema.equals(TELEMETRY) and telemetry.schema.metadata == TELEMETRY.metadata
    assert telemetry.column("t_s").to_pylist() == [r.t_s for _, r in readings]
    assert telemetry.column("energy_mj").to_pylist() == [r.energy_mj for _, r in readings]


async def test_parquet_of_an_imported_run_has_its_samples_and_telemetry_files(
    controller: Controller, tmp_path: Path
) -> None:
    folder = REPO / "docs/results/h200/llama-1b/transformers"
    await arenactl(controller, "import", str(folder))
    (run,) = json.loads(await arenactl(controller, "runs", "-o", "json"))
    out = tmp_path / "imported"
    await arenactl(controller, "export", run["run_id"], str(out), "--parquet")
    samples = pq.read_table(out / "samples.parquet")
    assert samples.num_rows == run["samples"] > 0
    csv_rows = {
        path.name[:2]: len(path.read_text().splitlines()) - 1
        for path in folder.glob("*-telemetry.csv")
    }
    with duckdb.connect() as db:
        counted = db.execute(
            "SELECT benchmark, count(*), bool_and(gpu IS NULL) FROM read_parquet(?)"
            " GROUP BY benchmark",
            [str(out / "telemetry.parquet")],
        ).fetchall()
    assert {bench[:2]: n for bench, n, _ in counted} == csv_rows
    assert all(no_gpu for *_, no_gpu in counted)
