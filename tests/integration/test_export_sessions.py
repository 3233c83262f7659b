"""A session benchmark through ``arenactl export`` → ``arenactl import``: a real job (the
simulated engine with its prefix cache, Arena's generator) exported to a result folder whose
samples keep their session, turn and cached tokens, and imported into a second controller with
the same numbers and the same capacity in agents."""

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner

from arena.agent.settings import AgentSettings
from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.common.errors import ArenaError
from arena.common.parsers.result_folder import scan
from arena.common.provenance.folder import folder_of, read_signed
from arena.common.provenance.keys import load_or_create_key
from arena.common.schemas.imported import ImportedStat
from arena.common.schemas.results import JobResult
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, long_leases, run_leased
from tests.integration.test_export import arenactl, assert_same_numbers, only_job
from tests.integration.test_provenance import keyed_link
from tests.telemetry_nvml_double import FakeNvml

SUITE = """
name: export-sessions
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
    decode_step_ms: 2
    prefix_cache: true
targets:
  - name: any
runs: 1
benchmarks:
  - kind: sessions
    id: chat
    trace:
      profile: chat
      sessions: 6
      params: {turns_min: 2, turns_max: 3, user_tokens_min: 20, user_tokens_max: 40,
               answer_tokens_min: 8, answer_tokens_max: 16}
    users: [1, 2]
    step_s: 1
    think_scale: 0
"""


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "first")


async def measured_export(controller: Controller, tmp_path: Path) -> tuple[JobResult, Path]:
    """The session benchmark run by a signing agent on the simulated engine, and the folder
    ``arenactl export`` wrote for it."""
    state = tmp_path / "agent"
    key = load_or_create_key(state)  # the agent signs its samples
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        run_id, _ = await asyncio.to_thread(client.submit, SUITE, "sessions.yaml")
    link = await keyed_link(controller, "sim-box", key)
    lease = await link.lease(5.0)
    assert lease is not None
    settings = AgentSettings(state_dir=state, name="sim-box", telemetry_interval_s=0.1)
    await run_leased(link, lease, settings, FakeNvml([300.0]))
    original = await only_job(controller, run_id)
    assert original.state == "succeeded", original.message
    out = tmp_path / "results"
    await arenactl(controller, "export", run_id, str(out))
    return original, out


async def test_a_session_benchmark_exports_and_imports_with_the_same_numbers(
    controller: Controller, tmp_path: Path
) -> None:
    original, out = await measured_export(controller, tmp_path)
    [bench] = original.benchmarks
    assert [v.key for v in bench.variants] == ["u1", "u2"] and bench.prefix_cache == "on"
    assert bench.valid, bench.flags
    hit = bench.variants[1].metrics["cache_hit_pct"].mean
    assert hit is not None and hit > 0  # later turns re-send what the cache holds
    capacity = bench.agent_capacity
    assert capacity is not None and [s.load for s in capacity.steps] == [1.0, 2.0]

    folder = out / "tiny" / "sim"
    names = {p.name for p in folder.iterdir()}
    assert {"01-chat.sessions.json", "01-telemetry.csv", "meta.json", "manifest.json"} <= names
    assert not any(name.endswith((".md", ".run0.json")) for name in names)
    written = json.loads((folder / "01-chat.sessions.json").read_text())
    assert written["format"] == "arena-session-results" and written["version"] == 1
    assert written["gpus"] is None  # the simulated box has no GPU: no per-GPU capacity
    assert set(written["client_load"]) == {"u1", "u2"}  # what client_saturated is read with
    samples = written["samples"]
    assert samples and all(s["session"] and s["turn"] is not None for s in samples)
    assert any(s["turn"] > 0 and s["cached_tokens"] for s in samples)

    # against the controller that recorded the agent's key, the signed samples give every
    # number of the session file again (arena.common.provenance), under the folder's id
    [verdict] = json.loads(await arenactl(controller, "verify", str(out), "-o", "json"))
    assert verdict["state"] == "verified", verdict

    second = ControllerSettings(listen="127.0.0.1:0", data_dir=tmp_path / "second")
    async with Controller(second) as other:
        report = json.loads(await arenactl(other, "import", str(out), "-o", "json"))
        (imported_run,) = report["runs"]
        imported = await only_job(other, imported_run["run_id"])
        # a benchmark id without a two-digit prefix is numbered by its position in the folder
        numbered = [b.model_copy(update={"id": "01-chat"}) for b in original.benchmarks]
        assert_same_numbers(original.model_copy(update={"benchmarks": numbered}), imported)
        [again] = imported.benchmarks
        assert again.prefix_cache == "on" and again.kind == "sessions"
        assert again.agent_capacity is not None
        assert again.agent_capacity.capacity == capacity.capacity
        assert again.agent_capacity.steps == capacity.steps


async def verdict_of(controller: Controller, folder: Path) -> dict[str, Any]:
    """``arenactl verify FOLDER``'s one verdict (it exits 1 for a broken folder)."""
    args = ["--controller", address(controller), "verify", str(folder), "-o", "json"]
    result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    [verdict] = json.loads(result.output)
    return cast(dict[str, Any], verdict)


def edit_sessions_file(folder: Path, edit: Callable[[dict[str, Any]], object]) -> None:
    path = folder / "tiny" / "sim" / "01-chat.sessions.json"
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


SIGNED_EDITS: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    # what capacity is read with: the attainment target and the declared prefix cache
    "attainment": (lambda d: d["benchmark"].update(attainment=0.01), "benchmark settings"),
    "prefix cache": (lambda d: d["benchmark"].update(prefix_cache="off"), "benchmark settings"),
    # what the warm-cache check reads
    "engine figures": (
        lambda d: d.update(engine_metrics={"prefix_cache_hit_pct": 0.0}),
        "engine figures",
    ),
    # what flags client_saturated
    "client load": (
        lambda d: d["client_load"]["u1"].update({"0": 0.99}),
        "steps disagree",
    ),
    # what a reader without Arena reads
    "steps": (
        lambda d: d["steps"][0]["metrics"]["ttft_first_mean_ms"].update(mean=0.5),
        "steps disagree",
    ),
    "a step's metric left out": (
        lambda d: d["steps"][0]["metrics"].pop("slo_interactive_pct"),
        "steps disagree",
    ),
}


async def test_an_edited_session_file_of_a_signed_export_does_not_verify(
    controller: Controller, tmp_path: Path
) -> None:
    _, out = await measured_export(controller, tmp_path)
    assert (await verdict_of(controller, out))["state"] == "verified"
    for name, (edit, problem) in SIGNED_EDITS.items():
        forged = tmp_path / name.replace(" ", "-")
        shutil.copytree(out, forged)
        edit_sessions_file(forged, edit)
        verdict = await verdict_of(controller, forged)
        assert verdict["state"] == "broken", name
        assert problem in " ".join(verdict["problems"]), (name, verdict)

    # the controller refuses it too, whatever the client checked before sending
    forged = tmp_path / "engine-figures"
    [run] = scan(forged).runs
    signed = read_signed(folder_of(forged, run.source))
    with (
        ArenaClient(address(controller), DEV_USER_TOKEN) as client,
        pytest.raises(ArenaError, match="engine figures differ"),
    ):
        await asyncio.to_thread(client.import_results, run, signed)


async def test_an_unsigned_session_import_stores_what_its_samples_give(
    controller: Controller, tmp_path: Path
) -> None:
    original, out = await measured_export(controller, tmp_path)
    folder = out / "tiny" / "sim"
    for name in ("manifest.json", "manifest.sig", "manifest.key", "samples.jsonl"):
        (folder / name).unlink()
    [run] = scan(out).runs
    [bench] = run.benchmarks
    numbered = [b.model_copy(update={"id": "01-chat"}) for b in original.benchmarks]
    assert bench.client_load.keys() == {"u1", "u2"}  # the client's CPU figure of every run

    # metrics the client made up are not stored: the controller recomputes them from the samples
    made_up = ImportedStat(mean=12345.0, std=0.0, n=1)
    forged_variants = [
        v.model_copy(update={"metrics": dict.fromkeys(v.metrics, made_up)}) for v in bench.variants
    ]
    forged = run.model_copy(
        update={"benchmarks": [bench.model_copy(update={"variants": forged_variants})]}
    )
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        receipt = await asyncio.to_thread(client.import_results, forged, None)
        assert receipt.verified_by == ""
        imported = await only_job(controller, receipt.run_id)
        assert_same_numbers(original.model_copy(update={"benchmarks": numbered}), imported)
        [again] = imported.benchmarks
        # the session file names no GPUs (a CPU box): no per-GPU figures, not 1 GPU from the
        # telemetry file's one series
        assert again.agent_capacity is not None and again.agent_capacity.gpus is None
        assert all(value is None for value in again.agent_capacity.per_gpu.values())

        # samples relabelled to a load the benchmark never had would raise its capacity
        relabelled = [
            s.model_copy(update={"variant": "u64"}) if s.variant == "u2" else s
            for s in bench.samples
        ]
        lying = run.model_copy(
            update={"benchmarks": [bench.model_copy(update={"samples": relabelled})]}
        )
        with pytest.raises(ArenaError, match="cannot have: u64"):
            await asyncio.to_thread(client.import_results, lying, None)
        # nor can its settings ride on another kind, whose numbers are stored as sent
        disguised = run.model_copy(
            update={"benchmarks": [forged.benchmarks[0].model_copy(update={"kind": "open_loop"})]}
        )
        with pytest.raises(ArenaError, match="session settings belong"):
            await asyncio.to_thread(client.import_results, disguised, None)

    # the same relabelling in the file is a problem of that file
    edit_sessions_file(
        out,
        lambda d: [s.update(variant="u64") for s in d["samples"] if s["variant"] == "u2"],
    )
    problems = scan(out).problems
    assert any("cannot have: u64" in problem.message for problem in problems), problems

    # a file that names the box's GPUs gets per-GPU capacity from them
    edit_sessions_file(
        out,
        lambda d: [s.update(variant="u2") for s in d["samples"] if s["variant"] == "u64"],
    )
    edit_sessions_file(out, lambda d: d.update(gpus=8))
    report = json.loads(await arenactl(controller, "import", str(out), "-o", "json"))
    (imported_run,) = report["runs"]
    eight = (await only_job(controller, imported_run["run_id"])).benchmarks[0].agent_capacity
    assert eight is not None and eight.gpus == 8
    for tier, value in eight.capacity.items():
        assert value is not None and eight.per_gpu[tier] == pytest.approx(value / 8)
