"""Waiting for work: a long-polling LeaseJob sleeps until woken, on one controller and across
controllers that share a PostgreSQL database (LISTEN/NOTIFY), instead of querying every second."""

import asyncio
import time

import pytest

from arena.controller.store.database import Database
from arena.controller.work import PeerChannel, WorkSignal

pytestmark = pytest.mark.backends


async def test_a_waiting_call_sleeps_until_notified() -> None:
    signal = WorkSignal()
    waiting = asyncio.create_task(signal.wait(30.0, since=signal.generation))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # no polling: nothing woke it
    signal.notify()
    assert await asyncio.wait_for(waiting, 5)


async def test_a_wake_between_looking_and_waiting_is_not_lost() -> None:
    """A job submitted while a LeaseJob's query ran: the call looks again at once."""
    signal = WorkSignal()
    looked = signal.generation
    signal.notify()  # before the call began to wait
    assert await asyncio.wait_for(signal.wait(30.0, since=looked), 1)


async def test_controllers_on_one_postgres_database_wake_each_other(
    backend: str, store_url: str
) -> None:
    if backend == "sqlite":
        pytest.skip("a SQLite file has one controller: there is nobody else to tell")
    db = Database(store_url)
    here, there = WorkSignal(), WorkSignal()
    channels = [PeerChannel(db.engine, here), PeerChannel(db.engine, there)]
    try:
        for channel in channels:
            channel.start()
        for _ in range(200):  # both LISTENing within 10 s
            if here.hears_peers and there.hears_peers:
                break
            await asyncio.sleep(0.05)
        assert here.hears_peers and there.hears_peers
        waiting = asyncio.create_task(there.wait(30.0, since=there.generation))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        here.notify()  # a run submitted through the other controller
        await asyncio.wait_for(waiting, 10)
    finally:
        for channel in channels:
            await asyncio.to_thread(channel.stop)
        db.close()


async def test_a_controller_that_cannot_hear_the_others_looks_every_second() -> None:
    signal = WorkSignal()
    signal.hears_peers = False
    began = time.monotonic()
    assert await signal.wait(30.0, since=signal.generation)  # look again: work may have come
    assert time.monotonic() - began < 10
