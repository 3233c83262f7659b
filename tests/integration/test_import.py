"""arenactl import of every reference result folder into a real controller, checked against the
source files with independent, deliberately naive readers (not the parsers under test)."""

import csv
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.common.schemas.imported import SPARK_HARDWARE
from arena.common.schemas.results import JobResult
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.settings import ControllerSettings
from tests.prerequisites import SPARK, SPARK_MISSING, SPARK_RESULTS, requires
from tests.support import ControllerThread

pytestmark = requires(SPARK_RESULTS.is_dir(), SPARK_MISSING)

PROFILES = sorted(path.parent for path in SPARK_RESULTS.glob("*/*/*/meta.json"))
PP_COLUMNS = ("pp_throughput", "pp_req_throughput", None, None, "ttfr", "est_ppt", "e2e_ttft")
TG_COLUMNS = ("tg_throughput", "tg_req_throughput", "peak_throughput", "peak_req_throughput")
CONFIG_KEYS = {"date", "endpoint_type", "backend", "label", "model_id", "tokenizer_id", "rtfx"}
CONFIG_KEYS |= {"num_prompts", "request_rate", "burstiness", "max_concurrency"}


def arenactl(server: ControllerThread, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--controller", server.address, *args])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControllerThread]:
    settings = ControllerSettings(
        listen="127.0.0.1:0", data_dir=tmp_path_factory.mktemp("import-controller")
    )
    with ControllerThread(settings) as running:
        yield running


@pytest.fixture(scope="module")
def first_import(server: ControllerThread) -> dict[str, Any]:
    result = arenactl(server, "import", str(SPARK), "-o", "json")
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.output)
    return report


@pytest.fixture(scope="module")
def jobs(server: ControllerThread, first_import: dict[str, Any]) -> dict[str, JobResult]:
    """Per profile folder (relative to results/), the imported job as the controller shows it."""
    with ArenaClient(server.address, DEV_USER_TOKEN) as client:
        shown = [client.results(run["run_id"]) for run in first_import["runs"]]
    found = {}
    for results in shown:
        (job,) = results.jobs
        assert job.imported is not None
        found[job.imported.source.removeprefix("results/")] = job
    return found


def job_of(jobs: dict[str, JobResult], profile: Path) -> JobResult:
    return jobs[profile.relative_to(SPARK_RESULTS).as_posix()]


def metrics(
    job: JobResult, bench: str, variant: str
) -> dict[str, tuple[float | None, float | None]]:
    (found,) = [b for b in job.benchmarks if b.id == bench]
    (chosen,) = [v for v in found.variants if v.key == variant]
    return {key: (stat.mean, stat.std) for key, stat in chosen.metrics.items()}


def mean_std(cell: str) -> tuple[float, float]:
    mean, std = cell.split("±")
    return float(mean), float(std)


def test_every_profile_folder_imports_without_problems(first_import: dict[str, Any]) -> None:
    assert len(PROFILES) >= 10  # 10 profiles in tests/data; 21 in the full set
    assert first_import["problems"] == []
    sources = sorted(run["source"] for run in first_import["runs"])
    assert sources == [p.relative_to(SPARK).as_posix() for p in PROFILES]
    assert all(run["benchmarks"] == 11 for run in first_import["runs"])


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: "/".join(p.parts[-3:]))
def test_markdown_tables_show_as_published(jobs: dict[str, JobResult], profile: Path) -> None:
    job = job_of(jobs, profile)
    checked = 0
    for report in sorted(profile.glob("0[1-6]-*.md")):
        text = report.read_text()
        command = re.search(r"```bash\n(.+)\n```", text)
        assert command is not None
        assert job.imported is not None
        assert job.imported.commands[report.stem] == [command.group(1)]
        pp_row: list[str] = []
        for line in text.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) != 9 or not re.match(r"(pp|tg)\d+", cells[1]):
                continue
            if cells[1].startswith("pp"):
                pp_row = cells
                continue
            depth = re.search(r"@ d(\d+)", cells[1])
            variant = "pp{}/tg{}/d{}/c{}".format(
                re.match(r"pp(\d+)", pp_row[1]).group(1),  # type: ignore[union-attr]
                re.match(r"tg(\d+)", cells[1]).group(1),  # type: ignore[union-attr]
                depth.group(1) if depth else 0,
                re.search(r"\(c(\d+)\)", cells[1]).group(1),  # type: ignore[union-attr]
            )
            shown = metrics(job, report.stem, variant)
            for key, cell in zip(PP_COLUMNS, pp_row[2:], strict=True):
                if key is not None:
                    assert shown[key] == mean_std(cell), (report, variant, key)
            for key, cell in zip(TG_COLUMNS, cells[2:6], strict=True):
                assert shown[key] == mean_std(cell), (report, variant, key)
            checked += 1
    assert checked >= 6 * 3


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: "/".join(p.parts[-3:]))
def test_vllm_results_and_rate_sweep_show_as_published(
    jobs: dict[str, JobResult], profile: Path
) -> None:
    job = job_of(jobs, profile)
    for result in sorted(profile.glob("[01][0-9]-*.json")):
        if result.stem == "11-rate-sweep":
            continue
        source = json.loads(result.read_text())
        bench = "11-rate-sweep" if result.stem.startswith("11-") else result.stem
        shown = metrics(job, bench, "rate{:g}".format(source["request_rate"]))
        published = {k: v for k, v in source.items() if k not in CONFIG_KEYS and v is not None}
        assert {k: shown[k][0] for k in published} == published, result
        assert len(published) >= 35
    summary = json.loads((profile / "11-rate-sweep.json").read_text())
    assert job.imported is not None and job.imported.rate_sweep is not None
    sweep = job.imported.rate_sweep.model_dump(mode="json")
    assert sweep["capacity_by_slo_ms"] == summary["capacity_by_slo_ms"]
    assert sweep["aborted_at_rps"] == summary.get("aborted_at_rps")
    assert sweep["steps"] == summary["steps"]


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: "/".join(p.parts[-3:]))
def test_meta_and_telemetry_show_as_published(jobs: dict[str, JobResult], profile: Path) -> None:
    job = job_of(jobs, profile)
    meta = json.loads((profile / "meta.json").read_text())
    assert job.imported is not None
    # the engine that ran (vLLM, as meta.json records), not "imported": that is its origin
    assert (job.model, job.hardware, job.engine) == (meta["model"], SPARK_HARDWARE, "vllm")
    assert job.origin.kind == "imported" and job.imported.provenance.engine == "vllm"
    assert not job.simulated
    provenance = job.imported.provenance
    assert provenance.image == meta["vllm_image"]
    assert provenance.vllm_version == meta["vllm_version_reported"]
    assert provenance.llama_benchy_version == meta["llama_benchy_version"]
    assert (provenance.driver, provenance.vbios) == (meta["driver_version"], meta["vbios_version"])
    assert provenance.server_config == meta["server_config"]
    assert job.imported.served_name == meta["served_name"]
    for path in sorted(profile.glob("*-telemetry.csv")):
        bench = next(b.id for b in job.benchmarks if b.id[:2] == path.name[:2])
        with path.open() as file:
            rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(file)]
        shown = [sample.model_dump() for sample in job.imported.telemetry[bench]]
        assert shown == rows, path


def test_arenactl_show_prints_the_same_results(
    server: ControllerThread, jobs: dict[str, JobResult]
) -> None:
    for source in (
        "gemma-4/gemma-4-26b-a4b-it/bf16-v23",
        "ministral-3/ministral-3-8b-instruct/bf16",
    ):
        job = jobs[source]
        run_id = job.job_id.replace("job-", "run-")
        shown = json.loads(arenactl(server, "show", run_id, "-o", "json").output)
        assert shown["jobs"] == [job.model_dump(mode="json")]
    table = arenactl(
        server, "show", jobs["gpt-oss/gpt-oss-20b/mxfp4"].job_id.replace("job-", "run-")
    )
    assert "imported" in table.output and "SIMULATED" not in table.output
    assert "NVIDIA DGX Spark (GB10, 128 GB unified)" in table.output


def test_importing_again_replaces_instead_of_duplicating(
    server: ControllerThread, first_import: dict[str, Any], jobs: dict[str, JobResult]
) -> None:
    again = json.loads(arenactl(server, "import", str(SPARK_RESULTS), "-o", "json").output)
    assert sorted(r["run_id"] for r in again["runs"]) == sorted(
        r["run_id"] for r in first_import["runs"]
    )
    assert all(run["replaced"] for run in again["runs"])
    listed = json.loads(arenactl(server, "runs", "--limit", "500", "-o", "json").output)
    assert len([r for r in listed if r["suite"].startswith("import:")]) == len(PROFILES)
    with ArenaClient(server.address, DEV_USER_TOKEN) as client:
        for run in again["runs"]:
            (job,) = client.results(run["run_id"]).jobs
            before = jobs[job.imported.source] if job.imported else None
            assert before is not None
            assert job.benchmarks == before.benchmarks
            assert job.imported.rate_sweep == before.imported.rate_sweep  # type: ignore[union-attr]


def test_malformed_files_are_named_and_the_rest_imports(
    server: ControllerThread, tmp_path: Path
) -> None:
    profile = tmp_path / "family/model/broken"
    shutil.copytree(PROFILES[0], profile)
    office = profile / "07-office-baseline.json"
    office.write_text(office.read_text()[:500])
    chat = profile / "01-chat.md"
    chat.write_text(re.sub(r"\| +pp1024 \(c5\) \|", "| pp1024 (c5) | 12,3 ± x |", chat.read_text()))
    telemetry = profile / "03-telemetry.csv"
    lines = telemetry.read_text().splitlines()
    lines[2] = lines[2].replace(",", ",abc", 1)
    telemetry.write_text("\n".join(lines) + "\n")

    result = arenactl(server, "import", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert re.search(r"family/model/broken/07-office-baseline\.json: not valid JSON", result.output)
    assert re.search(r"family/model/broken/01-chat\.md: table line \d+", result.output)
    assert "family/model/broken/03-telemetry.csv: line 3: power_w 'abc" in result.output
    assert "1 run(s) imported" in result.output

    run_id = re.search(r"(run-imp-\w+)", result.output).group(1)  # type: ignore[union-attr]
    (job,) = json.loads(arenactl(server, "show", run_id, "-o", "json").output)["jobs"]
    benchmarks = {b["id"]: b for b in job["benchmarks"]}
    assert "07-office-baseline" not in benchmarks
    chat_variants = [v["key"] for v in benchmarks["01-chat"]["variants"]]
    assert "pp1024/tg1024/d0/c1" in chat_variants and "pp1024/tg1024/d0/c10" in chat_variants
    assert len(job["imported"]["telemetry"]["03-long-output"]) == len(lines) - 2


def test_nothing_importable_is_an_error(server: ControllerThread, tmp_path: Path) -> None:
    (tmp_path / "meta.json").write_text("{")
    result = arenactl(server, "import", str(tmp_path))
    assert result.exit_code == 1
    assert "meta.json: not valid JSON" in result.output
    assert "0 run(s) imported" in result.output
