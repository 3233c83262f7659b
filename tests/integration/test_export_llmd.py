"""``arenactl export RUN DIR --llm-d`` → ``arenactl import`` on loopback: a real job (simulated
engine) on a real controller, exported as llm-d Benchmark Reports v0.2, each one valid against
llm-d-benchmark's own JSON schema (tests/data/llm-d, Apache-2.0), imported into a second
controller with the same numbers; and a report llm-d's repository ships imports as well."""

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from arena.agent.settings import AgentSettings
from arena.client.cli import cli
from arena.common.parsers.result_folder import scan
from arena.common.schemas.results import JobResult
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, lease_one_job, long_leases, run_leased
from tests.integration.test_export import H200, SUITE, arenactl, measured_run, only_job
from tests.telemetry_nvml_double import FakeNvml

DATA = Path(__file__).parent.parent / "data" / "llm-d"
SCHEMA = json.loads((DATA / "br_v0_2_json_schema.json").read_text())


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "first")


def valid(report: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(report)


def assert_same_means(original: JobResult, imported: JobResult) -> None:
    """Open loop: every number as served (mean, std, n over runs). Closed loop: llama-benchy
    pools requests over runs where the import averages per-run figures, so the means agree
    (every run has c requests) and std and n do not."""
    assert [b.id for b in imported.benchmarks] == [b.id for b in original.benchmarks]
    for mine, theirs in zip(original.benchmarks, imported.benchmarks, strict=True):
        assert [v.key for v in theirs.variants] == [v.key for v in mine.variants], mine.id
        for before, after in zip(mine.variants, theirs.variants, strict=True):
            where = f"{mine.id} {before.key}"
            assert after.runs == before.runs, where
            for key, stat in before.metrics.items():
                if stat.mean is None:
                    continue
                got = after.metrics[key]
                assert got.mean == pytest.approx(stat.mean, rel=1e-9, abs=1e-9), f"{where} {key}"
                if mine.kind == "open_loop":
                    assert got.n == stat.n, f"{where} {key}"
                    assert got.std == pytest.approx(stat.std, abs=1e-9), f"{where} {key}"


async def test_an_llmd_export_is_valid_and_imports_back_with_the_same_numbers(
    controller: Controller, tmp_path: Path
) -> None:
    run_id = await measured_run(controller, tmp_path)
    original = await only_job(controller, run_id)
    assert original.state == "succeeded", original.message
    out = tmp_path / "llm-d"
    await arenactl(controller, "export", run_id, str(out), "--llm-d")

    folder = out / "tiny" / "sim"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        [
            f"01-chat.pp64-tg{tg}-d0-c{c}.run{r}.br.json"
            for c in (1, 2)
            for r in (0, 1)
            for tg in (16, 24)
        ]
        + [f"02-sweep.rate{rate}.run{r}.br.json" for rate in (20, 40) for r in (0, 1)]
    )
    reports = {name: json.loads((folder / name).read_text()) for name in names}
    for report in reports.values():
        valid(report)
        assert "simulated" in report["run"]["keywords"]
        assert report["run"]["description"].startswith("SIMULATED")
    step = reports["02-sweep.rate40.run1.br.json"]
    assert step["scenario"]["load"]["standardized"]["rate_qps"] == 40
    aggregate = step["results"]["request_performance"]["aggregate"]
    assert aggregate["requests"] == {**aggregate["requests"], "total": 6, "failures": 0}
    assert aggregate["latency"]["time_to_first_token"]["units"] == "ms"
    assert aggregate["latency"]["time_per_output_token"]["units"] == "ms/token"
    [sweep] = [b for b in original.benchmarks if b.id == "02-sweep"]
    [rate40] = [v for v in sweep.variants if v.key == "rate40"]
    means = [
        reports[f"02-sweep.rate40.run{run}.br.json"]["results"]["request_performance"]["aggregate"][
            "latency"
        ]["time_to_first_token"]["mean"]
        for run in (0, 1)
    ]
    assert sum(means) / 2 == pytest.approx(rate40.metrics["mean_ttft_ms"].mean, rel=1e-9)
    assert scan(out).problems == []

    second = ControllerSettings(listen="127.0.0.1:0", data_dir=tmp_path / "second")
    async with Controller(second) as other:
        report = json.loads(await arenactl(other, "import", str(out), "-o", "json"))
        (imported_run,) = report["runs"]
        imported = await only_job(other, imported_run["run_id"])
        assert imported.hardware == original.hardware
        assert imported.imported is not None and imported.imported.provenance.simulated
        assert_same_means(original, imported)


async def test_the_standard_fields_alone_give_the_same_latencies(
    controller: Controller, tmp_path: Path
) -> None:
    """Without Arena's block, as another tool would read the file: the schema's own fields."""
    run_id = await measured_run(controller, tmp_path)
    original = await only_job(controller, run_id)
    out = tmp_path / "llm-d"
    await arenactl(controller, "export", run_id, str(out), "--llm-d")
    for path in (out / "tiny" / "sim").glob("02-sweep.*.br.json"):
        report = json.loads(path.read_text())
        del report["results"]["observability"]
        path.write_text(json.dumps(report))
    for path in (out / "tiny" / "sim").glob("01-*.br.json"):
        path.unlink()
    found = scan(out)
    assert found.problems == []
    [run] = found.runs
    [bench] = run.benchmarks
    assert (bench.id, bench.tool) == ("01-arena", "llm-d")
    [sweep] = [b for b in original.benchmarks if b.id == "02-sweep"]
    assert [v.key for v in bench.variants] == [v.key for v in sweep.variants]
    for before, after in zip(sweep.variants, bench.variants, strict=True):
        for key in (
            "mean_ttft_ms",
            "median_ttft_ms",
            "p99_ttft_ms",
            "mean_tpot_ms",
            "mean_itl_ms",
            "mean_e2el_ms",
            "output_throughput",
            "request_throughput",
            "total_token_throughput",
            "completed",
        ):
            expected = before.metrics[key].mean
            assert after.metrics[key].mean == pytest.approx(expected, rel=1e-9), key


async def test_a_report_from_llm_d_imports(controller: Controller) -> None:
    """llm-d-benchmark's own v0.2 example (inference-perf, stage 3, 10 queries/s, times in s)."""
    example = DATA / "br_v0_2_example.yaml"
    report = json.loads(await arenactl(controller, "import", str(example), "-o", "json"))
    assert report["problems"] == []
    (imported_run,) = report["runs"]
    job = await only_job(controller, imported_run["run_id"])
    assert job.model == "Qwen/Qwen3-0.6B"
    assert job.hardware == "8× NVIDIA-H100-80GB-HBM3"
    [bench] = job.benchmarks
    assert bench.id == "01-inference-perf-stage3"
    [variant] = bench.variants
    assert variant.key == "rate10"
    ttft = variant.metrics["mean_ttft_ms"]
    assert ttft.mean == pytest.approx(36.8578234128654) and ttft.n == 1
    assert variant.metrics["p99_ttft_ms"].mean == pytest.approx(50.294897216372185)
    assert variant.metrics["completed"].mean == 500


async def test_two_formats_at_once_are_refused(controller: Controller, tmp_path: Path) -> None:
    args = ["--controller", address(controller), "export", "run-x", str(tmp_path), "--llm-d"]
    result = await asyncio.to_thread(CliRunner().invoke, cli, [*args, "--parquet"])
    assert result.exit_code == 2 and "choose one" in result.output


ACCEPTING = SUITE.replace(
    "id: 02-sweep\n", "id: 02-sweep\n    accept_saturated_client: true\n"
).replace("id: 01-chat\n", "id: 01-chat\n    exact_tg: true\n")
DURATION = re.compile(r"^PT\d+(\.\d+)?S$")


async def test_round_trips_keep_what_the_verdict_rests_on(
    controller: Controller, tmp_path: Path
) -> None:
    """accept_saturated_client, exact_tg and partial travel in both exports and come back on
    import; the accelerator is the GPU's name (the count is the schema's field), durations in
    fixed point, the engine's args those of the folder export's ``server_config``."""
    link, lease, run_id = await lease_one_job(controller, ACCEPTING, "h200-box", H200)
    settings = AgentSettings(state_dir=tmp_path / "agent", name="h200-box")
    await run_leased(link, lease, settings, FakeNvml([300.0]))
    original = await only_job(controller, run_id)
    llmd, folder = tmp_path / "llm-d", tmp_path / "folder"
    await arenactl(controller, "export", run_id, str(llmd), "--llm-d")
    await arenactl(controller, "export", run_id, str(folder))
    reports = sorted((llmd / "tiny" / "sim").glob("02-sweep.*.br.json"))
    meta = json.loads((folder / "tiny" / "sim" / "meta.json").read_text())
    for path in reports:
        report = json.loads(path.read_text())
        valid(report)
        arena = report["results"]["observability"]["arena"]
        assert arena["accept_saturated_client"] is True and arena["partial"] is False
        assert arena["valid"] is True and arena["hardware"] == original.hardware
        engine = report["scenario"]["stack"][0]
        accelerator = engine["standardized"]["accelerator"]
        assert (accelerator["model"], accelerator["count"]) == ("NVIDIA H200", 1)
        assert engine["native"]["args"] == meta["server_config"]
        assert DURATION.match(report["run"]["time"]["duration"])
        arena["partial"] = True  # what the export of a benchmark whose job then stopped says
        path.write_text(json.dumps(report))
    for path in sorted((llmd / "tiny" / "sim").glob("*.br.json")):
        report = json.loads(path.read_text())  # every run's client saturated (a busy client)
        report["results"]["observability"]["arena"]["metrics"] |= {
            "client_cpu_util": 0.99,
            "client_saturated": 1.0,
        }
        path.write_text(json.dumps(report))
    slot_flag = (  # what a llama-server with 2 slots gives (the simulated engine has none)
        "warning: engine serves 2 requests at once (llama.cpp slots) but concurrency 4: "
        "the rest queue inside the engine"
    )
    for path in sorted((llmd / "tiny" / "sim").glob("01-chat.*.br.json")):
        report = json.loads(path.read_text())
        report["results"]["observability"]["arena"]["flags"] += [slot_flag, "made up"]
        path.write_text(json.dumps(report))
    meta["arena"]["validity"]["01-chat"]["flags"] += [slot_flag, "made up"]
    assert meta["arena"]["validity"]["02-sweep"]["accept_saturated_client"] is True
    assert meta["arena"]["validity"]["01-chat"]["accept_saturated_client"] is False
    meta["arena"]["validity"]["02-sweep"]["partial"] = True
    (folder / "tiny" / "sim" / "meta.json").write_text(json.dumps(meta))

    for source in (llmd, folder):
        [run] = scan(source).runs
        benches = {bench.id: bench for bench in run.benchmarks}
        assert benches["02-sweep"].accept_saturated_client and benches["02-sweep"].partial
        assert not benches["01-chat"].accept_saturated_client
        assert not benches["01-chat"].partial
        assert benches["01-chat"].exact_tg and not benches["02-sweep"].exact_tg
        second = ControllerSettings(  # the tests' default accepts every saturated client
            listen="127.0.0.1:0",
            data_dir=tmp_path / source.name / "db",
            accept_saturated_clients=False,
        )
        async with Controller(second) as other:
            answer = json.loads(await arenactl(other, "import", str(source), "-o", "json"))
            (imported_run,) = answer["runs"]
            imported = await only_job(other, imported_run["run_id"])
        assert imported.hardware == original.hardware
        by_id = {bench.id: bench for bench in imported.benchmarks}
        assert by_id["02-sweep"].partial and by_id["02-sweep"].flags[0].startswith("partial:")
        assert not by_id["01-chat"].partial
        assert by_id["01-chat"].exact_tg and not by_id["02-sweep"].exact_tg  # show prints it
        # the slot warning cannot be recomputed on import: carried; any other flag is not
        assert slot_flag in by_id["01-chat"].flags and "made up" not in by_id["01-chat"].flags
        assert not any("llama.cpp slots" in flag for flag in by_id["02-sweep"].flags)
        if source is llmd:  # the suite accepted a saturated client for 02-sweep only
            assert by_id["02-sweep"].valid, by_id["02-sweep"].flags
            assert any("(accept_saturated_client)" in f for f in by_id["02-sweep"].flags)
            chat = by_id["01-chat"]
            assert not chat.valid, (chat.flags, chat.variants[0].metrics.get("client_saturated"))
            assert any(f.startswith("invalid: client fell behind") for f in by_id["01-chat"].flags)


async def test_sibling_reports_imported_one_at_a_time_stay_two_runs(
    controller: Controller, tmp_path: Path
) -> None:
    """A sweep's stage files imported one by one: each its own run (keyed by the file), not
    the second replacing the first as one folder's import would."""
    folder = tmp_path / "qwen" / "sweep"
    folder.mkdir(parents=True)
    example = (DATA / "br_v0_2_example.yaml").read_text()
    (folder / "stage3.yaml").write_text(example)
    (folder / "stage4.yaml").write_text(example.replace("stage: 3", "stage: 4"))
    run_ids = []
    for name in ("stage3.yaml", "stage4.yaml"):
        answer = json.loads(await arenactl(controller, "import", str(folder / name), "-o", "json"))
        assert answer["problems"] == []
        (imported_run,) = answer["runs"]
        run_ids.append(imported_run["run_id"])
    assert len(set(run_ids)) == 2
    benches = [(await only_job(controller, run_id)).benchmarks[0].id for run_id in run_ids]
    assert benches == ["01-inference-perf-stage3", "01-inference-perf-stage4"]
