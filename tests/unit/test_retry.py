"""The one retry helper: attempt counts, what stops it, what it logs; no timed assertions
beyond 'a 60 s backoff did not run to its end'."""

import asyncio
import itertools

import grpc
import pytest
import structlog

from arena.common import retry as retry_module
from arena.common.errors import (
    ArenaError,
    AuthError,
    ConflictError,
    EngineError,
    InternalError,
    InvalidRequestError,
    NotFoundError,
    SuiteError,
    UnavailableError,
)
from arena.common.retry import Backoff, Stopped, retry
from arena.common.status import is_retryable

TINY = Backoff(first_s=0.001, cap_s=0.004, jitter=0.0)


class Flaky:
    """Fails with the given errors in turn, then answers with the attempt number."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.attempts = 0
        self.attempted = asyncio.Event()

    async def __call__(self) -> int:
        self.attempts += 1
        self.attempted.set()
        if self.errors:
            raise self.errors.pop(0)
        return self.attempts


def test_delays_double_up_to_the_cap() -> None:
    delays = Backoff(first_s=0.5, cap_s=15.0, jitter=0.0).delays()
    assert list(itertools.islice(delays, 7)) == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]


def test_jitter_stays_within_its_fraction() -> None:
    delays = Backoff(first_s=1.0, cap_s=1.0, jitter=0.2).delays()
    assert all(0.8 <= delay <= 1.2 for delay in itertools.islice(delays, 200))


async def test_retryable_errors_are_retried_until_the_call_succeeds() -> None:
    call = Flaky(UnavailableError("down"), UnavailableError("still down"))
    assert await retry(call, "test", backoff=TINY) == 3


@pytest.mark.parametrize(
    "error",
    [
        AuthError("no"),
        SuiteError("s.yaml", 1, "x", "bad"),
        InvalidRequestError("bad"),
        ConflictError("stale"),
        NotFoundError("gone"),
        InternalError("bug", "abc"),
        ValueError("x"),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_final_errors_are_raised_after_one_attempt(error: Exception) -> None:
    call = Flaky(error)
    with pytest.raises(type(error)):
        await retry(call, "test", backoff=TINY)
    assert call.attempts == 1


async def test_the_budget_ends_retrying_with_the_last_error() -> None:
    now = [0.0]

    async def fails() -> None:
        now[0] += 1.0  # each attempt takes one second of the fake clock
        raise UnavailableError(f"down at {now[0]:.0f}")

    with pytest.raises(UnavailableError, match="down at 3"):
        await retry(fails, "test", backoff=TINY, budget_s=2.5, clock=lambda: now[0])


async def test_stop_ends_a_long_wait_at_once() -> None:
    stop = asyncio.Event()
    call = Flaky(UnavailableError("down"))
    task = asyncio.create_task(retry(call, "test", backoff=Backoff(first_s=60.0), stop=stop))
    await call.attempted.wait()
    stop.set()
    async with asyncio.timeout(10):  # far below the 60 s backoff
        with pytest.raises(Stopped) as caught:
            await task
    assert call.attempts == 1
    assert isinstance(caught.value.__cause__, UnavailableError)


async def test_a_set_stop_makes_no_attempt() -> None:
    stop = asyncio.Event()
    stop.set()
    call = Flaky()
    with pytest.raises(Stopped):
        await retry(call, "test", stop=stop)
    assert call.attempts == 0


async def test_each_retry_logs_one_structured_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    logged = structlog.testing.LogCapture()
    monkeypatch.setattr(retry_module, "log", structlog.wrap_logger(None, processors=[logged]))
    call = Flaky(UnavailableError("one"), UnavailableError("two"))
    await retry(call, "upload", backoff=TINY, job_id="j-1")
    assert [(e["event"], e["attempt"], e["error"]) for e in logged.entries] == [
        ("call failed; retrying", 1, "one"),
        ("call failed; retrying", 2, "two"),
    ]
    assert all(e["call"] == "upload" and e["job_id"] == "j-1" for e in logged.entries)
    assert [e["retry_in_s"] for e in logged.entries] == [0.001, 0.002]


class StatusOnly(grpc.RpcError):
    """A failed call as grpc raises it, reduced to its status code."""

    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (UnavailableError("down"), True),
        (StatusOnly(grpc.StatusCode.UNAVAILABLE), True),
        (StatusOnly(grpc.StatusCode.DEADLINE_EXCEEDED), True),
        (StatusOnly(grpc.StatusCode.RESOURCE_EXHAUSTED), False),  # a message too large stays so
        (StatusOnly(grpc.StatusCode.UNAUTHENTICATED), False),
        (StatusOnly(grpc.StatusCode.INVALID_ARGUMENT), False),
        (StatusOnly(grpc.StatusCode.INTERNAL), False),
        (AuthError("no"), False),
        (SuiteError("s.yaml", 1, "x", "bad"), False),
        (EngineError("oom"), False),
        (ArenaError("plain"), False),
        (TimeoutError(), False),
    ],
    ids=repr,
)
def test_the_status_table_decides_what_is_retryable(error: Exception, expected: bool) -> None:
    assert is_retryable(error) is expected
