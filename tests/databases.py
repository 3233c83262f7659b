"""The databases tests run on: a SQLite file, or a fresh PostgreSQL database per test.

``ARENA_TEST_POSTGRES_URL`` names a PostgreSQL server and a role that may create databases
(.ci/run makes one); each test gets its own database, created with a unique name and dropped
after it, so that concurrent test runs never meet.
"""

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from tests.prerequisites import require

POSTGRES_ENV = "ARENA_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgres")


def postgres_server() -> str:
    """The server's URL: a skip without one, a failure in CI (where .ci/run starts one)."""
    url = os.environ.get(POSTGRES_ENV, "")
    require(bool(url), f"a PostgreSQL server: set {POSTGRES_ENV} (docs/database.md)")
    return url


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database on the test server; its URL. Dropped afterwards, open
    connections and all."""
    server = make_url(postgres_server())
    name = f"arena_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop(admin, name)
        admin.dispose()


def _drop(admin: Engine, name: str) -> None:
    """FORCE ends the test's leftover sessions; an autovacuum worker in the database is the
    server's own and cannot be ended by the test's role, so wait for it to finish."""
    for attempt in range(50):
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except DBAPIError:
            if attempt == 49:
                raise
            time.sleep(0.2)


def rows(url: str, sql: str, **params: object) -> list[tuple[Any, ...]]:
    """What a query returns, read through SQLAlchemy: the same SQL on either backend."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()
