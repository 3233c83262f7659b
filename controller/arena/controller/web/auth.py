"""The dashboard's only writes need a user token, checked as the gRPC UserService checks it
(``arena.controller.rpc.auth``: static tokens, then stored credentials, then the role): no
``Authorization: Bearer`` header is 401, a token the controller does not accept or a role too
low is 403 (the error table's status for an AuthError). Refusals are audited like gRPC
ones."""

from typing import Annotated

from fastapi import Header, HTTPException, Request, status

from arena.common.errors import AuthError
from arena.common.schemas.user import Role
from arena.controller.rpc.audit import refused
from arena.controller.rpc.auth import StaticTokens, identify, require_role
from arena.controller.store.credentials import USER, Principal


async def submitter(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """The user behind the request's bearer token, at least a submitter."""
    token = (authorization or "").removeprefix("Bearer ").strip()
    if not authorization or not authorization.startswith("Bearer ") or not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing user token: send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    static = StaticTokens(request.app.state.settings)
    action = f"{request.method} {request.url.path}"
    try:
        who = await identify(request.app.state.db, static, token, USER)
        require_role(who, Role.SUBMITTER, action)
    except AuthError as error:  # PermissionDeniedError too
        refused(action, error, request.client.host if request.client else "")
        raise  # 403, as the error table says
    return who
