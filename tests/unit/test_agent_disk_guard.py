"""The agent takes no new job when the disk beside its spool runs low, instead of dropping."""

from pathlib import Path

from agent.settings import AgentSettings
from agent.worker import Agent


def agent(tmp_path: Path, min_free_mb: int) -> Agent:
    return Agent(AgentSettings(state_dir=tmp_path, min_free_disk_mb=min_free_mb, name="guard"))


def test_plenty_of_space_lets_jobs_in(tmp_path: Path) -> None:
    assert not agent(tmp_path, 0)._disk_is_low()


def test_low_space_pauses_new_jobs(tmp_path: Path) -> None:
    assert agent(tmp_path, 10**12)._disk_is_low()  # asks for an exabyte: never available
