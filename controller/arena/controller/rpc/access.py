"""UserService's access methods: enrolment tokens, agent revocation, users and their tokens.
The auth interceptor has already checked the caller's role (admin, except RotateUserToken)."""

import time

import grpc
from sqlmodel import Session, select

from arena.common.errors import InvalidRequestError, PermissionDeniedError
from arena.common.pb.arena.v2 import user_pb2
from arena.common.schemas.user import Role
from arena.common.wire import enum_member, enum_number, to_message
from arena.controller.rpc.audit import caller, granted
from arena.controller.rpc.errors import grpc_errors
from arena.controller.settings import ControllerSettings
from arena.controller.store import credentials
from arena.controller.store import jobs as job_store
from arena.controller.store.credentials import AGENT, USER
from arena.controller.store.database import Database
from arena.controller.store.models import AgentRow
from arena.controller.work import WorkSignal

MAX_ENROLMENT_S = 30 * 24 * 3600.0
RESERVED_USERS = ("admin", "dev")
"""The names the static tokens act under (docs/security.md)."""


class AccessMethods:
    db: Database
    settings: ControllerSettings
    work: WorkSignal

    @grpc_errors
    async def CreateEnrolment(
        self, request: user_pb2.CreateEnrolmentRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.CreateEnrolmentResponse:
        if not 0 < request.expires_in_s <= MAX_ENROLMENT_S:
            raise InvalidRequestError(f"expires_in_s must be in (0, {MAX_ENROLMENT_S:.0f}]")
        now = time.time()
        row, token = await self.db.call(
            credentials.create_enrolment,
            dict(request.labels),
            now + request.expires_in_s,
            request.uses or 1,
            caller().name,
            now,
        )
        granted("create-enrolment", enrolment=row.id, labels=row.labels, uses=row.uses_left)
        return user_pb2.CreateEnrolmentResponse(
            enrolment_id=row.id, token=token, expires_at_unix=row.expires_at
        )

    @grpc_errors
    async def RevokeAgent(
        self, request: user_pb2.RevokeAgentRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.RevokeAgentResponse:
        revoked, requeued = await self.db.call(
            _revoke_agent, request.name, time.time(), self.settings.max_attempts
        )
        granted("revoke-agent", agent=request.name, jobs_requeued=requeued)
        if requeued:
            self.work.notify()
        return user_pb2.RevokeAgentResponse(credentials_revoked=revoked, jobs_requeued=requeued)

    @grpc_errors
    async def CreateUser(
        self, request: user_pb2.CreateUserRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.UserToken:
        if request.name in RESERVED_USERS:
            raise InvalidRequestError(f"{request.name!r} is reserved for the static tokens")
        try:
            role = enum_member(request.role, user_pb2.UserRole, Role)
        except ValueError:
            raise InvalidRequestError("role must be viewer, submitter or admin") from None
        token = await self.db.call(credentials.create_user, request.name, role, time.time())
        granted("create-user", user=request.name, role=role.value)
        return user_pb2.UserToken(
            name=request.name, role=enum_number(role, user_pb2.UserRole), token=token
        )

    @grpc_errors
    async def RotateUserToken(
        self, request: user_pb2.RotateUserTokenRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.UserToken:
        who = caller()
        if who.role != Role.ADMIN and request.name != who.name:
            raise PermissionDeniedError("only an admin rotates another user's token")
        token, role, until = await self.db.call(
            credentials.rotate_user, request.name, time.time(), self.settings.credential_grace_s
        )
        granted("rotate-user", user=request.name, old_valid_until=until)
        return user_pb2.UserToken(
            name=request.name,
            role=enum_number(role, user_pb2.UserRole),
            token=token,
            old_valid_until_unix=until,
        )

    @grpc_errors
    async def RevokeUser(
        self, request: user_pb2.RevokeUserRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.RevokeUserResponse:
        revoked = await self.db.call(credentials.revoke, USER, request.name, time.time())
        granted("revoke-user", user=request.name)
        return user_pb2.RevokeUserResponse(tokens_revoked=revoked)

    @grpc_errors
    async def ListUsers(
        self, request: user_pb2.ListUsersRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.ListUsersResponse:
        users = await self.db.call(credentials.list_users, time.time())
        return user_pb2.ListUsersResponse(
            users=[to_message(user, user_pb2.UserSummary) for user in users]
        )


def _revoke_agent(session: Session, name: str, now: float, max_attempts: int) -> tuple[int, int]:
    """Revoke the name's credentials and take its running job from it, in one transaction."""
    revoked = credentials.revoke(session, AGENT, name, now)
    agent = session.exec(select(AgentRow).where(AgentRow.name == name)).first()
    if agent is None:
        return revoked, 0
    return revoked, job_store.requeue_held(session, agent.id, "agent revoked", now, max_attempts)
