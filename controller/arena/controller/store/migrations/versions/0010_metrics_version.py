"""Stored metrics carry the version of the metric definitions that made them
(``jobs.metrics_version``): NULL on a succeeded measured job means its aggregation is still
pending (it runs after the success is committed), an older version means ``arena-controller
reaggregate`` recomputes it. The jobs that succeeded before this revision were aggregated by
version 1's definitions.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("metrics_version", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE jobs SET metrics_version = 1"
        " WHERE state = 'succeeded' AND id NOT IN (SELECT job_id FROM imports)"
    )


def downgrade() -> None:
    op.drop_column("jobs", "metrics_version")  # in place: see docs/database.md
