"""The key registry: every signing key each agent has registered with (``agent_keys``), so a
key reset never orphans the results the old key signed. Filled from the keys bound today and
the keys stored with signed jobs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_keys",
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("public_key", sa.String(), nullable=False),
        sa.Column("first_seen_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("agent_id", "public_key"),
    )
    op.create_index("ix_agent_keys_public_key", "agent_keys", ["public_key"])
    op.execute(
        "INSERT INTO agent_keys (agent_id, public_key, first_seen_at)"
        " SELECT agent_id, public_key, 0 FROM agent_trust WHERE public_key <> ''"
        " UNION"
        " SELECT jobs.agent_id, job_trust.signer_key, 0 FROM job_trust"
        " JOIN jobs ON jobs.id = job_trust.job_id"
        " WHERE job_trust.signer_key <> '' AND jobs.agent_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_agent_keys_public_key", table_name="agent_keys")
    op.drop_table("agent_keys")
