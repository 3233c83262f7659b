"""Per-call limits that apply before a servicer runs: a size cap per method, a length and
character check of every text field, and a rate limit per agent and per user.

gRPC's own ``max_receive_message_length`` bounds every call (``max_message_bytes``, for
imports); agents send batches of a few hundred records and users mostly ids, so their methods
get much smaller caps. The rate limit is a token bucket per caller: an agent or user past it
gets RESOURCE_EXHAUSTED with a RetryInfo delay, which the retry loops honour.
"""

import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import structlog
from google.protobuf.message import Message

from arena.common.errors import ArenaError, InvalidRequestError, RateLimitedError, TooLargeError
from arena.common.text import text_problem
from arena.controller.rpc.audit import CALLER
from arena.controller.rpc.auth import AGENT_SERVICE, USER_SERVICE
from arena.controller.rpc.errors import abort
from arena.controller.settings import ControllerSettings
from arena.controller.store.credentials import AGENT, USER

log = structlog.get_logger(__name__)

MAX_BUCKETS = 10_000
"""Agents tracked at once; full buckets (idle agents) are forgotten past this."""


class TokenBucket:
    """``rate`` calls per second on average, ``burst`` at once."""

    __slots__ = ("burst", "level", "rate", "stamp")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst = rate, float(burst)
        self.level, self.stamp = float(burst), now

    def take(self, now: float) -> float:
        """0 when a call may go now (and takes its token), else the seconds until one may."""
        self.level = min(self.burst, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.level >= 1.0:
            self.level -= 1.0
            return 0.0
        return (1.0 - self.level) / self.rate

    def full(self, now: float) -> bool:
        return self.level + (now - self.stamp) * self.rate >= self.burst


class RateLimiter:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, TokenBucket] = {}

    def check(self, key: str) -> None:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_idle(now)
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, now)
        wait = bucket.take(now)
        if wait > 0:
            raise RateLimitedError(
                f"{key!r} is past its rate limit of {self.rate:g} calls/s "
                f"(burst {self.burst}); retry in {wait:.2f}s",
                wait,
            )

    def _forget_idle(self, now: float) -> None:
        for key in [key for key, bucket in self._buckets.items() if bucket.full(now)]:
            del self._buckets[key]


class _Refused:
    def __init__(self, error: ArenaError) -> None:
        self.error = error


SUITE_MESSAGE_BYTES = 2 * 1024 * 1024
"""The cap of the calls that carry a suite file (at most 1 MB of text) and its name."""
SUITE_METHODS = frozenset({f"/{USER_SERVICE}/SubmitSuite", f"/{USER_SERVICE}/CheckSuite"})
BULK_FIELDS = frozenset(
    {
        "arena.v2.SubmitSuiteRequest.suite_yaml",  # checked value by value by the suite loader
        "arena.v2.LogBatch.lines",  # an engine's output, verbatim; escaped where it is shown
        "arena.v2.ToolResult.output",
        "arena.v2.ToolResult.command",
        "arena.v2.JobStatusRequest.message",
        "arena.v2.RequestSample.error",
        "arena.v2.ImportedBenchmark.commands",  # reference tools' command lines, verbatim
    }
)
OPEN_ENDED = frozenset({"google.protobuf.Struct"})
"""Engine-specific documents (provenance, an engine's own configuration with its chat
template): bulk as a whole, bounded by their method's cap."""
"""Text fields that carry other programs' output: bounded by their method's message cap only,
and control characters allowed (arenactl escapes them when it prints)."""


class LimitsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Placed after the auth interceptor (which admits the caller before any body is read) and
    before MalformedRequestInterceptor: it sizes the raw bytes against the method's cap, then
    lets that one parse them and checks every text field (Arena methods are unary-unary or
    unary-stream). Agents are rate limited per agent, users per user."""

    def __init__(self, settings: ControllerSettings) -> None:
        self.settings = settings
        self.agents = RateLimiter(settings.agent_rate_per_s, settings.agent_burst)
        self.users = RateLimiter(settings.user_rate_per_s, settings.user_burst)

    def cap(self, method: str) -> int:
        """The largest message ``method`` takes: agents send batches, users ids and filters;
        a suite and an import of a result folder are the big ones."""
        settings = self.settings
        if method.startswith(f"/{AGENT_SERVICE}/"):
            return settings.max_agent_message_bytes
        if method == f"/{USER_SERVICE}/ImportResults":
            return settings.max_message_bytes
        if method in SUITE_METHODS:
            return SUITE_MESSAGE_BYTES
        return settings.max_user_message_bytes

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.request_deserializer is None:
            return handler
        behaviour = handler.unary_unary or handler.unary_stream
        if behaviour is None:
            return handler
        method, parse, cap = details.method, handler.request_deserializer, self.cap(details.method)
        limiter = self.agents if method.startswith(f"/{AGENT_SERVICE}/") else self.users
        max_chars = self.settings.max_text_chars

        def sized_parse(data: bytes) -> Any:
            if len(data) > cap:
                return _Refused(
                    TooLargeError(f"{method}: message of {len(data)} bytes; at most {cap}")
                )
            request = parse(data)
            if isinstance(request, Message):
                problem = _text_problem(request, max_chars)
                if problem is not None:
                    return _Refused(InvalidRequestError(f"{method}: {problem}"))
            return request

        async def limited(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, _Refused):
                log.warning("refused call", method=method, reason=str(request.error))
                await abort(context, request.error)
            key = _limit_key(request)
            try:
                limiter.check(key)
            except RateLimitedError as error:
                log.warning("rate limited", method=method, caller=key)
                await abort(context, error)
            return await behaviour(request, context)

        wrap = (
            grpc.unary_unary_rpc_method_handler
            if handler.unary_unary
            else grpc.unary_stream_rpc_method_handler
        )
        return wrap(
            limited,
            request_deserializer=sized_parse,
            response_serializer=handler.response_serializer,
        )


def _text_problem(message: Message, max_chars: int) -> str | None:
    """The first text field (map keys too, nested messages too) that is too long or holds a
    control character, named by its field; bulk fields only go unchecked."""
    for field, value in message.ListFields():
        if field.full_name in BULK_FIELDS or (
            field.message_type is not None and field.message_type.full_name in OPEN_ENDED
        ):
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            entries = value.items()
            values = [v for _, v in entries]
            texts = [str(k) for k, _ in entries if isinstance(k, str)]
        else:
            values = list(value) if field.is_repeated else [value]
            texts = []
        texts += [v for v in values if isinstance(v, str)]
        for text in texts:
            problem = text_problem(text, max_chars)
            if problem is not None:
                return f"{field.name}: {problem}"
        for nested in values:
            if isinstance(nested, Message):
                problem = _text_problem(nested, max_chars)
                if problem is not None:
                    return f"{field.name}.{problem}"
    return None


def _limit_key(request: Any) -> str:
    """Whose allowance a call spends: a user's own; an enrolled agent's credential name (the
    auth interceptor, outside this one, has admitted it), so no caller can spend another
    agent's allowance by naming it; the agent the request names on the static dev/legacy
    tokens."""
    who = CALLER.get()
    if who is not None and who.kind == USER:
        return f"user:{who.name}"
    if who is not None and who.kind == AGENT and not who.static:
        return f"credential:{who.name}"
    return str(getattr(request, "agent_id", "") or getattr(request, "agent_name", ""))
