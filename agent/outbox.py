"""Numbered items of one job attempt (samples, log lines) on their way to the controller.

``put`` commits the item to the agent's spool (local disk, never the network), so measurement
never waits on the upload path; the ``run`` task uploads in batches from the spool and
deletes what the controller acknowledged. A lost connection means a retry from the last
acknowledged sequence, so nothing is lost and nothing is stored twice.
"""

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import structlog

from agent.spool import Spool, StreamKey
from shared.errors import UnavailableError

log = structlog.get_logger(__name__)

T = TypeVar("T")
Send = Callable[[int, Sequence[T]], Awaitable[int]]
"""Upload items numbered from the given first sequence; returns the controller's ack."""


class Outbox(Generic[T]):
    def __init__(
        self,
        spool: Spool,
        key: StreamKey,
        send: Send[T],
        encode: Callable[[T], Any],
        decode: Callable[[Any], T],
        batch_size: int = 200,
        interval_s: float = 0.5,
    ) -> None:
        self.spool = spool
        self.key = key
        self._send = send
        self._encode = encode
        self._decode = decode
        self.batch_size = batch_size
        self.interval_s = interval_s
        state = spool.open_stream(key)
        self.last_seq = state.last_seq
        self.acked_seq = state.acked_seq
        self._wakeup = asyncio.Event()
        self._acked = asyncio.Condition()

    def put(self, item: T) -> None:
        self.last_seq = self.spool.append(self.key, self._encode(item))
        if self.last_seq - self.acked_seq >= self.batch_size:
            self._wakeup.set()

    async def run(self) -> None:
        """Upload until cancelled; a ConflictError (stale attempt) ends the task with it."""
        backoff = 0.5
        while True:
            if self.acked_seq >= self.last_seq:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that races with the event being set, and the uploader would never stop
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.interval_s):
                        await self._wakeup.wait()
                self._wakeup.clear()
                continue
            try:
                await self._send_one_batch()
                backoff = 0.5
            except UnavailableError as error:
                log.warning(
                    "upload failed; retrying",
                    stream=self.key.stream,
                    job_id=self.key.job_id,
                    error=str(error),
                    retry_in_s=round(backoff, 1),
                )
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, 10.0)

    async def _send_one_batch(self) -> None:
        pending = await asyncio.to_thread(self.spool.pending, self.key, self.batch_size)
        if not pending:
            return
        items = [self._decode(payload) for _, payload in pending]
        acked = await self._send(pending[0][0], items)
        await asyncio.to_thread(self.spool.acknowledge, self.key, acked)
        async with self._acked:
            self.acked_seq = max(self.acked_seq, acked)
            self._acked.notify_all()

    async def flush(self) -> None:
        """Wait until the controller has acknowledged every item put so far."""
        self._wakeup.set()
        async with self._acked:
            await self._acked.wait_for(lambda: self.acked_seq >= self.last_seq)

    def finish(self) -> None:
        """Forget the stream once the job is over and everything is acknowledged."""
        if self.acked_seq >= self.last_seq:
            self.spool.finish(self.key)
