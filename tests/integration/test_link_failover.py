"""An agent given several controllers: a call that finds one UNAVAILABLE goes to the next,
and later calls stay there; with none reachable, the caller gets UNAVAILABLE to retry."""

import pytest

from arena.agent.hardware import probe
from arena.agent.link import ControllerLink
from arena.agent.settings import AgentSettings
from arena.common.errors import UnavailableError
from arena.common.settings import DEV_AGENT_TOKEN
from arena.controller.server import Controller
from tests.integration.test_protocol import address, submit
from tests.support import free_port


async def test_a_call_moves_on_to_the_next_controller(controller: Controller) -> None:
    dead = f"127.0.0.1:{free_port()}"
    link = ControllerLink(f"{dead},{address(controller)}", DEV_AGENT_TOKEN)
    try:
        await link.register("box-1", probe(), {}, {})
        assert link.address == address(controller)
        await submit(controller)
        assert await link.lease(wait_s=1) is not None  # stays on the one that answered
    finally:
        await link.close()


async def test_no_controller_reachable_is_unavailable() -> None:
    link = ControllerLink(f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}", DEV_AGENT_TOKEN)
    try:
        with pytest.raises(UnavailableError):
            await link.register("box-1", probe(), {}, {})
    finally:
        await link.close()


def test_addresses_are_a_comma_separated_list() -> None:
    assert AgentSettings(controller=" a:1, b:2 ,").controller == "a:1,b:2"
    with pytest.raises(ValueError, match="no controller address"):
        AgentSettings(controller=" , ")
