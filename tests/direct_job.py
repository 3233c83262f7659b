"""Drive one job through a real controller without the agent's main loop: submit a suite,
take its job as an agent, run it with ``JobExecution``. Such tests run no heartbeat loop, so
their controller needs long leases (``long_leases``)."""

import asyncio
from pathlib import Path
from typing import Any

from arena.agent.jobs import JobExecution
from arena.agent.link import ControllerLink, Lease
from arena.agent.policy import load_policy
from arena.agent.settings import AgentSettings
from arena.agent.uploads import Spool
from arena.client.api import ArenaClient
from arena.common.schemas.agent import ClientHeadroom, HardwareInfo
from arena.common.settings import DEV_AGENT_TOKEN, DEV_USER_TOKEN
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings


def long_leases(data_dir: Path, database_url: str | None = None) -> ControllerSettings:
    return ControllerSettings(
        listen="127.0.0.1:0", data_dir=data_dir, database_url=database_url, lease_ttl_s=120.0
    )


def address(controller: Controller) -> str:
    return f"127.0.0.1:{controller.port}"


async def lease_one_job(
    controller: Controller, suite: str, name: str, hardware: HardwareInfo
) -> tuple[ControllerLink, Lease, str]:
    """Submit ``suite`` and lease its job as agent ``name``: (link, lease, run id)."""
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        run_id, _ = await asyncio.to_thread(client.submit, suite, f"{name}.yaml")
    link = ControllerLink(address(controller), DEV_AGENT_TOKEN)
    await link.register(name, hardware, {}, {"arena": "test"})
    lease = await link.lease(5.0)
    assert lease is not None
    return link, lease, run_id


async def run_leased(
    link: ControllerLink,
    lease: Lease,
    settings: AgentSettings,
    nvml: Any | None = None,
    headroom: ClientHeadroom | None = None,
) -> JobExecution:
    """Run the leased job to its end with the agent's spool under ``settings.state_dir``;
    returns the execution, whose last progress report is what a heartbeat would carry."""
    spool = Spool(settings.state_dir / "spool.db")
    try:
        policy = load_policy(settings.policy_file)
        execution = JobExecution(link, lease, settings, spool, policy, nvml=nvml, headroom=headroom)
        await execution.run()
        return execution
    finally:
        spool.close()
        await link.close()
