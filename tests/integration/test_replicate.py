"""``arenactl replicate``: the same suite on official agents matching a selector, and the ±2%
check between two runs (a run against itself agrees on every metric)."""

import asyncio
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from arena.agent.settings import AgentSettings
from arena.client.api import ArenaClient
from arena.client.cli import cli
from arena.client.replicate import parse_selector
from arena.common.errors import ArenaError
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from tests.direct_job import address, lease_one_job, long_leases, run_leased
from tests.integration.test_export import H200, SUITE


@pytest.fixture
def controller_settings(tmp_path: Path) -> ControllerSettings:
    return long_leases(tmp_path / "controller")


def test_a_selector_is_an_official_target() -> None:
    assert parse_selector("gpu=H200,site=lab,min_vram_gb=80") == {
        "name": "replica",
        "tier": "official",
        "gpu_name": "H200",
        "min_vram_gb": 80.0,
        "labels": {"site": "lab"},
    }
    with pytest.raises(ArenaError, match="expected key=value"):
        parse_selector("H200")


def run_cli(controller: Controller, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--controller", address(controller), *args])
    return result.exit_code, result.output


async def test_replicate_resubmits_on_official_agents_and_checks(
    controller: Controller, tmp_path: Path
) -> None:
    link, lease, run_id = await lease_one_job(controller, SUITE, "h200-box", H200)
    await run_leased(link, lease, AgentSettings(state_dir=tmp_path / "agent", name="h200-box"))

    code, text = await asyncio.to_thread(
        run_cli, controller, "replicate", run_id, "--on", "agent=h200-box"
    )
    assert code == 0, text
    replica = text.split(":")[0]
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        detail = await asyncio.to_thread(client.run, replica)
    assert yaml.safe_load(detail.suite_yaml or "")["targets"] == [
        {"name": "replica", "tier": "official", "agent": "h200-box"}
    ]

    code, text = await asyncio.to_thread(
        run_cli, controller, "replicate", "--check", run_id, run_id
    )
    assert code == 0 and "within ±2%" in text, text
    code, text = await asyncio.to_thread(run_cli, controller, "replicate", run_id)
    assert code == 2 and "replicate RUN --on SELECTOR" in text
