"""The schema's version: alembic revisions (``migrations/versions``) with the SQLModel tables
as their source, applied when the controller starts or by ``arena-controller migrate``.

Supported are databases that some revision made (docs/support.md): an empty one is built from
the first revision; one with tables but no ``alembic_version`` is refused. On PostgreSQL an
advisory lock lets several controllers start at once: one migrates, the others wait and then
find nothing to do.
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


def _refuse_unversioned(connection: Connection) -> None:
    """A database with tables but no revision was not made by a released Arena controller
    (or lost its ``alembic_version``): migrating it would fail halfway, so say why first."""
    tables = set(inspect(connection).get_table_names())
    if tables and "alembic_version" not in tables:
        raise SchemaError(
            f"the database has tables ({', '.join(sorted(tables))}) but no schema "
            "revision (alembic_version): Arena migrates databases that one of its revisions "
            "made (docs/support.md); use an empty database"
        )


def upgrade(engine: Engine) -> str | None:
    """Bring the database to the newest revision in one transaction; return that revision."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        _refuse_unversioned(connection)
        before = revision_of(connection)
        command.upgrade(alembic_config(connection), "head")
        after = revision_of(connection)
    if after != before:
        log.info("database schema upgraded", from_revision=before, to_revision=after)
    return after
