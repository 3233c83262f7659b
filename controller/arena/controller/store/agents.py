"""Agent registry: registration, liveness, draining."""

import uuid

import structlog
from sqlmodel import Session, select

from arena.common.errors import NotFoundError
from arena.common.schemas.agent import AgentStatus, HardwareInfo
from arena.common.schemas.policy import AgentPolicy
from arena.common.schemas.trust import TrustTier
from arena.common.suites.expand import AgentFacts
from arena.controller.store.models import AgentRow
from arena.controller.store.trust import bind_key, record_key, set_tier

log = structlog.get_logger(__name__)


def register_agent(
    session: Session,
    name: str,
    hardware: HardwareInfo,
    labels: dict[str, str],
    versions: dict[str, str],
    now: float,
    *,
    public_key: bytes = b"",
    tier: TrustTier = TrustTier.COMMUNITY,
    policy: AgentPolicy | None = None,
) -> AgentRow:
    """Create the agent, or refresh it when a known name registers again (a restart).

    ``tier`` is the trust a new agent starts with; the first signing key a name registers
    with is bound to it (``trust.bind_key``). ``policy`` replaces the one it registered with
    before (``None``: it sent none, the defaults apply)."""
    row = session.exec(select(AgentRow).where(AgentRow.name == name)).first()
    if row is None:
        row = AgentRow(
            id=f"agent-{uuid.uuid4().hex[:12]}",
            name=name,
            hardware={},
            labels={},
            versions={},
            registered_at=now,
            last_seen_at=now,
            tier=tier,
        )
    bind_key(row, public_key)
    row.hardware = hardware.model_dump()
    row.labels = labels
    row.versions = versions
    row.gpu_name = hardware.gpus[0].name if hardware.gpus else ""
    row.vram_gb = hardware.vram_gb
    row.cpu_arch = hardware.cpu_arch
    row.last_seen_at = now
    row.draining = False
    row.policy = None if policy is None else policy.model_dump(mode="json")
    session.add(row)
    if public_key:
        session.flush()  # the registry's row names the agent's
        record_key(session, row.id, public_key, now)
    return row


def agent_by_name(session: Session, name: str) -> AgentRow:
    row = session.exec(select(AgentRow).where(AgentRow.name == name)).first()
    if row is None:
        raise NotFoundError(f"unknown agent {name!r}")
    return row


def set_trust(session: Session, name: str, tier: str) -> None:
    row = agent_by_name(session, name)
    set_tier(row, tier)
    session.add(row)
    log.info("agent trust set", agent=name, tier=tier)


def reset_key(session: Session, name: str) -> None:
    row = agent_by_name(session, name)
    row.public_key = ""
    session.add(row)
    log.warning("agent signing key reset", agent=name)


def get_agent(session: Session, agent_id: str, *, lock: bool = False) -> AgentRow:
    """The agent; with ``lock``, its row stays locked until the transaction ends."""
    row = session.get(AgentRow, agent_id, with_for_update=True if lock else None)
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
    """Online while heartbeats arrive; disconnected after missing a few; lost once silent
    longer than a lease."""
    silence = now - row.last_seen_at
    if silence <= 3 * heartbeat_interval_s:
        return AgentStatus.ONLINE
    if silence <= lease_ttl_s:
        return AgentStatus.DISCONNECTED
    return AgentStatus.LOST


def facts(row: AgentRow) -> AgentFacts:
    return AgentFacts(
        name=row.name,
        labels=row.labels,
        gpu_name=row.gpu_name,
        vram_gb=row.vram_gb,
        cpu_arch=row.cpu_arch,
        trust=row.tier,
    )
