"""A user of the controller and the role that says what they may do (docs/security.md)."""

from enum import StrEnum

from arena.common.schemas.base import ArenaModel


class Role(StrEnum):
    """A user's role, in rising order: each includes the ones before it. On the wire it is the
    ``UserRole`` enum; in the store, arenactl and logs its word."""

    VIEWER = "viewer"
    """Reads only."""
    SUBMITTER = "submitter"
    """Reads, submits, imports, cancels its own runs."""
    ADMIN = "admin"
    """Everything: enrols and revokes agents, manages users, drains."""

    def includes(self, other: "Role") -> bool:
        """Whether this role may do what ``other`` may (an admin what a submitter may)."""
        order = list(Role)
        return order.index(self) >= order.index(other)


class UserSummary(ArenaModel):
    """A user as the controller lists them (``arenactl users``)."""

    name: str
    role: Role
    created_at_unix: float
    live_tokens: int
    revoked: bool
