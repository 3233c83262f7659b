"""Who is calling, and the audit trail: one structlog line (event ``audit``) per refusal and
per change to who may do what, so an operator can grep one event for every decision."""

from contextvars import ContextVar

import structlog

from arena.common.errors import ArenaError, AuthError, ConflictError, InternalError
from arena.common.status import row_for
from arena.controller.store.credentials import Principal


def _log() -> structlog.typing.FilteringBoundLogger:
    """Bound afresh for every line (not cached per module), so a test capturing logs sees the
    audit trail as an operator's log collector would."""
    return structlog.get_logger(__name__)  # type: ignore[no-any-return]


CALLER: ContextVar[Principal | None] = ContextVar("arena_caller", default=None)
"""Set by the auth interceptor for the call being served."""


def caller() -> Principal:
    who = CALLER.get()
    if who is None:  # every served method has a policy, so the interceptor always sets it
        raise InternalError("call served without an authenticated caller")
    return who


def describe(who: Principal | None) -> str:
    if who is None:
        return "anonymous"
    name = who.name or "*"
    return f"{who.kind}:{name}" + (" (static token)" if who.static else "")


def refused(method: str, error: ArenaError, peer: str = "") -> None:
    """Log a call refused for who the caller is or what it may touch: no valid credential,
    a role or identity that does not allow it, or a job attempt it does not hold. (A malformed
    request is the caller's mistake, not an access decision; it gets its status only.)"""
    if not isinstance(error, AuthError | ConflictError):
        return
    row = row_for(error)
    _log().warning(
        "audit",
        outcome="refused",
        method=method,
        caller=describe(CALLER.get()),
        code=row.code.name if row else "UNKNOWN",
        reason=str(error),
        peer=peer,
    )


def granted(action: str, **fields: object) -> None:
    """Log a change to who may do what (enrolment, revocation, rotation, new user)."""
    _log().info("audit", outcome="done", action=action, caller=describe(CALLER.get()), **fields)
