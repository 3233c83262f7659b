"""Trust: each agent's tier and bound signing key, every key it ever used (the key registry),
each job's tier, flags and signed manifest.

A missing row reads as its defaults (``agent_trust`` and ``job_trust`` came after ``agents``
and ``jobs``): agents registered before tiers existed used the operator's static tokens, so
they read as official.
"""

from collections.abc import Collection

import structlog
from sqlmodel import Session, col, select

from arena.common.errors import AuthError, InvalidRequestError
from arena.common.provenance.keyring import Keyring, KeyringEntry
from arena.controller.store.models import AgentKeyRow, AgentRow, AgentTrustRow, JobTrustRow

log = structlog.get_logger(__name__)

OFFICIAL, COMMUNITY = "official", "community"
TIERS = (OFFICIAL, COMMUNITY)
MAX_FLAGS = 20
"""Flags kept per job: the first ones say what went wrong; the rest would only repeat it."""


def agent_trust(session: Session, agent_id: str, new_tier: str = OFFICIAL) -> AgentTrustRow:
    """The agent's row; a new one (not yet added) with ``new_tier`` when it has none."""
    row = session.get(AgentTrustRow, agent_id)
    return row if row is not None else AgentTrustRow(agent_id=agent_id, tier=new_tier)


def agent_trusts(session: Session, agent_ids: Collection[str]) -> dict[str, AgentTrustRow]:
    rows = session.exec(select(AgentTrustRow).where(col(AgentTrustRow.agent_id).in_(agent_ids)))
    found = {row.agent_id: row for row in rows}
    return {
        agent_id: found.get(agent_id) or AgentTrustRow(agent_id=agent_id) for agent_id in agent_ids
    }


def bind_key(session: Session, agent_id: str, name: str, public_key: bytes, new_tier: str) -> None:
    """Bind the first signing key the agent registers with; refuse a different one until an
    admin resets it (``arenactl agents reset-key``). No key leaves the bound one as it is."""
    row = agent_trust(session, agent_id, new_tier)
    if public_key and row.public_key not in ("", public_key.hex()):
        raise AuthError(
            f"agent {name!r} registered before with another signing key; if the box was "
            f"reinstalled, an admin can allow the new key: arenactl agents reset-key {name}"
        )
    if public_key:
        row.public_key = public_key.hex()
    session.add(row)


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
    trusts = agent_trusts(session, {agent.id for _, agent in rows})
    return Keyring(
        keys=[
            KeyringEntry(
                agent=agent.name,
                agent_id=agent.id,
                public_key=key.public_key,
                tier=trusts[agent.id].tier,
                first_seen_unix=key.first_seen_at,
                current=trusts[agent.id].public_key == key.public_key,
            )
            for key, agent in rows
        ]
    )


def set_tier(session: Session, agent_id: str, tier: str) -> None:
    if tier not in TIERS:
        raise InvalidRequestError(f"unknown tier {tier!r}; one of {', '.join(TIERS)}")
    row = agent_trust(session, agent_id)
    row.tier = tier
    session.add(row)


def job_trust(session: Session, job_id: str) -> JobTrustRow:
    """The job's row; a new empty one (not yet added) when it has none."""
    return session.get(JobTrustRow, job_id) or JobTrustRow(job_id=job_id)


def job_trusts(session: Session, job_ids: Collection[str]) -> dict[str, JobTrustRow]:
    rows = session.exec(select(JobTrustRow).where(col(JobTrustRow.job_id).in_(job_ids)))
    found = {row.job_id: row for row in rows}
    return {job_id: found.get(job_id) or JobTrustRow(job_id=job_id) for job_id in job_ids}


def add_flag(session: Session, job_id: str, flag: str) -> None:
    row = job_trust(session, job_id)
    if len(row.flags) < MAX_FLAGS and flag not in row.flags:
        row.flags = [*row.flags, flag]
        session.add(row)
