"""Run repository functions off the event loop, one session each, writes serialised.

The servicers are asyncio code; SQLAlchemy sessions are blocking. Every call runs in a
single database thread, which also serialises SQLite writers (no "database is locked").
"""

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Concatenate, ParamSpec, TypeVar

from sqlmodel import Session

from controller.store.db import make_engine

P = ParamSpec("P")
T = TypeVar("T")


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arena-db")

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

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
