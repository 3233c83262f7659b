"""Authentication and the role each method needs, checked before any servicer code runs.

Credentials are looked up on every call (no cache), so a revocation takes effect on the
caller's next call. Static tokens from the settings (``agent_tokens``, ``user_tokens``,
``admin_token``) are the legacy/dev path: a static agent token may act as any agent that is not
enrolled; a static user token is an admin. docs/security.md has the whole model.
"""

import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import grpc

from arena.common.errors import ArenaError, AuthError, PermissionDeniedError
from arena.common.schemas.user import Role
from arena.controller.rpc.audit import CALLER, refused
from arena.controller.rpc.errors import abort, as_arena_error
from arena.controller.settings import ControllerSettings
from arena.controller.store import credentials
from arena.controller.store.credentials import AGENT, USER, Principal
from arena.controller.store.database import Database

AGENT_SERVICE = "arena.v2.AgentService"
USER_SERVICE = "arena.v2.UserService"
ENROLMENT = "enrolment"
"""Enroll's caller proves itself with a one-time enrolment token, checked by the method."""

_AGENT_METHODS = (
    "Register",
    "Heartbeat",
    "LeaseJob",
    "ReportJobStatus",
    "PushSamples",
    "PushLogs",
    "PushToolResult",
    "PushTelemetry",
    "RotateCredential",
)
_USER_ROLES = {
    Role.VIEWER: (
        "ListRuns",
        "GetRun",
        "GetResults",
        "ListAgents",
        "GetJobLogs",
        "GetJob",
        "StreamSamples",
        "StreamTelemetry",
        "RotateUserToken",
        "GetKeyring",
        "CheckSuite",
    ),
    Role.SUBMITTER: ("SubmitSuite", "CancelRun", "ImportResults"),
    Role.ADMIN: (
        "DrainAgent",
        "CreateEnrolment",
        "RevokeAgent",
        "CreateUser",
        "RevokeUser",
        "ListUsers",
        "SetAgentTrust",
        "ResetAgentKey",
    ),
}
POLICY: dict[str, str | Role] = {
    f"/{AGENT_SERVICE}/Enroll": ENROLMENT,
    **{f"/{AGENT_SERVICE}/{method}": AGENT for method in _AGENT_METHODS},
    **{f"/{USER_SERVICE}/{m}": role for role, methods in _USER_ROLES.items() for m in methods},
}
"""What each method needs: an enrolment token, an agent credential, or a user role at least."""


def bearer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            return value.removeprefix("Bearer ").strip()
    return ""


class StaticTokens:
    """The tokens written in the settings, compared in constant time."""

    def __init__(self, settings: ControllerSettings) -> None:
        self._tokens: list[tuple[str, Principal]] = [
            *((token, Principal(AGENT, "")) for token in settings.agent_tokens),
            *((token, Principal(USER, "dev", Role.ADMIN)) for token in settings.user_tokens),
        ]
        if settings.admin_token:
            self._tokens.append((settings.admin_token, Principal(USER, "admin", Role.ADMIN)))

    def match(self, token: str) -> Principal | None:
        found = None
        for known, who in self._tokens:
            if hmac.compare_digest(token.encode(), known.encode()):
                found = who
        return found


async def identify(db: Database, static: StaticTokens, token: str, kind: str) -> Principal:
    """Who ``token`` is, as a ``kind`` (agent or user) credential; AuthError otherwise.
    The gRPC interceptor and the dashboard's writes both ask this."""
    if not token:
        raise AuthError(f"missing {kind} token")
    who = static.match(token)
    if who is None:
        who = await db.call(credentials.authenticate, token, kind, time.time())
    if who.kind != kind:
        raise AuthError(credentials.wrong_service(who.kind, kind))
    return who


def require_role(who: Principal, need: Role, action: str) -> None:
    if who.role is None or not who.role.includes(need):
        have = who.role.value if who.role else "none"
        raise PermissionDeniedError(
            f"{action} needs the {need.value} role; user {who.name!r} is {have}"
        )


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Admits each call as a Principal (in ``audit.CALLER``) or refuses it with
    UNAUTHENTICATED (no valid credential for this service) or PERMISSION_DENIED (a role too
    low), writing an audit line."""

    def __init__(self, db: Database, settings: ControllerSettings) -> None:
        self.db = db
        self.static = StaticTokens(settings)

    async def admit(self, method: str, token: str) -> Principal:
        need = POLICY.get(method)
        if need is None:
            raise PermissionDeniedError(f"{method} has no access policy")
        if need == ENROLMENT:
            if not token:
                raise AuthError("missing enrolment token")
            await self.db.call(credentials.usable_enrolment, token, time.time())
            return Principal(ENROLMENT, "")
        kind = AGENT if need == AGENT else USER
        who = await identify(self.db, self.static, token, kind)
        CALLER.set(who)  # known from here on: a refusal below is logged under its name
        if isinstance(need, Role):
            require_role(who, need, method.rsplit("/", 1)[-1])
        return who

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """Decides from the method and the metadata alone, before the request's body is read."""
        handler = await continuation(details)
        if handler is None:
            return None
        behaviour = handler.unary_unary or handler.unary_stream
        if behaviour is None:
            return handler
        CALLER.set(None)
        try:
            who = await self.admit(details.method, bearer_token(details.invocation_metadata))
        except Exception as error:  # storage trouble too: a clear status, never a crash
            return refusal(details.method, as_arena_error(error, details.method), CALLER.get())

        async def admitted(request: Any, context: grpc.aio.ServicerContext) -> Any:
            CALLER.set(who)
            return await behaviour(request, context)

        wrap = (
            grpc.unary_unary_rpc_method_handler
            if handler.unary_unary
            else grpc.unary_stream_rpc_method_handler
        )
        return wrap(
            admitted,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def refusal(method: str, error: ArenaError, who: Principal | None = None) -> grpc.RpcMethodHandler:
    """A handler that refuses the call without reading its request: served as a client stream
    it never pulls a message, so the controller receives no more of the body than the
    transport's flow-control window (a unary handler would receive and parse all of it)."""

    async def refuse(_requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> None:
        CALLER.set(who)
        refused(method, error, context.peer())
        await abort(context, error)

    return grpc.stream_unary_rpc_method_handler(refuse)
