"""Agent registry: registration, liveness, draining."""

import uuid
from typing import Literal

import structlog
from sqlmodel import Session, select

from arena.common.errors import AuthError, InvalidRequestError, NotFoundError
from arena.common.schemas.agent import HardwareInfo
from arena.common.suites.expand import AgentFacts
from arena.controller.store.models import AgentRow

log = structlog.get_logger(__name__)

AgentStatus = Literal["online", "disconnected", "lost"]
OFFICIAL, COMMUNITY = "official", "community"
TIERS = (OFFICIAL, COMMUNITY)


def register_agent(
    session: Session,
    name: str,
    hardware: HardwareInfo,
    labels: dict[str, str],
    versions: dict[str, str],
    now: float,
    *,
    public_key: bytes = b"",
    trust: str = "community",
) -> AgentRow:
    """Create the agent, or refresh it when a known name registers again (a restart).

    ``trust`` is the tier a new agent starts with; the first signing key a name registers
    with is bound to it, and a different key is refused until an admin resets it."""
    row = session.exec(select(AgentRow).where(AgentRow.name == name)).first()
    if row is not None and public_key and row.public_key not in ("", public_key.hex()):
        raise AuthError(
            f"agent {name!r} registered before with another signing key; if the box was "
            f"reinstalled, an admin can allow the new key: arenactl agents reset-key {name}"
        )
    if row is None:
        row = AgentRow(
            id=f"agent-{uuid.uuid4().hex[:12]}",
            name=name,
            hardware={},
            labels={},
            versions={},
            registered_at=now,
            last_seen_at=now,
            trust=trust,
        )
    if public_key:
        row.public_key = public_key.hex()
    row.hardware = hardware.model_dump()
    row.labels = labels
    row.versions = versions
    row.gpu_name = hardware.gpus[0].name if hardware.gpus else ""
    row.vram_gb = hardware.vram_gb
    row.cpu_arch = hardware.cpu_arch
    row.last_seen_at = now
    row.draining = False
    session.add(row)
    return row


def agent_by_name(session: Session, name: str) -> AgentRow:
    row = session.exec(select(AgentRow).where(AgentRow.name == name)).first()
    if row is None:
        raise NotFoundError(f"unknown agent {name!r}")
    return row


def set_trust(session: Session, name: str, tier: str) -> AgentRow:
    if tier not in TIERS:
        raise InvalidRequestError(f"unknown tier {tier!r}; one of {', '.join(TIERS)}")
    row = agent_by_name(session, name)
    row.trust = tier
    session.add(row)
    log.info("agent trust set", agent=name, tier=tier)
    return row


def reset_key(session: Session, name: str) -> AgentRow:
    row = agent_by_name(session, name)
    row.public_key = ""
    session.add(row)
    log.warning("agent signing key reset", agent=name)
    return row


def get_agent(session: Session, agent_id: str) -> AgentRow:
    row = session.get(AgentRow, agent_id)
    if row is None:
        raise NotFoundError(f"unknown agent id {agent_id!r}: register first")
    return row


def list_agents(session: Session) -> list[AgentRow]:
    return list(session.exec(select(AgentRow).order_by(AgentRow.name)))


def set_draining(session: Session, name: str) -> AgentRow:
    row = session.exec(select(AgentRow).where(AgentRow.name == name)).first()
    if row is None:
        raise NotFoundError(f"no agent named {name!r}")
    row.draining = True
    session.add(row)
    return row


def agent_status(
    row: AgentRow, now: float, heartbeat_interval_s: float, lease_ttl_s: float
) -> AgentStatus:
    """Online while heartbeats arrive; disconnected after missing a few (its job goes on);
    lost once silent longer than a lease (its job is requeued)."""
    silence = now - row.last_seen_at
    if silence <= 3 * heartbeat_interval_s:
        return "online"
    if silence <= lease_ttl_s:
        return "disconnected"
    return "lost"


def facts(row: AgentRow) -> AgentFacts:
    return AgentFacts(
        name=row.name,
        labels=row.labels,
        gpu_name=row.gpu_name,
        vram_gb=row.vram_gb,
        cpu_arch=row.cpu_arch,
        trust=row.trust,
    )
