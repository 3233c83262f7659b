"""The process runtime's life cycle with real child processes: the owner's recipes, run as the
policy's user, in a folder of their own, with nothing of the agent's environment."""

import asyncio
import os
from pathlib import Path

import psutil
import pytest

from arena.agent.engines.logs import EngineLog
from arena.agent.engines.process import ProcessEngineDriver, reap_orphans
from arena.common.errors import EngineError, PolicyError
from arena.common.schemas.engine import ProcessEngine
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.suite import ModelSpec
from tests.policy_files import engine_user
from tests.prerequisites import is_root, requires

MODEL = ModelSpec(name="m", engine="e")
SCRIPTS = {
    "fails": "echo 'cannot load model'; exit 3",
    "hangs": "exec sleep 60",
    "looks": "id -u; pwd; env; cat \"$1\" || echo 'cannot read the state'; exit 1",
}


def policy(readable: str = "none", **process: object) -> AgentPolicy:
    """One recipe: /bin/sh runs the script the test picks (a choice the owner listed), with
    the file it tries to read as its first argument."""
    recipe = {
        "command": ["/bin/sh", "-c", "{script}", "engine", "{state}", "{port}"],
        "args": {
            "script": {"type": "choice", "choices": list(SCRIPTS.values())},
            "state": {"type": "choice", "choices": [readable], "default": readable},
        },
        "env": ["ENGINE_FLAG"],
    }
    return AgentPolicy.model_validate(
        {
            "runtimes": ["process"],
            "process": {"user": engine_user(), "recipes": {"sh": recipe}, **process},
            "expose_env": ["ARENA_TEST_EXPOSED"],
        }
    )


def driver(
    script: str,
    tmp_path: Path,
    timeout_s: float = 5,
    owner: AgentPolicy | None = None,
    **extra: object,
) -> ProcessEngineDriver:
    profile = ProcessEngine.model_validate(
        {
            "runtime": "process",
            "recipe": "sh",
            "args": {"script": SCRIPTS[script]},
            "startup_timeout_s": timeout_s,
            **extra,
        }
    )
    return ProcessEngineDriver(profile, MODEL, EngineLog(), tmp_path, owner or policy())


async def test_an_engine_that_exits_at_start_fails_with_its_last_words(tmp_path: Path) -> None:
    engine = driver("fails", tmp_path)
    await engine.start()
    with pytest.raises(EngineError, match=r"exited with code 3(.|\n)*cannot load model"):
        await engine.wait_ready()
    await engine.stop()
    assert not engine.pid_file.exists()


async def test_an_engine_that_never_answers_times_out_and_is_stopped(tmp_path: Path) -> None:
    engine = driver("hangs", tmp_path, timeout_s=1)
    await engine.start()
    with pytest.raises(EngineError, match="not healthy after 1 s"):
        await engine.wait_ready()
    pid = int(engine.pid_file.read_text().split()[0])
    await engine.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_orphans_of_a_crashed_agent_are_reaped(tmp_path: Path) -> None:
    engine = driver("hangs", tmp_path)
    await engine.start()
    pid, folder = engine.pid_file.read_text().split()
    assert reap_orphans(tmp_path) == 1  # as a restarted agent would
    assert not await asyncio.to_thread(os.path.exists, folder)  # its folder went too
    await engine.stop()  # reaps the zombie; the process is gone already
    assert not psutil.pid_exists(int(pid))
    assert not [entry for entry in os.listdir(tmp_path) if entry.endswith(".pid")]


async def test_an_unset_secret_stops_the_start(tmp_path: Path) -> None:
    os.environ.pop("ARENA_TEST_EXPOSED", None)
    with pytest.raises(EngineError, match="ARENA_TEST_EXPOSED"):
        driver("fails", tmp_path, secrets={"TOKEN": "ARENA_TEST_EXPOSED"})


async def test_a_secret_the_policy_does_not_expose_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="refused by this agent's policy: secret TOKEN reads"):
        driver("fails", tmp_path, secrets={"TOKEN": "DB_PASSWORD"})


@requires(is_root(), "root (the agent switches users only as root)")
async def test_the_engine_runs_unprivileged_with_only_its_own_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's variables stay out, its state folder stays shut, the engine's folder goes."""
    monkeypatch.setenv("DB_PASSWORD", "agent-secret-1")
    monkeypatch.setenv("ARENA_TEST_EXPOSED", "exposed-2")
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "credential.json").write_text('{"secret": "arena-agent-x"}')
    owner = policy(readable=str(state / "credential.json"))
    profile = ProcessEngine.model_validate(
        {
            "runtime": "process",
            "recipe": "sh",
            "args": {"script": SCRIPTS["looks"]},
            "env": {"ENGINE_FLAG": "on"},
            "secrets": {"TOKEN": "ARENA_TEST_EXPOSED"},
        }
    )
    lines: list[str] = []
    engine = ProcessEngineDriver(profile, MODEL, EngineLog(forward=lines.append), state, owner)
    await engine.start()
    with pytest.raises(EngineError, match="exited with code 1"):
        await engine.wait_ready()
    await engine.stop()
    output = "\n".join(lines)
    assert lines[0] == "65534"  # nobody
    assert "Permission denied" in output and "cannot read the state" in output
    assert "arena-agent-x" not in output and "agent-secret-1" not in output
    names = {line.split("=", 1)[0] for line in lines[2:] if "=" in line}
    assert names <= {
        "PATH",
        "HOME",
        "PWD",
        "LANG",
        "CUDA_VISIBLE_DEVICES",
        "ENGINE_FLAG",
        "TOKEN",
        "SHLVL",
        "_",
    }, names
    assert "TOKEN=exposed-2" in lines and "ENGINE_FLAG=on" in lines
    assert lines[1].startswith("/tmp/arena-engine-") and f"HOME={lines[1]}" in lines
    assert not await asyncio.to_thread(os.path.exists, lines[1])  # its folder went with it


def test_a_user_that_is_root_or_missing_runs_nothing(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="is root"):
        driver("fails", tmp_path, owner=policy(user="root"))
    with pytest.raises(PolicyError, match="does not exist"):
        driver("fails", tmp_path, owner=policy(user="arena-no-such-user"))
