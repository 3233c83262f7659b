"""Alembic's entry point. The controller hands over its connection (``store.migrate``); the
``alembic`` command (adding a revision, docs/database.md) connects to the database the
controller's settings name (``ARENA_DATABASE_URL`` or the SQLite file in ``ARENA_DATA_DIR``)."""

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlmodel import SQLModel, create_engine
from sqlmodel.sql.sqltypes import AutoString

from arena.controller.store import models  # noqa: F401  (registers the tables)


def render_item(kind: str, item: Any, _context: AutogenContext) -> str | Literal[False]:
    """SQLModel's string type is a plain VARCHAR: revisions need not import sqlmodel."""
    return "sa.String()" if kind == "type" and isinstance(item, AutoString) else False


def run(connection: Connection) -> None:
    # batch mode: SQLite alters a table by copying it, which plain ALTER TABLE cannot do
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


handed_over = context.config.attributes.get("connection")
if handed_over is not None:
    run(handed_over)
else:
    from arena.controller.settings import ControllerSettings

    with create_engine(ControllerSettings().database).begin() as connection:
        run(connection)
