"""``arenactl export`` → ``arenactl import`` round trip on loopback: a real job (simulated engine,
NVML's stand-in for telemetry) on a real controller and SQLite, exported to a result folder and
imported into a second controller, whose ``show`` numbers must equal the first one's."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from arena.agent.settings import AgentSettings
from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.common.exports.folder import ExportContext, export_job
from arena.common.metrics.box import BOX_KEYS
from arena.common.metrics.engine_runs import ENGINE_RUN_KEYS
from arena.common.metrics.validity import stat_spread_pct
from arena.common.parsers.result_folder import scan
from arena.common.schemas.agent import GpuInfo, HardwareInfo
from arena.common.schemas.results import JobResult
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, lease_one_job, long_leases, run_leased
from tests.telemetry_nvml_double import FakeNvml

SUITE = """
name: export-test
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
    tg: [16, 24]
    concurrency: [1, 2]
  - kind: open_loop
    id: 02-sweep
    input_len: 32
    output_len: 8
    num_prompts: 6
    request_rate: [20, 40]
"""
H200 = HardwareInfo(
    cpu_model="Xeon",
    cpu_arch="x86_64",
    cpu_cores=16,
    ram_gb=128,
    os="Linux",
    kernel="6.8",
    hostname="h200-box",
    gpus=[GpuInfo(name="NVIDIA H200", memory_gb=141, driver="570.86.15", vbios="96.00.AF")],
)


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "first")


async def measured_run(controller: Controller, tmp_path: Path, suite: str = SUITE) -> str:
    link, lease, run_id = await lease_one_job(controller, suite, "h200-box", H200)
    settings = AgentSettings(
        state_dir=tmp_path / "agent", name="h200-box", telemetry_interval_s=0.1
    )
    await run_leased(link, lease, settings, FakeNvml([300.0]))
    return run_id


async def arenactl(controller: Controller, *args: str) -> str:
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["--controller", address(controller), *args]
    )
    assert result.exit_code == 0, result.output
    return result.output


async def only_job(controller: Controller, run_id: str) -> JobResult:
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        results = await asyncio.to_thread(client.results, run_id)
    (job,) = results.jobs
    return job


RUN_ONLY = frozenset(BOX_KEYS + ENGINE_RUN_KEYS)


def assert_same_numbers(original: JobResult, imported: JobResult) -> None:
    assert [b.id for b in imported.benchmarks] == [b.id for b in original.benchmarks]
    for mine, theirs in zip(original.benchmarks, imported.benchmarks, strict=True):
        assert [v.key for v in theirs.variants] == [v.key for v in mine.variants], mine.id
        for before, after in zip(mine.variants, theirs.variants, strict=True):
            where = f"{mine.id} {before.key}"
            assert after.runs == before.runs, where
            # the runs' box and engine figures are Arena's own: no reference format has them
            # (an imported open-loop run re-reads some from the telemetry file)
            measured = {key: stat for key, stat in before.metrics.items() if key not in RUN_ONLY}
            assert set(after.metrics) - RUN_ONLY == set(measured), where
            for key, stat in measured.items():
                got = after.metrics[key]
                assert got.n == stat.n, f"{where} {key}"
                assert got.mean == pytest.approx(stat.mean, rel=1e-9, abs=1e-9), f"{where} {key}"
                assert got.std == pytest.approx(stat.std, rel=1e-6, abs=1e-9), f"{where} {key}"


async def test_an_exported_run_imports_back_with_the_same_numbers(
    controller: Controller, tmp_path: Path
) -> None:
    run_id = await measured_run(controller, tmp_path)
    original = await only_job(controller, run_id)
    assert original.state == "succeeded", original.message
    out = tmp_path / "results" / "h200"
    await arenactl(controller, "export", run_id, str(out))  # through the API only

    folder = out / "tiny" / "sim"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "01-chat.json",
        "01-telemetry.csv",
        "02-sweep.rate20.run0.json",
        "02-sweep.rate20.run1.json",
        "02-sweep.rate40.run0.json",
        "02-sweep.rate40.run1.json",
        "02-telemetry.csv",
        "meta.json",
    ]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["hardware"] == "NVIDIA H200 (141 GB)"
    assert (meta["driver_version"], meta["runs"]) == ("570.86.15", 2)
    assert meta["arena"]["suite_yaml"] == SUITE and meta["arena"]["simulated"] is True
    validity = meta["arena"]["validity"]
    assert {bench: v["valid"] for bench, v in validity.items()} == {
        "01-chat": True,
        "02-sweep": True,
    }
    assert validity["02-sweep"]["failed_share"] == 0
    assert set(validity["01-chat"]["spread_pct"]) == {
        v.key for v in original.benchmarks[0].variants
    }
    step = json.loads((folder / "02-sweep.rate40.run1.json").read_text())
    assert step["request_rate"] == 40 and step["completed"] == step["num_prompts"]
    assert len(step["start_times"]) == step["num_prompts"]  # vLLM's detailed arrays
    assert (
        (folder / "01-telemetry.csv")
        .read_text()
        .startswith("elapsed_s,power_w,temp_c,sm_mhz,gpu_util,mem_used_mb\n")
    )
    assert scan(out).problems == []

    second = ControllerSettings(listen="127.0.0.1:0", data_dir=tmp_path / "second")
    async with Controller(second) as other:
        report = json.loads(await arenactl(other, "import", str(out), "-o", "json"))
        (imported_run,) = report["runs"]
        imported = await only_job(other, imported_run["run_id"])
        assert imported.hardware == "NVIDIA H200 (141 GB)"
        assert_same_numbers(original, imported)
        (sweep_energy,) = [b.energy for b in imported.benchmarks if b.id == "02-sweep"]
        assert sweep_energy is not None and sweep_energy.peak_power_w == pytest.approx(300.0)
        shown = await arenactl(other, "show", imported_run["run_id"])
        assert "NVIDIA H200 (141 GB)" in shown and "02-sweep" in shown


async def test_without_raw_data_closed_loop_summaries_still_round_trip(
    controller: Controller, tmp_path: Path
) -> None:
    """A job exported from its served results alone (no samples, no per-run numbers)."""
    run_id = await measured_run(controller, tmp_path)
    original = await only_job(controller, run_id)
    out = tmp_path / "summaries"
    context = ExportContext(run_id=run_id, suite="export-test", exported_at="2026-01-01T00:00:00")
    folder = export_job(original, None, context)
    assert "02-sweep: open loop needs the database (--database)" in folder.notes
    (out / "tiny" / "sim").mkdir(parents=True)
    for name, text in folder.files.items():
        (out / "tiny" / "sim" / name).write_text(text)
    found = scan(out)
    assert found.problems == []
    (run,) = found.runs
    (bench,) = run.benchmarks
    (closed,) = [b for b in original.benchmarks if b.id == "01-chat"]
    assert [v.key for v in bench.variants] == [v.key for v in closed.variants]
    for before, after in zip(closed.variants, bench.variants, strict=True):
        assert after.runs == before.runs
        for key, stat in before.metrics.items():
            if key in RUN_ONLY:  # no reference format has them
                continue
            assert (after.metrics[key].mean, after.metrics[key].n) == (stat.mean, stat.n)


def spreads(shown: dict[str, Any]) -> dict[tuple[str, str], float | None]:
    (job,) = shown["jobs"]
    return {
        (bench["id"], variant["key"]): variant["spread_pct"]
        for bench in job["benchmarks"]
        for variant in bench["variants"]
    }


async def test_an_import_keeps_the_measured_spread_and_engine_version(
    controller: Controller, tmp_path: Path
) -> None:
    """The spread ``show`` prints is the measuring controller's (largest deviation of a run from
    the mean), not std / mean re-estimated from the summary (for closed loop pooled over
    requests); and the version the agent read from the engine survives. Three runs: of two,
    the largest deviation from the mean is the population std."""
    run_id = await measured_run(controller, tmp_path, SUITE.replace("runs: 2", "runs: 3"))
    original = await only_job(controller, run_id)
    measured = spreads(json.loads(await arenactl(controller, "show", run_id, "-o", "json")))
    assert all(spread is not None for spread in measured.values())
    estimated = {
        (bench.id, variant.key): stat_spread_pct(variant, bench.kind)
        for bench in original.benchmarks
        for variant in bench.variants
    }
    # the test has teeth: somewhere the estimate is not the measured spread
    assert any(
        spread != pytest.approx(estimated[key], rel=1e-6) for key, spread in measured.items()
    )
    version = original.provenance["engine_version"]
    assert version
    out = tmp_path / "results"
    await arenactl(controller, "export", run_id, str(out))

    second = ControllerSettings(listen="127.0.0.1:0", data_dir=tmp_path / "second")
    async with Controller(second) as other:
        report = json.loads(await arenactl(other, "import", str(out), "-o", "json"))
        assert report["problems"] == []
        (imported_run,) = report["runs"]
        shown = json.loads(await arenactl(other, "show", imported_run["run_id"], "-o", "json"))
        assert spreads(shown).keys() == measured.keys()
        for key, spread in spreads(shown).items():
            assert spread == pytest.approx(measured[key], rel=1e-9), key
        assert shown["jobs"][0]["imported"]["provenance"]["engine_version"] == version
        assert f"engine version {version}" in await arenactl(other, "show", imported_run["run_id"])
        comparison = json.loads(
            await arenactl(other, "compare", imported_run["run_id"], "-o", "json")
        )
        (column,) = comparison["columns"]
        assert column["engine_version"] == version
