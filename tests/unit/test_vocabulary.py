"""The shared words (run and job states, agent status, roles) are each one enum, read the
same by every surface and carried by the one wire converter."""

import pytest

from arena.client.commands.reading import runs
from arena.common.pb.arena.v2 import agent_pb2, user_pb2
from arena.common.schemas.agent import AgentStatus
from arena.common.schemas.job import JobState
from arena.common.schemas.run import RunDetail, RunInfo, RunState
from arena.common.schemas.user import Role, UserSummary
from arena.common.wire import enum_member, enum_number, from_message, to_message
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


def test_each_role_includes_those_below_it() -> None:
    assert [role.value for role in Role] == ["viewer", "submitter", "admin"]
    allowed = {(have, need) for have in Role for need in Role if have.includes(need)}
    assert allowed == {
        (Role.VIEWER, Role.VIEWER),
        (Role.SUBMITTER, Role.VIEWER),
        (Role.SUBMITTER, Role.SUBMITTER),
        (Role.ADMIN, Role.VIEWER),
        (Role.ADMIN, Role.SUBMITTER),
        (Role.ADMIN, Role.ADMIN),
    }


def test_roles_and_job_phases_cross_the_wire_by_member_name() -> None:
    assert [enum_number(role, user_pb2.UserRole) for role in Role] == [
        user_pb2.USER_ROLE_VIEWER,
        user_pb2.USER_ROLE_SUBMITTER,
        user_pb2.USER_ROLE_ADMIN,
    ]
    for role in Role:
        assert enum_member(enum_number(role, user_pb2.UserRole), user_pb2.UserRole, Role) is role
    reported = [JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED]
    for state in reported:
        number = enum_number(state, agent_pb2.JobPhase)
        assert agent_pb2.JobPhase.Name(number) == f"JOB_PHASE_{state.name}"
        assert enum_member(number, agent_pb2.JobPhase, JobState) is state
    for unknown in [agent_pb2.JOB_PHASE_UNSPECIFIED, agent_pb2.JOB_PHASE_ABANDONED, 99]:
        with pytest.raises(ValueError):  # no job state: the servicer refuses it
            enum_member(unknown, agent_pb2.JobPhase, JobState)


def test_a_user_summary_crosses_the_wire_with_its_role() -> None:
    summary = UserSummary(
        name="ann", role=Role.SUBMITTER, created_at_unix=1.5, live_tokens=2, revoked=False
    )
    message = to_message(summary, user_pb2.UserSummary)
    assert message.role == user_pb2.USER_ROLE_SUBMITTER
    assert from_message(message, UserSummary) == summary
    message.role = user_pb2.USER_ROLE_UNSPECIFIED
    with pytest.raises(ValueError, match="role"):  # pydantic's ValidationError is one
        from_message(message, UserSummary)
