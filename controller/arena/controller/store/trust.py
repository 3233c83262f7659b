"""Trust: each agent's tier and bound signing key, every key it ever used (the key registry),
each job's tier and flags. The tier and key are columns of ``agents``; a job's tier, flags and
signed manifest are columns of ``jobs``."""

from sqlmodel import Session, col, select

from arena.common.errors import AuthError, InvalidRequestError
from arena.common.provenance.keyring import Keyring, KeyringEntry
from arena.common.schemas.trust import TrustTier
from arena.controller.store.models import AgentKeyRow, AgentRow, JobRow

MAX_FLAGS = 20
"""Flags kept per job: the first ones say what went wrong; the rest would only repeat it."""


def bind_key(agent: AgentRow, public_key: bytes) -> None:
    """Bind the first signing key the agent registers with; refuse a different one until an
    admin resets it (``arenactl agents reset-key``). No key leaves the bound one as it is."""
    if public_key and agent.public_key not in ("", public_key.hex()):
        raise AuthError(
            f"agent {agent.name!r} registered before with another signing key; if the box was "
            f"reinstalled, an admin can allow the new key: arenactl agents reset-key {agent.name}"
        )
    if public_key:
        agent.public_key = public_key.hex()


def record_key(session: Session, agent_id: str, public_key: bytes, now: float) -> None:
    """Add the key to the agent's keys in the registry (once)."""
    if session.get(AgentKeyRow, (agent_id, public_key.hex())) is None:
        session.add(AgentKeyRow(agent_id=agent_id, public_key=public_key.hex(), first_seen_at=now))


def keyring(session: Session, public_key: bytes | None = None) -> Keyring:
    """Every key the registry holds (or only ``public_key``'s entries), with its agent and the
    agent's tier now."""
    query = select(AgentKeyRow, AgentRow).join(
        AgentRow, col(AgentRow.id) == col(AgentKeyRow.agent_id)
    )
    if public_key is not None:
        query = query.where(col(AgentKeyRow.public_key) == public_key.hex())
    rows = session.exec(query.order_by(col(AgentRow.name), col(AgentKeyRow.first_seen_at))).all()
    return Keyring(
        keys=[
            KeyringEntry(
                agent=agent.name,
                agent_id=agent.id,
                public_key=key.public_key,
                tier=agent.tier,
                first_seen_unix=key.first_seen_at,
                current=agent.public_key == key.public_key,
            )
            for key, agent in rows
        ]
    )


def set_tier(agent: AgentRow, tier: str) -> None:
    try:
        agent.tier = TrustTier(tier)
    except ValueError:
        raise InvalidRequestError(f"unknown tier {tier!r}; one of {', '.join(TrustTier)}") from None


def add_flag(job: JobRow, flag: str) -> None:
    if len(job.flags) < MAX_FLAGS and flag not in job.flags:
        job.flags = [*job.flags, flag]
