"""Trust as columns: an agent's tier and bound key move from ``agent_trust`` to ``agents``, a
job's tier, flags and signed manifest from ``job_trust`` to ``jobs``; the two side tables go.

An agent without a trust row keeps reading as official (the column's default), a job without
one as untiered (NULL, as an empty tier was).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("tier", sa.String(), nullable=False, server_default="official"))
        batch.add_column(sa.Column("public_key", sa.String(), nullable=False, server_default=""))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("tier", sa.String(), nullable=True))
        batch.add_column(sa.Column("flags", sa.JSON(), nullable=False, server_default="[]"))
        for name in ("manifest", "signature", "signer_key"):
            batch.add_column(sa.Column(name, sa.String(), nullable=False, server_default=""))
    from_agent_trust = ", ".join(
        f"{name} = (SELECT agent_trust.{name} FROM agent_trust"
        " WHERE agent_trust.agent_id = agents.id)"
        for name in ("tier", "public_key")
    )
    op.execute(
        f"UPDATE agents SET {from_agent_trust} WHERE id IN (SELECT agent_id FROM agent_trust)"
    )
    from_job_trust = ", ".join(
        f"{name} = (SELECT {value} FROM job_trust WHERE job_trust.job_id = jobs.id)"
        for name, value in (
            ("tier", "NULLIF(job_trust.tier, '')"),  # untiered: '' there, NULL here
            ("flags", "job_trust.flags"),
            ("manifest", "job_trust.manifest"),
            ("signature", "job_trust.signature"),
            ("signer_key", "job_trust.signer_key"),
        )
    )
    op.execute(f"UPDATE jobs SET {from_job_trust} WHERE id IN (SELECT job_id FROM job_trust)")
    op.drop_table("job_trust")
    op.drop_table("agent_trust")


def downgrade() -> None:
    op.create_table(
        "agent_trust",
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("tier", sa.String(), nullable=False),
        sa.Column("public_key", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("agent_id"),
    )
    op.create_table(
        "job_trust",
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("tier", sa.String(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("manifest", sa.String(), nullable=False),
        sa.Column("signature", sa.String(), nullable=False),
        sa.Column("signer_key", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.execute(
        "INSERT INTO agent_trust (agent_id, tier, public_key)"
        " SELECT id, tier, public_key FROM agents"
    )
    op.execute(
        "INSERT INTO job_trust (job_id, tier, flags, manifest, signature, signer_key)"
        " SELECT id, COALESCE(tier, ''), flags, manifest, signature, signer_key FROM jobs"
    )
    # plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch would copy the tables, which
    # other tables' foreign keys refuse while they hold rows
    for name in ("signer_key", "signature", "manifest", "flags", "tier"):
        op.drop_column("jobs", name)
    op.drop_column("agents", "public_key")
    op.drop_column("agents", "tier")
