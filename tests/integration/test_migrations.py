"""The schema's history: alembic revisions build what the models declare, on SQLite and on
PostgreSQL, and a database made before migrations is adopted with its rows."""

import sqlite3
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import JSON, column, insert, inspect, table, text, update
from sqlmodel import Session, SQLModel

from arena.common.metrics.sanity import SampleColumns
from arena.controller.server import main
from arena.controller.store.admission import DEFAULT_POLICY, policy_of
from arena.controller.store.agents import get_agent
from arena.controller.store.bulk import SAMPLE_COLUMNS
from arena.controller.store.database import Database, connect, redacted
from arena.controller.store.jobs import get_job, lease_job, samples_of, store_samples
from arena.controller.store.migrate import BASELINE, SchemaError, alembic_config, revision_of
from arena.controller.store.runs import list_runs
from tests.store_data import agents, sample, submit
from tests.unit.test_store_records import SNAPSHOT, schema_sql

pytestmark = pytest.mark.backends  # the store on SQLite and on PostgreSQL

_AGENT_COLUMNS_0003 = (
    "id",
    "name",
    "hardware",
    "labels",
    "versions",
    "gpu_name",
    "vram_gb",
    "cpu_arch",
    "registered_at",
    "last_seen_at",
    "draining",
)
AGENTS_0003 = table(
    "agents",
    *(
        column(name, JSON if name in ("hardware", "labels", "versions") else None)
        for name in _AGENT_COLUMNS_0003
    ),
)
"""The agents table as 0003 left it: rows written through it need no column added later."""


def head() -> str:
    from alembic.script import ScriptDirectory

    with connect("sqlite://").connect() as connection:
        heads = ScriptDirectory.from_config(alembic_config(connection)).get_heads()
    assert len(heads) == 1, f"revisions must form one line, found heads {heads}"
    return heads[0]


def test_the_first_revision_makes_the_tables_older_controllers_made(tmp_path: Path) -> None:
    from alembic import command

    path = tmp_path / "arena.db"
    engine = connect(f"sqlite:///{path}")
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), BASELINE)
    engine.dispose()
    with sqlite3.connect(path) as connection:
        assert schema_sql(connection) == SNAPSHOT.read_text()  # byte for byte


def test_the_revisions_build_what_the_models_declare(store_url: str) -> None:
    db = Database(store_url)
    try:
        with db.engine.connect() as connection:
            assert revision_of(connection) == head()
            differences = compare_metadata(
                MigrationContext.configure(connection), SQLModel.metadata
            )
        assert differences == [], "the models changed without a revision (docs/database.md)"
    finally:
        db.close()


def test_a_database_made_without_migrations_is_adopted_with_its_runs(store_url: str) -> None:
    """As the code before alembic left it: its tables (0003's, without ``alembic_version``), a
    run, a leased job, samples with their chunk times as JSON. Adopted, upgraded, the chunk
    times come back bit for bit, packed (0004), and new ones are stored."""
    from alembic import command

    engine = connect(store_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0003")
        connection.execute(text("DROP TABLE alembic_version"))
        # today's store code writes the rows: the columns added since 0003 exist meanwhile
        connection.execute(text("ALTER TABLE jobs ADD COLUMN leased_at FLOAT"))
        connection.execute(text("ALTER TABLE jobs ADD COLUMN metrics_version INTEGER"))  # 0008
    with Session(engine) as session:
        run_id, job_ids = submit(session, 2)
        session.commit()
    agent, job_id = "agent-old", job_ids[0]
    with engine.begin() as connection:  # an agent holding the first job, in 0003's columns
        old_agent = dict(hardware={}, labels={}, versions={}, gpu_name="", vram_gb=0.0)
        connection.execute(
            insert(AGENTS_0003).values(
                id=agent,
                name="box-0",
                cpu_arch="",
                registered_at=1.0,
                last_seen_at=1.0,
                draining=False,
                **old_agent,
            )
        )
        held = ("id", "state", "attempt", "agent_id", "acked_seq", "lease_expires_at")
        jobs = table("jobs", *map(column, held))
        lease = dict(state="leased", attempt=1, agent_id=agent, acked_seq=5, lease_expires_at=1e9)
        connection.execute(update(jobs).where(jobs.c.id == job_id).values(**lease))
    odd = [0.1 + 0.2, 1 / 3, 1e-300, 123456.789012345678]
    written = [sample(i).model_copy(update={"chunk_times_s": odd[:i]}) for i in range(5)]
    with engine.begin() as connection:  # the JSON column as the old code wrote it
        old_samples = table(
            "samples", *(column(n, JSON if n == "chunk_times_s" else None) for n in SAMPLE_COLUMNS)
        )
        connection.execute(
            insert(old_samples),
            [
                {"job_id": job_id, "attempt": 1, "seq": i + 1, **one.model_dump()}
                for i, one in enumerate(written)
            ],
        )
        connection.execute(text("ALTER TABLE jobs DROP COLUMN leased_at"))
        connection.execute(text("ALTER TABLE jobs DROP COLUMN metrics_version"))
    engine.dispose()

    db = Database(store_url)
    try:
        with db.engine.connect() as connection:
            assert revision_of(connection) == head()
        [run] = db.run_sync(list_runs, 10)
        assert (run.run_id, run.jobs_total, run.samples) == (run_id, 2, 5)
        stored = db.run_sync(samples_of, db.run_sync(get_job, job_id))
        assert stored == written
        new = SampleColumns.of([sample(5)])
        assert db.run_on_connection(store_samples, agent, job_id, 1, 6, new) == (6, 1)
        old = db.run_sync(get_agent, agent)  # registered before policies (0006): the defaults
        assert (old.policy, policy_of(old)) == (None, DEFAULT_POLICY)
    finally:
        db.close()


def test_requests_stored_twice_before_0005_keep_their_first(store_url: str) -> None:
    """A lying agent could store one request twice before 0005: the upgrade keeps the first of
    each and builds the unique index, which then refuses a repeat."""
    from alembic import command

    from arena.controller.store.bulk import RepeatedRequest

    engine = connect(store_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0004")
        connection.execute(text("ALTER TABLE jobs ADD COLUMN leased_at FLOAT"))  # today's code
        connection.execute(text("ALTER TABLE jobs ADD COLUMN metrics_version INTEGER"))
        connection.execute(text("ALTER TABLE agents ADD COLUMN policy JSON"))
    with Session(engine) as session:
        submit(session, 1)
        [agent] = agents(session, 1)
        session.commit()
        leased = lease_job(session, agent, 1.0, 1e9)
        assert leased is not None
        job_id = leased.id
        session.commit()
    with engine.begin() as connection:
        twice = [sample(0), sample(1), sample(0).model_copy(update={"end_s": 9.0})]
        store_samples(connection, agent, job_id, 1, 1, SampleColumns.of(twice))
        connection.execute(text("ALTER TABLE jobs DROP COLUMN leased_at"))
        connection.execute(text("ALTER TABLE jobs DROP COLUMN metrics_version"))
        connection.execute(text("ALTER TABLE agents DROP COLUMN policy"))
    engine.dispose()

    db = Database(store_url)
    try:
        stored = db.run_sync(samples_of, db.run_sync(get_job, job_id))
        assert stored == twice[:2]
        with pytest.raises(RepeatedRequest):
            db.run_on_connection(store_samples, agent, job_id, 1, 4, SampleColumns.of([sample(1)]))
    finally:
        db.close()


def test_a_database_with_only_some_of_the_tables_is_refused(store_url: str) -> None:
    engine = connect(store_url)
    SQLModel.metadata.tables["agents"].create(engine)
    engine.dispose()
    with pytest.raises(SchemaError, match="not aggregates, energy, job_logs, jobs"):
        Database(store_url)


def test_controllers_starting_together_migrate_once(store_url: str, backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("several controllers share a PostgreSQL database, not a SQLite file")
    opened: list[Database] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(Database(store_url))
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in opened:
        db.close()
    assert errors == []
    engine = connect(store_url)
    with engine.connect() as connection:
        assert revision_of(connection) == head()
        assert "jobs" in inspect(connection).get_table_names()
        assert connection.execute(text("SELECT COUNT(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def test_arena_controller_migrate(store_url: str) -> None:
    result = CliRunner().invoke(main, ["migrate", "--database-url", store_url])
    assert result.exit_code == 0, result.output
    engine = connect(store_url)
    with engine.connect() as connection:
        assert revision_of(connection) == head()
    engine.dispose()


def test_logs_show_no_database_password() -> None:
    assert redacted("postgresql+psycopg://arena:s3cret@db:5432/arena") == (
        "postgresql+psycopg://arena:***@db:5432/arena"
    )


def test_the_key_registry_is_filled_from_the_keys_already_stored(store_url: str) -> None:
    """0007: every key a database already knows (bound to an agent, or stored with a signed
    job that a key reset left behind) lands in ``agent_keys``, so old results still verify."""
    from alembic import command

    engine = connect(store_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0006")
        connection.execute(text("ALTER TABLE jobs ADD COLUMN metrics_version INTEGER"))  # 0008
    with Session(engine) as session:
        submit(session, 1)
        [agent] = agents(session, 1)
        session.commit()
        leased = lease_job(session, agent, 1.0, 1e9)
        assert leased is not None
        job_id = leased.id
        session.commit()
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE jobs DROP COLUMN metrics_version"))
        connection.execute(
            text("UPDATE agent_trust SET public_key = 'bb' WHERE agent_id = :a"), {"a": agent}
        )
        connection.execute(
            text("UPDATE job_trust SET signer_key = 'aa', manifest = '{}' WHERE job_id = :j"),
            {"j": job_id},
        )
        command.upgrade(alembic_config(connection), "head")
        found = connection.execute(text("SELECT agent_id, public_key FROM agent_keys")).all()
    engine.dispose()
    assert sorted(found) == [(agent, "aa"), (agent, "bb")]
