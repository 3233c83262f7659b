"""The dashboard's only writes need a user token, checked like the gRPC UserService's: a
missing ``Authorization: Bearer`` header is 401, a token the controller does not know is 403."""

import hmac
from typing import Annotated

from fastapi import Header, HTTPException, Request, status


def require_user_token(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    token = (authorization or "").removeprefix("Bearer ").strip()
    if not authorization or not authorization.startswith("Bearer ") or not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing user token: send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    known: list[str] = request.app.state.settings.user_tokens
    if not any(hmac.compare_digest(token.encode(), k.encode()) for k in known):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "unknown user token")
