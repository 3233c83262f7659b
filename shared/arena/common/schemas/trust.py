"""Trust tiers: how far an agent's results are believed (docs/security.md)."""

from enum import StrEnum


class TrustTier(StrEnum):
    """An agent's tier, set by an admin (``arenactl agents trust``); a job keeps the tier its
    agent had when it leased the job."""

    OFFICIAL = "official"
    """The operator's own boxes (and agents on the operator's static tokens)."""
    COMMUNITY = "community"
    """Enrolled boxes of others: what every enrolled agent starts as."""
