"""Per-call limits that apply before a servicer runs: a size cap per method and a rate limit
per agent.

gRPC's own ``max_receive_message_length`` bounds every call (``max_message_bytes``); agents
send batches of a few hundred records, so their methods get a much smaller cap. The rate limit
is a token bucket keyed by the ``agent_id`` (``agent_name`` for Register) the request names:
an agent past it gets RESOURCE_EXHAUSTED with a RetryInfo delay, which its retry loop honours.
"""

import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import structlog

from arena.common.errors import ArenaError, RateLimitedError, TooLargeError
from arena.controller.rpc.audit import CALLER
from arena.controller.rpc.auth import AGENT_SERVICE
from arena.controller.rpc.errors import abort
from arena.controller.settings import ControllerSettings
from arena.controller.store.credentials import AGENT

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
                f"agent {key!r} is past its rate limit of {self.rate:g} calls/s "
                f"(burst {self.burst}); retry in {wait:.2f}s",
                wait,
            )

    def _forget_idle(self, now: float) -> None:
        for key in [key for key, bucket in self._buckets.items() if bucket.full(now)]:
            del self._buckets[key]


class _Refused:
    def __init__(self, error: ArenaError) -> None:
        self.error = error


class LimitsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Placed before MalformedRequestInterceptor: it sizes the raw bytes, then lets that one
    parse them (Arena methods are unary-unary or unary-stream)."""

    def __init__(self, settings: ControllerSettings) -> None:
        self.agent_cap = settings.max_agent_message_bytes
        self.limiter = RateLimiter(settings.agent_rate_per_s, settings.agent_burst)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method = details.method
        if (
            handler is None
            or handler.unary_unary is None
            or not method.startswith(f"/{AGENT_SERVICE}/")
        ):
            return handler
        parse, behaviour, cap = handler.request_deserializer, handler.unary_unary, self.agent_cap

        def sized_parse(data: bytes) -> Any:
            if len(data) > cap:
                return _Refused(
                    TooLargeError(f"{method}: message of {len(data)} bytes; at most {cap}")
                )
            return parse(data)

        async def limited(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, _Refused):
                log.warning("refused call", method=method, reason=str(request.error))
                await abort(context, request.error)
            key = _limit_key(request)
            try:
                self.limiter.check(key)
            except RateLimitedError as error:
                log.warning("rate limited", method=method, agent_id=key)
                await abort(context, error)
            return await behaviour(request, context)

        return grpc.unary_unary_rpc_method_handler(
            limited,
            request_deserializer=sized_parse,
            response_serializer=handler.response_serializer,
        )


def _limit_key(request: Any) -> str:
    """Whose allowance a call spends: an enrolled agent's credential name (the auth interceptor,
    outside this one, has admitted it), so no caller can spend another agent's allowance by
    naming it; the agent the request names on the static dev/legacy tokens."""
    who = CALLER.get()
    if who is not None and who.kind == AGENT and not who.static:
        return f"credential:{who.name}"
    return str(getattr(request, "agent_id", "") or getattr(request, "agent_name", ""))
