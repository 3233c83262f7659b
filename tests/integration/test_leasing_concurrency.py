"""Leasing under contention on PostgreSQL, as several controllers on one database do it: many
transactions at once, from threads with their own connections, never hand one job out twice
(row locks, ``SKIP LOCKED``), and one agent asking through two controllers gets one job."""

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from sqlmodel import Session, create_engine, select

from arena.common.schemas.job import JobState
from arena.controller.store.database import Database
from arena.controller.store.jobs import expire_leases, lease_job, report_status
from arena.controller.store.models import JobRow
from tests.databases import postgres_database
from tests.store_data import agents, submit

JOBS = 60
AGENTS = 12


@pytest.fixture
def postgres() -> Iterator[str]:
    with postgres_database() as url:
        Database(url).close()  # the schema
        yield url


def in_threads(count: int, work: Callable[[int], None]) -> None:
    """``work(i)`` in ``count`` threads that start together; their errors fail the test."""
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait()
            work(index)
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


def test_concurrent_leases_never_give_a_job_twice(postgres: str) -> None:
    engine = create_engine(postgres, pool_size=AGENTS + 4)
    with Session(engine) as session:
        _, job_ids = submit(session, JOBS)
        agent_ids = agents(session, AGENTS)
        session.commit()
    leases: list[tuple[str, str, int]] = []
    held_at_once: list[int] = []
    holding: set[str] = set()
    guard = threading.Lock()

    def agent(index: int) -> None:
        """Lease, run (hold it a moment), succeed; until the queue is empty."""
        agent_id = agent_ids[index]
        while True:
            with Session(engine, expire_on_commit=False) as session:
                job = lease_job(session, agent_id, time.time(), 300.0)
                session.commit()
            if job is None:
                return
            with guard:
                assert job.id not in holding, f"{job.id} leased while another agent held it"
                holding.add(job.id)
                held_at_once.append(len(holding))
                leases.append((job.id, agent_id, job.attempt))
            time.sleep(0.002)
            with guard:
                holding.discard(job.id)
            with Session(engine) as session:
                for state in (JobState.RUNNING, JobState.SUCCEEDED):
                    report_status(
                        session, agent_id, job.id, job.attempt, state, message="", now=time.time()
                    )
                session.commit()

    def reaper() -> None:
        """Every controller reaps; nothing here has expired, and reaping must not block."""
        for _ in range(50):
            with Session(engine) as session:
                assert expire_leases(session, time.time(), 3) == []
                session.commit()

    in_threads(AGENTS + 2, lambda i: agent(i) if i < AGENTS else reaper())

    counts = Counter(job_id for job_id, _, _ in leases)
    assert sorted(counts) == sorted(job_ids)  # every job leased ...
    assert set(counts.values()) == {1}  # ... exactly once
    assert {attempt for _, _, attempt in leases} == {1}
    assert len({agent_id for _, agent_id, _ in leases}) > 1  # they really competed
    with Session(engine) as session:
        states = session.exec(select(JobRow.state)).all()
    assert Counter(states) == {JobState.SUCCEEDED.value: JOBS}
    engine.dispose()


def test_one_agent_through_two_controllers_gets_one_job(postgres: str) -> None:
    engine = create_engine(postgres, pool_size=12)
    with Session(engine) as session:
        submit(session, 10)
        [agent_id] = agents(session, 1)
        session.commit()
    got: list[str] = []

    def lease(_: int) -> None:
        with Session(engine, expire_on_commit=False) as session:
            job = lease_job(session, agent_id, time.time(), 300.0)
            session.commit()
        if job is not None:
            got.append(job.id)

    in_threads(8, lease)
    assert len(got) == 1
    engine.dispose()
