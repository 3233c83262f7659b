"""The databases tests run on: a SQLite file, or a fresh PostgreSQL database per test.

``ARENA_TEST_POSTGRES_URL`` names a PostgreSQL server and a role that may create databases
(.ci/run makes one); each test gets its own database, created with a unique name and dropped
after it, so that concurrent test runs never meet.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "ARENA_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgres")


def postgres_server() -> str:
    """The server's URL; a skip without one, a failure in CI (where .ci/run starts one)."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set: .ci/run starts PostgreSQL and sets it")
        pytest.skip(f"set {POSTGRES_ENV} (docs/database.md) to run on PostgreSQL")
    return url


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database on the test server; its URL. Dropped afterwards, open
    connections and all."""
    server = make_url(postgres_server())
    name = f"arena_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def rows(url: str, sql: str, **params: object) -> list[tuple[Any, ...]]:
    """What a query returns, read through SQLAlchemy: the same SQL on either backend."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()
