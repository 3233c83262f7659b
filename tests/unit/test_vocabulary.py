"""The shared words (run and job states, agent status) are each one enum, read the same by
every surface."""

import pytest

from arena.client.commands.reading import runs
from arena.common.schemas.agent import AgentStatus
from arena.common.schemas.job import JobState
from arena.common.schemas.run import RunDetail, RunInfo, RunState
from arena.controller.store.agents import agent_status
from arena.controller.store.models import AgentRow

Q, L, R, S, F, C = (
    JobState.QUEUED,
    JobState.LEASED,
    JobState.RUNNING,
    JobState.SUCCEEDED,
    JobState.FAILED,
    JobState.CANCELLED,
)


@pytest.mark.parametrize(
    ("jobs", "state"),
    [
        ([], RunState.EMPTY),
        ([Q, Q], RunState.QUEUED),
        ([Q, F], RunState.QUEUED),
        ([Q, L], RunState.RUNNING),
        ([R, S], RunState.RUNNING),
        ([Q, S], RunState.RUNNING),
        ([S, S], RunState.SUCCEEDED),
        ([S, C], RunState.CANCELLED),
        ([S, C, F], RunState.FAILED),
    ],
)
def test_a_runs_state_follows_from_its_jobs(jobs: list[JobState], state: RunState) -> None:
    assert RunState.of(job.value for job in jobs) is state


def test_finished_runs_are_those_that_cannot_change() -> None:
    finished = {state for state in RunState if state.finished}
    assert finished == {RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.EMPTY}
    info = RunInfo(
        run_id="r",
        suite="s",
        state="empty",
        created_at_unix=0.0,
        jobs_total=0,
        jobs_done=0,
        samples=0,
    )
    assert RunDetail(run=info, jobs=[], notes=[]).finished
    assert info.model_dump(mode="json")["state"] == "empty"  # the wire and JSON keep the word


def test_arenactl_runs_offers_every_run_state() -> None:
    [option] = [p for p in runs.params if p.name == "states"]
    assert list(option.type.choices) == [state.value for state in RunState]  # type: ignore[attr-defined]


def test_an_agents_status_follows_from_its_silence() -> None:
    row = AgentRow(
        id="a", name="a", hardware={}, labels={}, versions={}, registered_at=0.0, last_seen_at=100.0
    )
    heard = [agent_status(row, now, 2.0, 30.0) for now in (100.0, 106.0, 107.0, 130.0, 131.0)]
    assert heard == [
        AgentStatus.ONLINE,
        AgentStatus.ONLINE,
        AgentStatus.DISCONNECTED,
        AgentStatus.DISCONNECTED,
        AgentStatus.LOST,
    ]
