"""Enrolment tokens and the credentials of agents and users, kept only as hashes.

Every secret here is 32 random bytes from ``secrets`` (256 bits), so a single SHA-256 of it is
as safe to store as a slow password hash: nobody can guess their way back from the hash, and
there is no low-entropy password to protect. A fast hash also lets every call find its
credential by an indexed lookup instead of trying a slow hash against each stored row.
"""

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

import structlog
from sqlmodel import Session, col, select

from arena.common.errors import (
    AuthError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from arena.common.schemas.user import Role, UserSummary
from arena.controller.store.models import AgentRow, CredentialRow, EnrolmentRow

log = structlog.get_logger(__name__)

AGENT = "agent"
USER = "user"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


@dataclass(frozen=True)
class Principal:
    """Who is calling. ``credential_id`` is empty for the static tokens from the settings (the
    legacy/dev path, and the bootstrap admin token)."""

    kind: str
    name: str
    role: Role | None = None
    credential_id: str = ""
    agent_id: str = ""
    """An enrolled agent's registered id ('' before its first registration)."""

    @property
    def static(self) -> bool:
        return not self.credential_id


def wrong_service(have: str, need: str) -> str:
    return f"unknown {need} token: an {have} credential does not open the {need} service"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(kind: str) -> str:
    """A fresh secret; the prefix tells a human (and a secret scanner) what it is."""
    return f"arena-{kind}-{secrets.token_urlsafe(32)}"


def _live(row: CredentialRow, now: float) -> bool:
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


def _live_of(session: Session, kind: str, name: str, now: float) -> list[CredentialRow]:
    rows = session.exec(
        select(CredentialRow).where(CredentialRow.kind == kind, CredentialRow.name == name)
    )
    return [row for row in rows if _live(row, now)]


def _issue(session: Session, like: CredentialRow, now: float) -> tuple[CredentialRow, str]:
    secret = new_secret(like.kind)
    row = CredentialRow(
        id=f"cred-{uuid.uuid4().hex[:12]}",
        token_hash=digest(secret),
        kind=like.kind,
        name=like.name,
        role=like.role,
        labels=dict(like.labels),
        fingerprint=like.fingerprint,
        created_at=now,
    )
    session.add(row)
    return row, secret


def create_enrolment(
    session: Session,
    labels: dict[str, str],
    expires_at: float,
    uses: int,
    created_by: str,
    now: float,
) -> tuple[EnrolmentRow, str]:
    if expires_at <= now:
        raise InvalidRequestError("an enrolment token must expire in the future")
    if uses < 1:
        raise InvalidRequestError("an enrolment token needs at least one use")
    token = new_secret("enrol")
    row = EnrolmentRow(
        id=f"enrol-{uuid.uuid4().hex[:12]}",
        token_hash=digest(token),
        labels=labels,
        uses_left=uses,
        expires_at=expires_at,
        created_at=now,
        created_by=created_by,
    )
    session.add(row)
    return row, token


def usable_enrolment(session: Session, token: str, now: float) -> EnrolmentRow:
    """The enrolment row of ``token`` if a use of it may be spent now; AuthError otherwise.
    Asked before an Enroll call's body is read, and again when the use is spent."""
    enrolment = session.exec(
        select(EnrolmentRow).where(EnrolmentRow.token_hash == digest(token))
    ).first()
    if enrolment is None:
        raise AuthError("unknown enrolment token")
    if enrolment.expires_at <= now:
        raise AuthError(f"enrolment token {enrolment.id} has expired")
    if enrolment.uses_left <= 0:
        raise AuthError(f"enrolment token {enrolment.id} has been used up")
    return enrolment


def enroll(
    session: Session, token: str, name: str, fingerprint: str, now: float
) -> tuple[CredentialRow, str]:
    """Spend one use of the enrolment token on a credential bound to ``name``."""
    check_name(name, "agent")
    enrolment = usable_enrolment(session, token, now)
    if _live_of(session, AGENT, name, now):
        raise PermissionDeniedError(
            f"agent name {name!r} is already enrolled; revoke it first (arenactl agents revoke)"
        )
    enrolment.uses_left -= 1
    session.add(enrolment)
    template = CredentialRow(
        id="",
        token_hash="",
        kind=AGENT,
        name=name,
        role=AGENT,
        labels=enrolment.labels,
        fingerprint=fingerprint,
        created_at=now,
    )
    row, secret = _issue(session, template, now)
    log.info("audit", action="enrol", agent=name, enrolment=enrolment.id, credential=row.id)
    return row, secret


def authenticate(session: Session, secret: str, kind: str, now: float) -> Principal:
    """The principal a stored credential names; an AuthError saying why it is not accepted
    as a ``kind`` credential."""
    row = session.exec(select(CredentialRow).where(CredentialRow.token_hash == digest(secret)))
    found = row.first()
    if found is None:
        raise AuthError(f"unknown {kind} token")
    if found.kind != kind:
        raise AuthError(wrong_service(found.kind, kind))
    if found.revoked_at is not None:
        raise AuthError(f"the credential of {found.kind} {found.name!r} has been revoked")
    if found.expires_at is not None and found.expires_at <= now:
        raise AuthError(f"the credential of {found.kind} {found.name!r} has expired (rotated)")
    if found.kind == AGENT:
        agent = session.exec(select(AgentRow).where(AgentRow.name == found.name)).first()
        return Principal(AGENT, found.name, None, found.id, agent.id if agent else "")
    return Principal(USER, found.name, Role(found.role), found.id)


def credential(session: Session, credential_id: str) -> CredentialRow:
    row = session.get(CredentialRow, credential_id)
    if row is None:
        raise AuthError("unknown credential")
    return row


def is_bound(session: Session, name: str, now: float) -> bool:
    """Whether an enrolled credential holds this agent name (static tokens may not use it)."""
    return bool(_live_of(session, AGENT, name, now))


def rotate(session: Session, credential_id: str, now: float, grace_s: float) -> tuple[str, float]:
    """A new secret for the credential's holder; the old one works ``grace_s`` longer."""
    old = credential(session, credential_id)
    if not _live(old, now):
        raise AuthError("a revoked or expired credential cannot be rotated")
    until = now + grace_s
    old.expires_at = until if old.expires_at is None else min(old.expires_at, until)
    session.add(old)
    _, secret = _issue(session, old, now)
    log.info("audit", action="rotate", kind=old.kind, name=old.name, old_credential=old.id)
    return secret, old.expires_at


def revoke(session: Session, kind: str, name: str, now: float) -> int:
    rows = _live_of(session, kind, name, now)
    if not rows:
        raise NotFoundError(f"no live credential for {kind} {name!r}")
    for row in rows:
        row.revoked_at = now
        session.add(row)
    log.info("audit", action="revoke", kind=kind, name=name, credentials=len(rows))
    return len(rows)


def check_name(name: str, what: str) -> None:
    if not NAME.fullmatch(name):
        raise InvalidRequestError(
            f"{what} name {name[:80]!r}: 1-64 letters, digits and . _ @ -, starting with a letter "
            "or digit"
        )


def create_user(session: Session, name: str, role: Role, now: float) -> str:
    check_name(name, "user")
    if _live_of(session, USER, name, now):
        raise ConflictError(f"user {name!r} exists; rotate or revoke its token instead")
    template = CredentialRow(
        id="", token_hash="", kind=USER, name=name, role=role.value, created_at=now
    )
    row, secret = _issue(session, template, now)
    log.info("audit", action="create-user", user=name, role=role.value, credential=row.id)
    return secret


def rotate_user(session: Session, name: str, now: float, grace_s: float) -> tuple[str, Role, float]:
    """A new token for the user; every earlier live one works ``grace_s`` longer."""
    rows = _live_of(session, USER, name, now)
    if not rows:
        raise NotFoundError(f"no live token for user {name!r}")
    until = now + grace_s
    for row in rows:
        row.expires_at = until if row.expires_at is None else min(row.expires_at, until)
        session.add(row)
    _, secret = _issue(session, rows[-1], now)
    log.info("audit", action="rotate", kind=USER, name=name, old_tokens=len(rows))
    return secret, Role(rows[-1].role), until


def list_users(session: Session, now: float) -> list[UserSummary]:
    rows = session.exec(
        select(CredentialRow)
        .where(CredentialRow.kind == USER)
        .order_by(col(CredentialRow.name), col(CredentialRow.created_at))
    )
    by_name: dict[str, list[CredentialRow]] = {}
    for row in rows:
        by_name.setdefault(row.name, []).append(row)
    return [
        UserSummary(
            name=name,
            role=Role(held[-1].role),
            created_at_unix=held[0].created_at,
            live_tokens=sum(_live(row, now) for row in held),
            revoked=all(row.revoked_at is not None for row in held),
        )
        for name, held in by_name.items()
    ]
