"""Waking the agents that wait for work.

An idle agent long-polls ``LeaseJob``; the call sleeps until something may have made a job
available (a run submitted, a job requeued, an agent's trust changed) or the agent's wait ends.
A controller hears its own events. Controllers that share a PostgreSQL database hear each
other's too: every event is also sent as ``NOTIFY arena_work``, and each controller LISTENs on a
connection of its own. While that connection is down, waiting calls look for work every
second instead, so nothing is missed, only found later.

Without this a thousand idle agents would cost a thousand lease queries a second.
"""

import asyncio
import contextlib
import threading
from collections.abc import Callable

import structlog
from sqlalchemy import text
from sqlalchemy.engine import Engine

log = structlog.get_logger(__name__)

CHANNEL = "arena_work"
DEAF_POLL_S = 1.0
"""How often a waiting call looks for work while the controller cannot hear the others."""


class WorkSignal:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.generation = 0
        """How many times it woke: a call that read it before looking for work and sees it
        changed knows to look again, even if the wake came before it began to wait."""
        self.hears_peers = True
        """False while a controller with peers cannot hear them (its LISTEN is down)."""
        self.tell_peers: Callable[[], None] | None = None

    def notify(self) -> None:
        """Something may have made a job available: wake the calls waiting here and on the
        other controllers."""
        self.wake()
        if self.tell_peers is not None:
            self.tell_peers()

    def wake(self) -> None:
        self.generation += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float, since: int) -> bool:
        """Until woken after ``generation`` was ``since`` (True) or ``timeout`` passed (False).
        A controller that cannot hear the others says True after a second: work may have come
        through one of them."""
        if self.generation != since:
            return True
        deaf = not self.hears_peers
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(timeout, DEAF_POLL_S) if deaf else timeout):
                await self._event.wait()  # not wait_for: it can swallow cancellation
                return True
        return deaf


class PeerChannel:
    """``LISTEN``/``NOTIFY`` between the controllers of one PostgreSQL database."""

    def __init__(self, engine: Engine, signal: WorkSignal) -> None:
        self._engine = engine
        self._signal = signal
        self._loop = asyncio.get_running_loop()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="arena-listen", daemon=True)
        signal.hears_peers = False
        signal.tell_peers = self._tell

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _tell(self) -> None:
        self._loop.run_in_executor(None, self._send)

    def _send(self) -> None:
        try:
            with self._engine.begin() as connection:
                connection.execute(text(f"NOTIFY {CHANNEL}"))
        except Exception as error:  # the others then find the work on their next look
            log.warning("could not tell the other controllers about new work", error=str(error))

    def _hearing(self, hears: bool) -> None:
        self._signal.hears_peers = hears

    def _listen(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                with self._engine.connect() as connection:
                    driver = connection.connection.driver_connection
                    assert driver is not None
                    connection.execute(text(f"LISTEN {CHANNEL}"))
                    connection.commit()
                    self._loop.call_soon_threadsafe(self._hearing, True)
                    backoff = 1.0
                    while not self._stopping.is_set():
                        for _ in driver.notifies(timeout=1.0, stop_after=1):
                            self._loop.call_soon_threadsafe(self._signal.wake)
            except Exception as error:
                self._loop.call_soon_threadsafe(self._hearing, False)
                log.warning(
                    "not hearing the other controllers; looking for work every second meanwhile",
                    error=str(error),
                )
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)
