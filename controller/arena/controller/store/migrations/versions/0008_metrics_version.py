"""Stored metrics carry the version of the metric definitions that made them
(``jobs.metrics_version``): NULL on a succeeded measured job means its aggregation is still
pending (it runs after the success is committed), an older version means ``arena-controller
reaggregate`` recomputes it. The jobs that succeeded before this revision were aggregated by
version 1's definitions.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("metrics_version", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE jobs SET metrics_version = 1"
        " WHERE state = 'succeeded' AND engine_runtime <> 'imported'"
    )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("metrics_version")
