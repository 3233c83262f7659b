"""Numbered items of one job attempt (samples, log lines), kept until the controller
acknowledges them.

Measurement only calls ``put`` (never waits on the network); the ``run`` task uploads in
batches and drops what the controller acknowledged. A lost connection means a retry from the
last acknowledged sequence, so nothing is lost and nothing is stored twice.
"""

import asyncio
import collections
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import structlog

from shared.errors import UnavailableError

log = structlog.get_logger(__name__)

T = TypeVar("T")
Send = Callable[[int, Sequence[T]], Awaitable[int]]
"""Upload items numbered from the given first sequence; returns the controller's ack."""


class Outbox(Generic[T]):
    def __init__(
        self, name: str, send: Send[T], batch_size: int = 200, interval_s: float = 0.5
    ) -> None:
        self.name = name
        self._send = send
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.last_seq = 0
        self.acked_seq = 0
        self._pending: collections.deque[tuple[int, T]] = collections.deque()
        self._wakeup = asyncio.Event()
        self._acked = asyncio.Condition()

    def put(self, item: T) -> None:
        self.last_seq += 1
        self._pending.append((self.last_seq, item))
        if len(self._pending) >= self.batch_size:
            self._wakeup.set()

    async def run(self) -> None:
        """Upload until cancelled; a ConflictError (stale attempt) ends the task with it."""
        backoff = 0.5
        while True:
            if not self._pending:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self.interval_s)
                self._wakeup.clear()
                continue
            try:
                await self._send_one_batch()
                backoff = 0.5
            except UnavailableError as error:
                log.warning(
                    "upload failed; retrying",
                    outbox=self.name,
                    error=str(error),
                    retry_in_s=round(backoff, 1),
                )
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, 10.0)

    async def _send_one_batch(self) -> None:
        batch = [item for _, item in list(self._pending)[: self.batch_size]]
        acked = await self._send(self._pending[0][0], batch)
        while self._pending and self._pending[0][0] <= acked:
            self._pending.popleft()
        async with self._acked:
            self.acked_seq = max(self.acked_seq, acked)
            self._acked.notify_all()

    async def flush(self) -> None:
        """Wait until the controller has acknowledged every item put so far."""
        self._wakeup.set()
        async with self._acked:
            await self._acked.wait_for(lambda: self.acked_seq >= self.last_seq)
