"""Imports and provenance against a real controller on loopback, as an attacker would try them:
overwriting another user's import, re-signing an edited export with a fresh key, editing the
files beside the signed samples, dropping the manifest, and laundering a simulated run."""

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, long_leases

REPO = Path(__file__).resolve().parents[2]
SPARK = REPO / "examples/results/dgx-spark-sample"
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


async def user(controller: Controller, name: str, role: str = "submitter") -> str:
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
