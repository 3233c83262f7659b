"""Whether a caller may speak for an agent: an enrolled credential speaks only for the name,
labels and hardware it was enrolled with; a static token only for agents nobody enrolled."""

import hashlib
import json

from sqlalchemy import Connection, or_, select
from sqlmodel import Session

from arena.common.errors import PermissionDeniedError
from arena.common.schemas.agent import HardwareInfo
from arena.controller.store.credentials import AGENT, Principal, credential, is_bound
from arena.controller.store.models import AgentRow, CredentialRow


def fingerprint(hardware: HardwareInfo) -> str:
    """What identifies a box and does not change between restarts: its CPU and GPUs (not
    drivers, kernel or free memory). Self-reported, so it binds an honest agent's identity
    to its box; it does not prove the hardware (docs/security.md)."""
    stable = {
        "cpu": [hardware.cpu_model, hardware.cpu_arch, hardware.cpu_cores],
        "gpus": [[gpu.name, round(gpu.memory_gb)] for gpu in hardware.gpus],
    }
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:32]


def check_registration(
    session: Session,
    who: Principal,
    name: str,
    labels: dict[str, str],
    hardware: HardwareInfo,
    now: float,
) -> None:
    if who.static:
        if is_bound(session, name, now):
            raise PermissionDeniedError(
                f"agent name {name!r} is enrolled: only its own credential may register it"
            )
        return
    if name != who.name:
        raise PermissionDeniedError(f"this credential belongs to agent {who.name!r}, not {name!r}")
    held = credential(session, who.credential_id)
    claimed = {key: value for key, value in labels.items() if held.labels.get(key) != value}
    if claimed:
        raise PermissionDeniedError(
            f"agent {name!r} may claim only the labels it was enrolled with "
            f"({held.labels or 'none'}); refused: {claimed}"
        )
    if held.fingerprint and held.fingerprint != fingerprint(hardware):
        raise PermissionDeniedError(
            f"agent {name!r} reports other hardware than it was enrolled with; enrol it again"
        )


def check_own(who: Principal, agent_id: str) -> None:
    """An enrolled agent's calls must name its own agent id."""
    if agent_id != who.agent_id:
        raise PermissionDeniedError(
            f"this credential belongs to agent {who.name!r}; it cannot act as {agent_id!r}"
        )


AGENTS = AgentRow.__table__  # type: ignore[attr-defined]
CREDENTIALS = CredentialRow.__table__  # type: ignore[attr-defined]


def check_static(connection: Connection, agent_id: str, now: float) -> None:
    """A static token may act for any agent nobody enrolled. One query on a plain connection:
    it runs before every call an agent with a static token makes (``is_bound``'s rule)."""
    enrolled = connection.execute(
        select(AGENTS.c.name)
        .join(CREDENTIALS, CREDENTIALS.c.name == AGENTS.c.name)
        .where(
            AGENTS.c.id == agent_id,
            CREDENTIALS.c.kind == AGENT,
            CREDENTIALS.c.revoked_at.is_(None),
            or_(CREDENTIALS.c.expires_at.is_(None), CREDENTIALS.c.expires_at > now),
        )
        .limit(1)
    ).scalar_one_or_none()
    if enrolled is not None:
        raise PermissionDeniedError(
            f"agent {enrolled!r} is enrolled: a static token cannot act for it"
        )
