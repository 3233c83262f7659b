"""An agent's policy on the wire and in the store: it crosses typed and comes back equal, an
agent without one reads as the defaults, verdicts are remembered per (policy, job), and a job
nobody admits names at most three refusing agents."""

import time
from pathlib import Path

from sqlmodel import Session

from arena.agent.hardware import probe
from arena.common.pb.arena.v2 import common_pb2
from arena.common.schemas.policy import AgentPolicy
from arena.common.suites.loader import load_suite_text
from arena.common.wire import from_message, to_message
from arena.controller.store.admission import (
    DEFAULT_POLICY,
    stored_policy,
    waiting_notes,
)
from arena.controller.store.agents import register_agent
from arena.controller.store.database import Database
from arena.controller.store.runs import run_jobs, submit_run
from tests.integration.test_agent_policy import OWNER, SUITE


def test_a_policy_crosses_the_wire_typed_and_comes_back_equal() -> None:
    message = to_message(OWNER, common_pb2.AgentPolicy)
    assert message.process.recipes["llama"].args["ctx"].WhichOneof("type") == "int"
    assert from_message(message, AgentPolicy) == OWNER
    assert from_message(to_message(AgentPolicy(), common_pb2.AgentPolicy), AgentPolicy) == (
        DEFAULT_POLICY
    )


def test_refusals_are_remembered_per_policy_and_job_and_named_three_at_a_time(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path}/arena.db")
    try:
        with Session(db.engine) as session:
            run_id, _ = submit_run(
                session, load_suite_text(SUITE, "p.yaml"), SUITE, "p.yaml", time.time()
            )
            rows = [
                register_agent(session, f"box-{i}", probe(), {}, {}, time.time()) for i in range(5)
            ]
            owner = register_agent(session, "owner", probe(), {}, {}, time.time(), policy=OWNER)
            session.commit()
            jobs = run_jobs(session, run_id)
            plain, admitting = stored_policy(rows[0]), stored_policy(owner)
            assert plain.policy == DEFAULT_POLICY and admitting.policy == OWNER
            assert plain.digest != admitting.digest
            first = [plain.refusals(job) for job in jobs]
            assert all(first) and [plain.refusals(job) for job in jobs] == first
            assert not any(admitting.refusals(job) for job in jobs)
            assert waiting_notes(session, jobs) == {}  # the owner admits them all

            owner.policy = None  # its owner took everything back
            session.add(owner)
            session.flush()
            notes = waiting_notes(session, jobs)
            assert set(notes) == {job.id for job in jobs}
            note = notes[jobs[0].id]
            assert note.startswith("no agent's policy admits this job: box-0: runtime process")
            assert note.count(": runtime process is not allowed") == 3
            assert note.endswith(" | and 3 more")
    finally:
        db.close()
