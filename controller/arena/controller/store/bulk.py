"""Many sample rows in one statement, the fastest way each database takes them: SQLite one
prepared ``INSERT`` run for every row (``executemany``), PostgreSQL a binary ``COPY``.

Ingest is the controller's heaviest write: a batch is hundreds of rows, each with its chunk
times packed (``schemas.packed``). Going through the ORM, or a multi-row ``INSERT`` that
PostgreSQL plans per batch, costs more than the database's own work.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, LargeBinary, String
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeEngine

from arena.common.errors import InvalidRequestError
from arena.controller.store.models import SampleRow

SAMPLES = SampleRow.__table__  # type: ignore[attr-defined]
SAMPLE_COLUMNS = [column.name for column in SAMPLES.columns if column.name != "id"]
"""The ``samples`` columns a row holds, in table order (the id is the database's)."""

_NAMES = ", ".join(f'"{name}"' for name in SAMPLE_COLUMNS)  # quoted: "index" is a keyword
_INSERT = f"INSERT INTO samples ({_NAMES}) VALUES ({', '.join('?' for _ in SAMPLE_COLUMNS)})"
_COPY = f"COPY samples ({_NAMES}) FROM STDIN (FORMAT BINARY)"


def _postgres_type(kind: TypeEngine[Any]) -> str:
    """The PostgreSQL type a binary COPY writes for a column of this SQLAlchemy type."""
    kind = getattr(kind, "impl_instance", kind)  # a TypeDecorator stores as its impl
    for python_type, name in (
        (BigInteger, "int8"),
        (Integer, "int4"),
        (Float, "float8"),
        (String, "text"),
        (LargeBinary, "bytea"),
    ):
        if isinstance(kind, python_type):
            return name
    raise TypeError(f"no COPY type for {kind!r}")


_COPY_TYPES = [_postgres_type(SAMPLES.columns[name].type) for name in SAMPLE_COLUMNS]
_TEXT_COLUMNS = [position for position, name in enumerate(_COPY_TYPES) if name == "text"]


REQUEST_INDEX = "ix_samples_request"
ALREADY_STORED = "a request of the batch is already stored for this attempt"


class RepeatedRequest(InvalidRequestError):
    """A row names a request (benchmark, variant, run, index) its attempt has already stored:
    refused by the unique index ``REQUEST_INDEX``, and the transaction with it."""


def insert_samples(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert rows of ``SAMPLE_COLUMNS`` values in this connection's transaction."""
    if connection.dialect.name == "postgresql":
        _copy(connection, rows)
        return
    try:
        connection.exec_driver_sql(_INSERT, list(rows))
    except IntegrityError as error:
        if "samples.variant" not in str(error.orig):  # SQLite names the index's columns
            raise
        raise RepeatedRequest(ALREADY_STORED) from None


def _copy(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    import psycopg  # a PostgreSQL controller's driver (the postgres extra); SQLite needs none

    driver = connection.connection.driver_connection  # psycopg's, in the same transaction
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(_COPY) as copy:
            copy.set_types(_COPY_TYPES)
            for row in rows:
                copy.write_row(_without_nul(row))
    except psycopg.errors.UniqueViolation as error:
        if error.diag.constraint_name != REQUEST_INDEX:
            raise
        raise RepeatedRequest(f"{ALREADY_STORED}: {error.diag.message_detail}") from None


def _without_nul(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """PostgreSQL text cannot hold NUL (an engine's error body may): U+FFFD in its place, as
    ``database._postgres_text`` does for every other statement."""
    if not any(isinstance(row[i], str) and "\x00" in row[i] for i in _TEXT_COLUMNS):
        return row
    return tuple(
        value.replace("\x00", "\ufffd") if isinstance(value, str) else value for value in row
    )
