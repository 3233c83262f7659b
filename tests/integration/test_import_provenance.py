"""Imports and provenance against a real controller on loopback, as an attacker would try them:
overwriting another user's import, re-signing an edited export with a fresh key, editing the
files beside the signed samples, dropping the manifest, and laundering a simulated run."""

import asyncio
import itertools
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from arena.agent.settings import AgentSettings
from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.common.provenance.keys import load_or_create_key, public_bytes
from arena.common.provenance.manifest import canonical
from arena.common.schemas.user import Role
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, long_leases, run_leased
from tests.integration.test_export import SUITE as EXPORT_SUITE
from tests.integration.test_provenance import keyed_link
from tests.telemetry_nvml_double import FakeNvml

REPO = Path(__file__).resolve().parents[2]
SPARK = REPO / "examples/results/dgx-spark-sample"
IMPORTERS = itertools.count()
TABLES = ("runs", "run_owners", "jobs", "aggregates", "samples")


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller")


def rows(controller: Controller) -> dict[str, int]:
    with sqlite3.connect(controller.settings.data_dir / "arena.db") as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


async def arenactl(controller: Controller, token: str, *args: str) -> tuple[int, str]:
    command = ["--controller", address(controller), "--token", token, *args]
    result = await asyncio.to_thread(CliRunner().invoke, cli, command)
    return result.exit_code, result.stdout


async def user(controller: Controller, name: str, role: Role = Role.SUBMITTER) -> str:
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        return await asyncio.to_thread(client.create_user, name, role)


def tg_means(report: dict[str, object]) -> list[float]:
    return [
        variant["metrics"]["tg_throughput"]["mean"]
        for job in report["jobs"]  # type: ignore[attr-defined]
        for bench in job["benchmarks"]
        for variant in bench["variants"]
        if "tg_throughput" in variant["metrics"]
    ]


async def test_a_second_importer_cannot_overwrite_an_import(
    controller: Controller, tmp_path: Path
) -> None:
    """The admin's reference Spark results stay as imported when a submitter imports the same
    folder (same import key) with made-up numbers: refused, nothing changes. The submitter's
    own import is theirs to replace, and an admin may replace any."""
    code, text = await arenactl(controller, DEV_USER_TOKEN, "import", str(SPARK), "-o", "json")
    assert code == 0, text
    (spark,) = json.loads(text)["runs"]
    code, shown = await arenactl(controller, DEV_USER_TOKEN, "show", spark["run_id"], "-o", "json")
    before, counted = tg_means(json.loads(shown)), rows(controller)

    forged = tmp_path / "forged"
    shutil.copytree(SPARK, forged)
    table = next(forged.rglob("01-chat.md"))
    table.write_text(table.read_text().replace(" ± ", "9 ± "))
    sam = await user(controller, "sam")
    code, text = await arenactl(controller, sam, "import", str(forged), "-o", "json")
    assert code == 1, text
    (problem,) = json.loads(text)["problems"]
    assert "only that importer or an admin may replace it" in problem["message"], problem
    code, shown = await arenactl(controller, DEV_USER_TOKEN, "show", spark["run_id"], "-o", "json")
    assert tg_means(json.loads(shown)) == before and rows(controller) == counted

    own = tmp_path / "own/results/family/model/profile"
    shutil.copytree(next(SPARK.rglob("meta.json")).parent, own)
    code, text = await arenactl(controller, sam, "import", str(own), "-o", "json")
    assert code == 0 and not json.loads(text)["runs"][0]["replaced"], text
    code, text = await arenactl(controller, sam, "import", str(own), "-o", "json")
    assert code == 0 and json.loads(text)["runs"][0]["replaced"], text
    sue = await user(controller, "sue")
    code, text = await arenactl(controller, sue, "import", str(own), "-o", "json")
    assert code == 1 and "imported by 'sam'" in text, text
    code, text = await arenactl(controller, DEV_USER_TOKEN, "import", str(own), "-o", "json")
    assert code == 0 and json.loads(text)["runs"][0]["replaced"], text


async def exported_simulated_run(controller: Controller, tmp_path: Path) -> tuple[str, Path]:
    """A simulated job run by agent ``sim-box`` (its own signing key, GPU telemetry from NVML's
    stand-in), exported: (run id, the job's folder)."""
    state = tmp_path / "agent"
    key = load_or_create_key(state)
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        run_id, _ = await asyncio.to_thread(client.submit, EXPORT_SUITE, "export.yaml")
    link = await keyed_link(controller, "sim-box", key)
    lease = await link.lease(5.0)
    assert lease is not None
    settings = AgentSettings(state_dir=state, name="sim-box", telemetry_interval_s=0.1)
    await run_leased(link, lease, settings, FakeNvml([300.0]))
    out = tmp_path / "export"
    code, text = await arenactl(controller, DEV_USER_TOKEN, "export", run_id, str(out))
    assert code == 0, text
    return run_id, next(out.rglob("manifest.json")).parent


async def verdicts(controller: Controller, *args: str) -> tuple[int, list[dict[str, Any]]]:
    code, text = await arenactl(controller, DEV_USER_TOKEN, "verify", *args, "-o", "json")
    return code, json.loads(text)


async def imported_job(controller: Controller, folder: Path) -> tuple[int, dict[str, Any]]:
    """Import ``folder`` as a submitter: (exit code, the import's report)."""
    submitter = await user(controller, f"importer-{next(IMPORTERS)}")
    code, text = await arenactl(controller, submitter, "import", str(folder), "-o", "json")
    return code, json.loads(text)


async def shown(controller: Controller, run_id: str) -> dict[str, Any]:
    code, text = await arenactl(controller, DEV_USER_TOKEN, "show", run_id, "-o", "json")
    assert code == 0, text
    (job,) = json.loads(text)["jobs"]
    return job


async def ranked(controller: Controller, *args: str) -> list[dict[str, Any]]:
    code, text = await arenactl(controller, DEV_USER_TOKEN, "rank", *args, "-o", "json")
    assert code == 0, text
    return json.loads(text)["ranked"]


def resign(folder: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """What a forger does: edit the manifest and sign it with a fresh key of their own."""
    forger = Ed25519PrivateKey.generate()
    document = json.loads((folder / "manifest.json").read_bytes())
    edit(document)
    manifest = canonical(document)
    (folder / "manifest.json").write_bytes(manifest)
    (folder / "manifest.sig").write_text(forger.sign(manifest).hex() + "\n")
    (folder / "manifest.key").write_text(public_bytes(forger).hex() + "\n")


def launder(document: dict[str, Any]) -> None:
    document["spec"]["engine"] = {"runtime": "external", "url": "http://h200.example:8000"}
    document["provenance"].pop("simulated", None)  # the engine's own label, signed beside it


async def test_verify_trusts_the_controllers_keys_not_the_folders(
    controller: Controller, tmp_path: Path
) -> None:
    """An untouched export verifies against the controller's keyring, online and offline, and
    still does after ``agents reset-key``. Re-signed with a fresh key (its spec laundered to
    a real engine, meta.json to match), it no longer verifies, and imports only as unverified:
    not ranked."""
    run_id, folder = await exported_simulated_run(controller, tmp_path)
    forged = tmp_path / "forged" / folder.relative_to(tmp_path / "export")
    shutil.copytree(folder, forged)
    resign(forged, launder)
    meta = json.loads((forged / "meta.json").read_text())
    meta["arena"]["simulated"] = False
    (forged / "meta.json").write_text(json.dumps(meta))
    code, found = await verdicts(controller, str(forged))
    assert code == 1 and found[0]["state"] == "unverified", found
    assert "which the controller never recorded for any agent" in found[0]["problems"][0]
    code, report = await imported_job(controller, forged)
    assert code == 0, report
    assert await ranked(controller) == []
    (run,) = report["runs"]
    assert run["verified_by"] == "" and "never recorded" in run["unverified_reason"], run
    job = await shown(controller, run["run_id"])
    assert job["imported"]["verified_by"] == ""
    assert [r["entry"]["profile"] for r in await ranked(controller, "--include-unverified")] == [
        "sim"
    ]
    code, text = await arenactl(controller, DEV_USER_TOKEN, "show", run["run_id"])
    assert "unverified" in text, text

    code, found = await verdicts(controller, str(folder))
    assert code == 0 and found[0]["state"] == "verified", found
    assert found[0]["signer"].startswith("agent sim-box, key ")
    keyring = tmp_path / "keyring.json"
    code, text = await arenactl(controller, DEV_USER_TOKEN, "keyring", "export", str(keyring))
    assert code == 0 and "1 key(s) of 1 agent(s)" in text, text
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        await asyncio.to_thread(client.reset_key, "sim-box")
    await keyed_link(controller, "sim-box", Ed25519PrivateKey.generate())  # a reinstalled box
    code, found = await verdicts(controller, str(folder))  # the old key is still recorded
    assert code == 0 and found[0]["state"] == "verified", found
    for where, expected in ((folder, 0), (forged, 1)):
        offline = CliRunner().invoke(
            cli, ["--controller", "127.0.0.1:1", "verify", str(where), "--keyring", str(keyring)]
        )
        assert offline.exit_code == expected, offline.output


async def test_every_file_of_an_export_is_checked(controller: Controller, tmp_path: Path) -> None:
    """Edits to a result file or to meta.json's simulated flag, with the signed samples left
    as they were, break the folder: verify exits 1 naming the number, import refuses it and
    stores nothing. Telemetry, which the agent does not sign, is named as not covered and a
    verified import leaves it out."""
    run_id, folder = await exported_simulated_run(controller, tmp_path)
    result = folder / "01-chat.json"
    original = result.read_text()
    document = json.loads(original)
    document["benchmarks"][0]["tg_throughput"]["mean"] *= 1000
    result.write_text(json.dumps(document))
    code, found = await verdicts(controller, str(folder))
    assert code == 1 and found[0]["state"] == "broken", found
    assert any("tg_throughput: the folder says" in p for p in found[0]["problems"]), found
    before = rows(controller)
    code, report = await imported_job(controller, folder)
    assert code == 1 and "provenance does not verify" in report["problems"][0]["message"]
    assert rows(controller) == before
    result.write_text(original)

    meta = folder / "meta.json"
    original = meta.read_text()
    edited = json.loads(original)
    edited["arena"]["simulated"] = False
    edited["arena"]["quick"] = 0.5
    meta.write_text(json.dumps(edited))
    code, found = await verdicts(controller, str(folder))
    assert code == 1 and "meta.json says simulated=False" in " ".join(found[0]["problems"])
    assert "meta.json says quick=0.5; the signed spec says quick=None" in found[0]["problems"]
    code, report = await imported_job(controller, folder)
    assert code == 1 and rows(controller) == before
    meta.write_text(original)

    for csv in folder.glob("*-telemetry.csv"):
        csv.write_text(csv.read_text().replace("300", "3"))
    measured_on = json.loads(original)["hardware"]
    meta.write_text(json.dumps(json.loads(original) | {"hardware": "NVIDIA H200 (141 GB)"}))
    code, found = await verdicts(controller, str(folder))
    assert code == 0 and found[0]["state"] == "verified", found
    assert any("GPU telemetry is not signed" in note for note in found[0]["notes"]), found
    code, report = await imported_job(controller, folder)
    assert code == 0 and report["runs"][0]["verified_by"].startswith("agent sim-box"), report
    job = await shown(controller, report["runs"][0]["run_id"])
    assert job["imported"]["telemetry"] == {}
    assert job["hardware"] == measured_on  # the signing agent's, not the edited meta.json's


def spreads(job: dict[str, Any]) -> dict[tuple[str, str], float | None]:
    return {
        (bench["id"], variant["key"]): variant["spread_pct"]
        for bench in job["benchmarks"]
        for variant in bench["variants"]
    }


async def test_a_signed_exports_spread_and_engine_version_are_the_signed_ones(
    controller: Controller, tmp_path: Path
) -> None:
    """meta.json states each variant's run-to-run spread (it decides the stability flag), the
    engine's version and the labels that change a verdict (exact_tg, accept_saturated_client);
    edited, the signed folder is broken and refused. Untouched, the
    verified import shows the measured job's spreads and version."""
    run_id, folder = await exported_simulated_run(controller, tmp_path)
    meta = folder / "meta.json"
    original = meta.read_text()
    edited = json.loads(original)
    stated = edited["arena"]["validity"]["01-chat"]["spread_pct"]
    key = next(iter(stated))
    stated[key] += 1.0
    edited["arena"]["engine_version"] = "b9999-forged"
    labels = edited["arena"]["validity"]["01-chat"]
    labels["exact_tg"] = not labels["exact_tg"]
    labels["accept_saturated_client"] = not labels["accept_saturated_client"]
    meta.write_text(json.dumps(edited))
    code, found = await verdicts(controller, str(folder))
    assert code == 1 and found[0]["state"] == "broken", found
    problems = " ".join(found[0]["problems"])
    assert f"01-chat {key}: the folder states a spread of ±{stated[key]:g} %" in problems
    assert "meta.json says engine version 'b9999-forged'" in problems
    assert f"01-chat: meta.json says exact_tg {labels['exact_tg']}" in problems
    assert "01-chat: meta.json says accept_saturated_client" in problems
    before = rows(controller)
    code, report = await imported_job(controller, folder)
    assert code == 1 and rows(controller) == before

    meta.write_text(original)
    code, report = await imported_job(controller, folder)
    assert code == 0 and report["runs"][0]["verified_by"].startswith("agent sim-box"), report
    job, measured = (
        await shown(controller, report["runs"][0]["run_id"]),
        await shown(controller, run_id),
    )
    version = measured["provenance"]["engine_version"]
    assert version and job["imported"]["provenance"]["engine_version"] == version
    assert spreads(job) == pytest.approx(spreads(measured), rel=1e-9)
    assert all(spread is not None for spread in spreads(job).values())


async def test_an_unsigned_folder_imports_unverified_and_is_not_ranked(
    controller: Controller, tmp_path: Path
) -> None:
    """A folder with its manifest removed (meta.json edited to say it ran on real hardware)
    imports, visibly unverified, and stays out of rank unless --include-unverified."""
    run_id, folder = await exported_simulated_run(controller, tmp_path)
    for name in ("manifest.json", "manifest.sig", "manifest.key", "samples.jsonl"):
        (folder / name).unlink()
    meta = json.loads((folder / "meta.json").read_text())
    meta["arena"]["simulated"] = False
    (folder / "meta.json").write_text(json.dumps(meta))
    code, report = await imported_job(controller, folder)
    assert code == 0, report
    assert await ranked(controller) == []
    (run,) = report["runs"]
    assert (run["verified_by"], run["unverified_reason"]) == ("", "no signed manifest")
    assert (await shown(controller, run["run_id"]))["imported"]["verified_by"] == ""
    assert len(await ranked(controller, "--include-unverified")) == 1


async def test_a_simulated_run_stays_simulated_through_export_and_import(
    controller: Controller, tmp_path: Path
) -> None:
    """An untouched export of a simulated run imports verified and still simulated (from the
    signed spec), so it never ranks as real hardware."""
    run_id, folder = await exported_simulated_run(controller, tmp_path)
    code, report = await imported_job(controller, folder)
    assert code == 0, report
    (run,) = report["runs"]
    job = await shown(controller, run["run_id"])
    assert job["simulated"] is True
    assert await ranked(controller) == []
    assert run["verified_by"].startswith("agent sim-box, key "), run
    assert job["imported"]["verified_by"] == run["verified_by"]
    assert await ranked(controller, "--include-unverified") == []
    code, text = await arenactl(controller, DEV_USER_TOKEN, "show", run["run_id"])
    assert "SIMULATED" in text and "verified" in text, text
