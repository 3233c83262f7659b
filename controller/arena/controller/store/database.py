"""The database: its engine (SQLite with WAL by default; PostgreSQL through psycopg for
several controllers, docs/database.md) and the way the asyncio servicers reach it.

The servicers are asyncio code; SQLAlchemy sessions are blocking. Every repository function runs
in a database thread, one transaction each. SQLite has one such thread, which serialises its
writers (no "database is locked"). PostgreSQL has ``connections`` of them: each commit waits
for the server's WAL flush, and its transactions lock the rows they change, as they must for
several controllers anyway. The calls every agent makes all the time (sample batches,
heartbeats) run on a plain connection (``call_plain``), without an ORM session.
"""

import asyncio
import functools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, create_engine

from arena.common.errors import ArenaError
from arena.common.private import make_private, private_file
from arena.controller.settings import DATABASE_FILE, ControllerSettings
from arena.controller.store import models  # noqa: F401  (registers the tables)
from arena.controller.store.migrate import upgrade

P = ParamSpec("P")
T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL, and for ingest: 16 KiB pages (a sample with hundreds of packed chunk times fits one
    page, without overflow pages; only a new file takes it), and a checkpoint every 64 MiB of
    WAL rather than every 4 MiB (fewer, longer copies into the database file)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA page_size=16384")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA wal_autocheckpoint=4096")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_without_nul(item) for item in value)
    return value


def _postgres_text(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
) -> tuple[str, Any]:
    """PostgreSQL's text cannot hold NUL, SQLite's can: an engine's log line or an error
    message with one is stored with U+FFFD in its place rather than refused for good."""
    return statement, _without_nul(parameters)


def _json_text(value: Any) -> str:
    """JSON columns through orjson: a sample's chunk times are most of what ingest writes, and
    the standard encoder spends ~8x longer on their floats. Values orjson does not take go
    through ``json.dumps`` as before. (Non-finite floats, which PostgreSQL's JSON refuses
    anyway, become null.)"""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def connect(url: str, connections: int = 1) -> Engine:
    """The engine, without touching the schema; a pool of ``connections`` for PostgreSQL's
    database threads, plus two (LISTEN and NOTIFY, ``work.PeerChannel``)."""
    is_sqlite = url.startswith("sqlite")
    try:
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False} if is_sqlite else {},
            pool_pre_ping=not is_sqlite,
            json_serializer=_json_text,
            **({} if is_sqlite else {"pool_size": connections + 2}),
        )
    except ModuleNotFoundError as error:
        raise ArenaError(
            f"no driver for {url.split(':', 1)[0]} ({error.name} is not installed); "
            "for PostgreSQL install arena[postgres] and use a postgresql+psycopg:// URL"
        ) from error
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "before_cursor_execute", _postgres_text, retval=True)
    return engine


def make_engine(url: str, connections: int = 1) -> Engine:
    """The engine, with the schema brought to the newest revision."""
    engine = connect(url, connections)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def redacted(url: str) -> str:
    """The URL for logs: a PostgreSQL password stays out of them."""
    return make_url(url).render_as_string(hide_password=True)


def upgrade_database(settings: ControllerSettings) -> str | None:
    """``arena-controller migrate``: the schema's newest revision, applied."""
    _make_data_dir(settings)
    engine = connect(settings.database)
    try:
        return upgrade(engine)
    finally:
        engine.dispose()


def open_database(settings: ControllerSettings) -> "Database":
    """The controller's database, its schema up to date."""
    _make_data_dir(settings)
    return Database(settings.database, settings.database_connections)


def _make_data_dir(settings: ControllerSettings) -> None:
    if settings.database_url is None:
        make_private(settings.data_dir)
        private_file(settings.data_dir / DATABASE_FILE)


class Database:
    def __init__(self, url: str, connections: int = 1) -> None:
        self.url = url
        self.engine = make_engine(url, connections)
        threads = 1 if self.engine.dialect.name == "sqlite" else connections
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="arena-db")

    def run_sync(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(session, ...)`` in one transaction, committed when it returns."""
        with Session(self.engine, expire_on_commit=False) as session:
            result = fn(session, *args, **kwargs)
            session.commit()
            return result

    async def call(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        loop = asyncio.get_running_loop()
        bound = functools.partial(self.run_sync, fn, *args, **kwargs)
        return await loop.run_in_executor(self._executor, bound)

    def run_on_connection(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(connection, ...)`` in one transaction, committed when it returns."""
        with self.engine.begin() as connection:
            return fn(connection, *args, **kwargs)

    async def call_plain(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``call`` for a function of a plain connection (``run_on_connection``)."""
        loop = asyncio.get_running_loop()
        bound = functools.partial(self.run_on_connection, fn, *args, **kwargs)
        return await loop.run_in_executor(self._executor, bound)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
