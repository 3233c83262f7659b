"""The agent takes no new job when the disk beside its spool runs low, instead of dropping."""

from pathlib import Path

from arena.agent.settings import AgentSettings
from arena.agent.worker import Agent


def agent(tmp_path: Path, min_free_mb: int) -> Agent:
    return Agent(AgentSettings(state_dir=tmp_path, min_free_disk_mb=min_free_mb, name="guard"))


async def test_plenty_of_space_lets_jobs_in(tmp_path: Path) -> None:
    guarded = agent(tmp_path, 0)  # the agent's gRPC channel wants a running loop
    assert not guarded._disk_is_low()
    guarded.spool.close()


async def test_low_space_pauses_new_jobs(tmp_path: Path) -> None:
    guarded = agent(tmp_path, 10**12)  # asks for an exabyte: never available
    assert guarded._disk_is_low()
    guarded.spool.close()
