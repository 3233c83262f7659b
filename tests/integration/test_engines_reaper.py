"""What an engine detaches from its process group (``setsid``) is stopped with it, and the
agent's other children, and their exit statuses, are left alone."""

import asyncio
import ctypes
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.agent.engines.logs import EngineLog
from arena.agent.engines.process import ProcessEngineDriver
from arena.agent.engines.reaper import (
    PR_SET_CHILD_SUBREAPER,
    become_subreaper,
    kill_leftovers,
)
from arena.common.schemas.engine import ProcessEngine
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.suite import ModelSpec
from tests.prerequisites import is_root, requires
from tests.support import running_with

pytestmark = requires(is_root(), "root (engines run as another user only when the agent is root)")

NOBODY = 65534


@pytest.fixture
def subreaper() -> Iterator[set[int]]:
    """This test process adopts orphans, as the agent does; the flag is cleared afterwards.
    Yields the children it had already (other tests' processes, not this test's to judge)."""
    assert become_subreaper()
    try:
        yield children_of_mine()
    finally:
        ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def children_of_mine() -> set[int]:
    me = str(os.getpid())
    pids = set()
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        if f"\nPPid:\t{me}\n" in status:
            pids.add(int(entry.name))
    return pids


def test_detached_processes_of_the_engine_user_are_killed_and_reaped(
    subreaper: set[int],
) -> None:
    mark = f"1000{uuid.uuid4().int % 10**6}"
    # the engine: detaches a sleep (which starts a grandchild of its own), then exits
    engine = subprocess.Popen(
        ["/bin/sh", "-c", f'setsid sh -c "sleep {mark} & exec sleep {mark}" & exit 0'],
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
        start_new_session=True,
    )
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)  # a tool, say
    try:
        assert engine.wait(10) == 0
        for _ in range(200):
            if len(running_with(mark)) == 2:
                break
            time.sleep(0.05)
        assert len(running_with(mark)) == 2  # both outlived the engine (and its group)
        killed = kill_leftovers(NOBODY)
        assert len(killed) >= 2
        assert running_with(mark) == []
        # no zombies left, the bystander untouched
        assert children_of_mine() - subreaper == {bystander.pid}
    finally:
        bystander.kill()
        assert bystander.wait(10) == -9  # its exit status is still its owner's to read


def test_a_leftover_that_keeps_forking_is_stopped_too(subreaper: set[int]) -> None:
    mark = f"3000{uuid.uuid4().int % 10**6}"
    engine = subprocess.Popen(
        ["/bin/sh", "-c", f'setsid sh -c "while :; do setsid sleep {mark} & done" & exit 0'],
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
        start_new_session=True,
    )
    assert engine.wait(10) == 0
    time.sleep(0.3)
    try:
        kill_leftovers(NOBODY)
        assert running_with(mark) == []
        assert children_of_mine() - subreaper == set()
    finally:
        for pid in running_with(mark):
            os.kill(pid, 9)


async def test_stopping_an_engine_stops_what_it_detached(
    tmp_path: Path, subreaper: set[int]
) -> None:
    mark = f"2000{uuid.uuid4().int % 10**6}"
    script = f'setsid sh -c "exec sleep {mark}" & exec sleep 60'
    owner = AgentPolicy.model_validate(
        {
            "runtimes": ["process"],
            "process": {
                "user": "nobody",
                "recipes": {
                    "sh": {
                        "command": ["/bin/sh", "-c", "{script}", "engine", "{port}"],
                        "args": {"script": {"type": "choice", "choices": [script]}},
                    }
                },
            },
        }
    )
    profile = ProcessEngine.model_validate(
        {"runtime": "process", "recipe": "sh", "args": {"script": script}}
    )
    engine = ProcessEngineDriver(
        profile, ModelSpec(name="m", engine="e"), EngineLog(), tmp_path, owner
    )
    await engine.start()
    for _ in range(200):
        if running_with(mark):
            break
        await asyncio.sleep(0.05)
    assert running_with(mark)
    await engine.stop()
    assert running_with(mark) == []
    assert children_of_mine() - subreaper == set()
