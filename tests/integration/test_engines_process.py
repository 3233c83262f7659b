"""The process runtime's life cycle with real child processes."""

import os
import shlex
import sys
from pathlib import Path

import psutil
import pytest

from arena.agent.engines.logs import EngineLog
from arena.agent.engines.process import ProcessEngineDriver, reap_orphans
from arena.common.errors import EngineError
from arena.common.schemas.engine import ProcessEngine
from arena.common.schemas.suite import ModelSpec

MODEL = ModelSpec(name="m", engine="e")


def driver(script: str, tmp_path: Path, timeout_s: float = 5) -> ProcessEngineDriver:
    command = shlex.join([sys.executable, "-c", script]) + " {port}"
    profile = ProcessEngine(runtime="process", command=command, startup_timeout_s=timeout_s)
    return ProcessEngineDriver(profile, MODEL, EngineLog(), tmp_path)


async def test_an_engine_that_exits_at_start_fails_with_its_last_words(tmp_path: Path) -> None:
    engine = driver("import sys; print('cannot load model'); sys.exit(3)", tmp_path)
    await engine.start()
    with pytest.raises(EngineError, match=r"exited with code 3(.|\n)*cannot load model"):
        await engine.wait_ready()
    await engine.stop()
    assert not engine.pid_file.exists()


async def test_an_engine_that_never_answers_times_out_and_is_stopped(tmp_path: Path) -> None:
    engine = driver("import time; time.sleep(60)", tmp_path, timeout_s=1)
    await engine.start()
    with pytest.raises(EngineError, match="not healthy after 1 s"):
        await engine.wait_ready()
    pid = int(engine.pid_file.read_text())
    await engine.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_orphans_of_a_crashed_agent_are_reaped(tmp_path: Path) -> None:
    engine = driver("import time; time.sleep(60)", tmp_path)
    await engine.start()
    pid = int(engine.pid_file.read_text())
    assert reap_orphans(tmp_path) == 1  # as a restarted agent would
    await engine.stop()  # reaps the zombie; the process is gone already
    assert not psutil.pid_exists(pid)
    assert not [entry for entry in os.listdir(tmp_path) if entry.endswith(".pid")]


async def test_an_unset_secret_stops_the_start(tmp_path: Path) -> None:
    os.environ.pop("ARENA_TEST_ABSENT", None)
    profile = ProcessEngine(runtime="process", command="true {port}",
                            secrets={"TOKEN": "ARENA_TEST_ABSENT"})  # fmt: skip
    with pytest.raises(EngineError, match="ARENA_TEST_ABSENT"):
        ProcessEngineDriver(profile, MODEL, EngineLog(), tmp_path)
