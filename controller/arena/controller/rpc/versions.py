"""Tell peers of another protocol version what to do instead of answering UNIMPLEMENTED.

The protocol's major version is its package (``arena.v2``); a breaking change gets a new
package, so an old agent or arenactl calls methods this controller does not serve. Their calls
fail with FAILED_PRECONDITION and a sentence naming the fix (docs/protocol.md).
"""

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import structlog

log = structlog.get_logger(__name__)

PROTOCOL = "arena.v2"
_ARENA_METHOD = re.compile(r"^/(arena\.v\d+)\.(\w+)/\w+$")
_UPGRADE = {"AgentService": "arena-agent", "UserService": "arenactl"}


class ProtocolVersionInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Runs first: a call to another ``arena.vN`` package is refused before authentication,
    so an old peer with a valid token learns that it must upgrade, not that it is unknown."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        found = _ARENA_METHOD.match(details.method)
        if found is None or found.group(1) == PROTOCOL:
            return await continuation(details)
        package, service = found.groups()
        peer = _UPGRADE.get(service, "the client")
        message = f"this controller speaks {PROTOCOL}, not {package}; upgrade {peer}"
        log.warning("refused call of another protocol version", method=details.method)
        return _refuse(message)


def _refuse(message: str) -> grpc.RpcMethodHandler:
    """Served as a client stream that is never read, so the old peer's request is not received
    (as the auth interceptor's refusals)."""

    async def refuse(_requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, message)

    return grpc.stream_unary_rpc_method_handler(refuse)
