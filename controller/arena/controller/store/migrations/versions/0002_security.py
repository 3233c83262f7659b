"""Enrolments, credentials and run owners: the tables of agent enrolment, per-agent and
per-user credentials and run ownership (docs/security.md), added after 0001.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 16:52:11.914572
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=True),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credentials_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_credentials_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_credentials_token_hash"), ["token_hash"], unique=True)

    op.create_table(
        "enrolments",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("uses_left", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolments_token_hash"), ["token_hash"], unique=True)

    op.create_table(
        "run_owners",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
        ),
        sa.PrimaryKeyConstraint("run_id"),
    )
    with op.batch_alter_table("run_owners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_owners_owner"), ["owner"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_owners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_owners_owner"))

    op.drop_table("run_owners")
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolments_token_hash"))

    op.drop_table("enrolments")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credentials_token_hash"))
        batch_op.drop_index(batch_op.f("ix_credentials_name"))
        batch_op.drop_index(batch_op.f("ix_credentials_kind"))

    op.drop_table("credentials")
