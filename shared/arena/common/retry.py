"""One way to try a call again: jittered exponential backoff until it succeeds, fails for good
(the status table says which errors can pass), runs out of its time budget, or is stopped. A
rate limit's delay (RetryInfo) is the least a wait may be.

Jitter keeps a fleet of agents from reconnecting in lockstep after a controller restart; the
stop event ends a wait at once, so shutting down never waits out a backoff.
"""

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from arena.common.status import is_retryable, retry_after

log = structlog.get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    first_s: float = 0.5
    cap_s: float = 15.0
    factor: float = 2.0
    jitter: float = 0.2
    """Each wait is scaled by a random factor in [1 - jitter, 1 + jitter]."""

    def delays(self) -> Iterator[float]:
        delay = self.first_s
        while True:
            yield delay * random.uniform(1 - self.jitter, 1 + self.jitter)
            delay = min(delay * self.factor, self.cap_s)


class Stopped(Exception):
    """The stop event was set before the call succeeded; the last error, if any, is the cause."""


async def retry(
    call: Callable[[], Awaitable[T]],
    what: str,
    *,
    backoff: Backoff = Backoff(),
    stop: asyncio.Event | None = None,
    budget_s: float | None = None,
    retryable: Callable[[BaseException], bool] = is_retryable,
    clock: Callable[[], float] = time.monotonic,
    **context: Any,
) -> T:
    """Call until it returns. An error that is not retryable propagates at once; a retryable
    one propagates when the next wait would end past ``budget_s`` from the start. ``what`` and
    ``context`` go into the warning logged before each wait."""
    deadline = None if budget_s is None else clock() + budget_s
    delays = backoff.delays()
    for attempt in itertools.count(1):
        if stop is not None and stop.is_set():
            raise Stopped(what)
        try:
            return await call()
        except Exception as error:
            if not retryable(error):
                raise
            delay = max(next(delays), retry_after(error))
            if deadline is not None and clock() + delay > deadline:
                log.warning("giving up", call=what, attempts=attempt, error=str(error), **context)
                raise
            log.warning(
                "call failed; retrying",
                call=what,
                attempt=attempt,
                retry_in_s=round(delay, 3),
                error=str(error),
                **context,
            )
            if await _stopped_while_waiting(stop, delay):
                raise Stopped(what) from error
    raise AssertionError("unreachable: itertools.count never ends")


async def _stopped_while_waiting(stop: asyncio.Event | None, seconds: float) -> bool:
    if stop is None:
        await asyncio.sleep(seconds)
        return False
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):  # not wait_for: on 3.11 it can swallow a cancel
            await stop.wait()
    return stop.is_set()
