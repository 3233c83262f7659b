"""The schema's version: alembic revisions (``migrations/versions``) with the SQLModel tables
as their source, applied when the controller starts or by ``arena-controller migrate``.

A database made before alembic (tables, no ``alembic_version``) holds exactly the first
revision's tables, so it is stamped with that revision and upgraded from there: its rows stay.
On PostgreSQL an advisory lock lets several controllers start at once: one migrates, the
others wait and then find nothing to do.
"""

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import Engine

from arena.common.errors import ArenaError

log = structlog.get_logger(__name__)

SCRIPTS = "arena.controller.store:migrations"
BASELINE = "0001"
BASELINE_TABLES = frozenset(
    {
        "agents",
        "suites",
        "runs",
        "jobs",
        "samples",
        "aggregates",
        "job_logs",
        "tool_results",
        "telemetry",
        "energy",
    }
)
"""The tables every database had before alembic: the first revision creates exactly these."""
UNVERSIONED = (
    (BASELINE, BASELINE_TABLES),
    ("0002", frozenset({"enrolments", "credentials", "run_owners"})),
    ("0003", frozenset({"agent_trust", "job_trust"})),
)
"""Revisions whose tables controllers made with ``create_all`` before migrations, in order."""
MIGRATION_LOCK = 0x6172656E61  # "arena": one key for every controller of a database


class SchemaError(ArenaError):
    """The database holds tables this version cannot place in the schema's history."""


def alembic_config(connection: Connection) -> Config:
    """Alembic's configuration without a file: the revisions ship inside the package."""
    config = Config()
    config.set_main_option("script_location", SCRIPTS)
    config.attributes["connection"] = connection
    return config


def revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _adopt_unversioned(connection: Connection, config: Config) -> None:
    """Stamp a database made before alembic with the newest revision whose tables it has
    (all of them: a part is a database changed by hand, refused)."""
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" in tables or not tables & BASELINE_TABLES:
        return
    stamp = None
    for revision, needed in UNVERSIONED:
        missing = needed - tables
        if stamp is not None and missing == needed:
            break  # made before this revision's tables existed: the upgrade adds them
        if missing:
            raise SchemaError(
                f"the database has some of Arena's tables but not {', '.join(sorted(missing))}: "
                "it was not made by an Arena controller, or was changed by hand"
            )
        stamp = revision
    assert stamp is not None
    command.stamp(config, stamp)
    log.info("database made before migrations: stamped", revision=stamp)


def upgrade(engine: Engine) -> str | None:
    """Bring the database to the newest revision in one transaction; return that revision."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config = alembic_config(connection)
        _adopt_unversioned(connection, config)
        before = revision_of(connection)
        command.upgrade(config, "head")
        after = revision_of(connection)
    if after != before:
        log.info("database schema upgraded", from_revision=before, to_revision=after)
    return after
