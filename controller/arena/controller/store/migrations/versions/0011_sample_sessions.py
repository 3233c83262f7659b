"""Session benchmarks' samples: each request's session (``s12``, a sub-agent ``s12.1``), its
0-based turn, and the prompt tokens the engine served from its prefix cache. All three are
NULL for the samples stored before, which belong to single-request benchmarks (a NULL
``cached_tokens`` means the engine did not say, never zero).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("samples", sa.Column("session", sa.String(), nullable=True))
    op.add_column("samples", sa.Column("turn", sa.Integer(), nullable=True))
    op.add_column("samples", sa.Column("cached_tokens", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("samples") as samples:
        samples.drop_column("cached_tokens")
        samples.drop_column("turn")
        samples.drop_column("session")
