"""Bearer-token check for every call: agent tokens for AgentService, user tokens for UserService.

This is the hook later hardening (per-agent tokens, mTLS, per-job authorisation) plugs into.
"""

import hmac
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
import structlog

from arena.common.errors import AuthError
from arena.controller.rpc.errors import abort

log = structlog.get_logger(__name__)

AGENT_SERVICE = "arena.v2.AgentService"
USER_SERVICE = "arena.v2.UserService"


def bearer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            return value.removeprefix("Bearer ").strip()
    return ""


class BearerAuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, tokens_by_service: dict[str, Iterable[str]]) -> None:
        self._tokens = {service: tuple(tokens) for service, tokens in tokens_by_service.items()}

    def _allowed(self, service: str, token: str) -> bool:
        return bool(token) and any(
            hmac.compare_digest(token.encode(), known.encode())
            for known in self._tokens.get(service, ())
        )

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        service = details.method.split("/")[1] if details.method.count("/") == 2 else ""
        token = bearer_token(details.invocation_metadata)
        if self._allowed(service, token):
            return await continuation(details)
        kind = "agent" if service == AGENT_SERVICE else "user"
        reason = f"missing {kind} token" if not token else f"unknown {kind} token"
        log.warning("refused call", method=details.method, reason=reason)
        return _deny(reason)


def _deny(reason: str) -> grpc.RpcMethodHandler:
    async def refuse(_request: Any, context: grpc.aio.ServicerContext) -> None:
        await abort(context, AuthError(reason))

    return grpc.unary_unary_rpc_method_handler(refuse)
