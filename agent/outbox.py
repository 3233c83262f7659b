"""Numbered samples of one job attempt, kept until the controller acknowledges them.

Measurement only calls ``put`` (never waits on the network); the ``run`` task uploads in
batches and drops what the controller acknowledged. A lost connection means a retry from the
last acknowledged sequence, so nothing is lost and nothing is stored twice.
"""

import asyncio
import collections
import contextlib
import random

import structlog

from agent.link import ControllerLink
from shared.errors import UnavailableError
from shared.schemas.sample import RequestSample

log = structlog.get_logger(__name__)


class SampleOutbox:
    def __init__(
        self,
        link: ControllerLink,
        job_id: str,
        attempt: int,
        batch_size: int = 200,
        interval_s: float = 0.5,
    ) -> None:
        self.link = link
        self.job_id = job_id
        self.attempt = attempt
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.last_seq = 0
        self.acked_seq = 0
        self._pending: collections.deque[tuple[int, RequestSample]] = collections.deque()
        self._wakeup = asyncio.Event()
        self._acked = asyncio.Condition()

    def put(self, sample: RequestSample) -> None:
        self.last_seq += 1
        self._pending.append((self.last_seq, sample))
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
                    "sample upload failed; retrying",
                    job_id=self.job_id,
                    error=str(error),
                    retry_in_s=round(backoff, 1),
                )
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, 10.0)

    async def _send_one_batch(self) -> None:
        batch = [item for _, item in list(self._pending)[: self.batch_size]]
        first_seq = self._pending[0][0]
        acked = await self.link.push_samples(self.job_id, self.attempt, first_seq, batch)
        while self._pending and self._pending[0][0] <= acked:
            self._pending.popleft()
        async with self._acked:
            self.acked_seq = max(self.acked_seq, acked)
            self._acked.notify_all()

    async def flush(self) -> None:
        """Wait until the controller has acknowledged every sample put so far."""
        self._wakeup.set()
        async with self._acked:
            await self._acked.wait_for(lambda: self.acked_seq >= self.last_seq)
