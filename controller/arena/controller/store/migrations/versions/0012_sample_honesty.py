"""What each sample says about its own measurement: time to first content after reasoning,
reasoning tokens, the tokenizer's output count beside ``usage``, when the write returned, and
the longest client stall before the first token. All NULL for samples stored before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FLOATS = ("first_content_s", "written_s", "read_stall_s")
_INTS = ("reasoning_tokens", "counted_output_tokens")


def upgrade() -> None:
    for name in _FLOATS:
        op.add_column("samples", sa.Column(name, sa.Float(), nullable=True))
    for name in _INTS:
        op.add_column("samples", sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("samples") as samples:
        for name in reversed(_FLOATS + _INTS):
            samples.drop_column(name)
