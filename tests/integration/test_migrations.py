"""The schema's history: alembic revisions build what the models declare, on SQLite and on
PostgreSQL, and a database made before migrations is adopted with its rows."""

import sqlite3
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel

from arena.controller.server import main
from arena.controller.store.database import Database, connect, redacted
from arena.controller.store.jobs import get_job, lease_job, samples_of, store_samples
from arena.controller.store.migrate import BASELINE, SchemaError, alembic_config, revision_of
from arena.controller.store.runs import list_runs
from tests.store_data import agents, sample, submit
from tests.unit.test_store_records import SNAPSHOT, schema_sql

pytestmark = pytest.mark.backends  # the store on SQLite and on PostgreSQL


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
    """As today's code left it before alembic: create_all, a run, a leased job, samples."""
    engine = connect(store_url)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        run_id, job_ids = submit(session, 2)
        [agent] = agents(session, 1)
        session.commit()
        leased = lease_job(session, agent, 1.0, 1e9)
        assert leased is not None
        job_id = leased.id
        samples = [sample(i).model_dump() for i in range(5)]
        assert store_samples(session, agent, job_id, 1, 1, samples) == (5, 5)
        session.commit()
    engine.dispose()

    db = Database(store_url)
    try:
        with db.engine.connect() as connection:
            assert revision_of(connection) == head()
        [run] = db.run_sync(list_runs, 10)
        assert (run.run_id, run.jobs_total, run.samples) == (run_id, 2, 5)
        stored = db.run_sync(samples_of, db.run_sync(get_job, job_id))
        assert stored == [sample(i) for i in range(5)]
        assert db.run_sync(store_samples, agent, job_id, 1, 6, [sample(5).model_dump()]) == (6, 1)
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
