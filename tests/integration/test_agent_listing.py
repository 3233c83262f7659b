"""The agent listing (``arenactl agents`` through gRPC ListAgents, the dashboard's /agents) reads
the agents and the jobs they hold in a fixed number of SQL statements, however many agents there
are: counted on the controller's real database (SQLite, PostgreSQL) for 1 agent and for 50."""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from arena.client.api import AgentInfo, ArenaClient
from arena.common.settings import DEV_USER_TOKEN
from arena.controller.rpc import users
from arena.controller.server import Controller
from arena.controller.settings import ControllerSettings
from arena.controller.web.reads import AgentView, Reader
from tests.integration.test_protocol import address, registered, submit

pytestmark = pytest.mark.backends  # the store on SQLite and on PostgreSQL


@pytest.fixture
def controller_settings(controller_settings: ControllerSettings) -> ControllerSettings:
    """A lease outlives registering 49 more agents on a loaded machine."""
    return controller_settings.model_copy(update={"lease_ttl_s": 600.0})


@contextmanager
def counted(controller: Controller) -> Iterator[list[str]]:
    """The SQL statements this thread runs on the controller's database inside the block (the
    controller's own timers use the same engine from other threads)."""
    assert controller.db is not None
    statements: list[str] = []
    me = threading.get_ident()

    def record(*args: Any) -> None:
        if threading.get_ident() == me:
            statements.append(args[2])  # (conn, cursor, statement, parameters, context, many)

    event.listen(controller.db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(controller.db.engine, "before_cursor_execute", record)


def _listings(controller: Controller) -> tuple[list[AgentInfo], list[AgentView], int, int]:
    """Both listings and the statements each read took: ListAgents' read run here as the
    servicer runs it (on the database executor), and the dashboard's."""
    assert controller.db is not None
    with ArenaClient(address(controller), DEV_USER_TOKEN) as client:
        listed = client.agents()
    with counted(controller) as grpc_statements:
        controller.db.run_sync(users._agents_with_jobs)
    with counted(controller) as web_statements:
        viewed = Reader(controller.db, controller.settings).agents()
    return listed, viewed, len(grpc_statements), len(web_statements)


async def test_the_agent_listing_costs_the_same_statements_for_1_and_50_agents(
    controller: Controller,
) -> None:
    await submit(controller)
    holder = await registered(controller, "box-00")
    lease = await holder.lease(wait_s=1)
    assert lease is not None
    listed, viewed, grpc_one, web_one = await asyncio.to_thread(_listings, controller)
    assert [(a.name, a.current_job) for a in listed] == [("box-00", lease.job_id)]
    assert [(a.name, a.current_job) for a in viewed] == [("box-00", lease.job_id)]

    links = [await registered(controller, f"box-{n:02d}") for n in range(1, 50)]
    listed, viewed, grpc_many, web_many = await asyncio.to_thread(_listings, controller)
    expected = [("box-00", lease.job_id)] + [(f"box-{n:02d}", "") for n in range(1, 50)]
    assert [(a.name, a.current_job) for a in listed] == expected
    assert [(a.name, a.current_job) for a in viewed] == expected
    assert (grpc_many, web_many) == (grpc_one, web_one)
    assert web_one == 1  # agents and the jobs they hold, one statement
    assert grpc_one == 1  # trust is a column of the agent row (revision 0009)

    for link in [holder, *links]:
        await link.close()
