"""Ingest checked against the job: ``jobs.leased_at`` (the window of samples sent before the
RUNNING report) and one sample per request of an attempt (a unique index on
``samples (job_id, attempt, benchmark, variant, run, index)``).

Before this revision an agent could store the same request twice; such repeats are deleted
here (the first stored one stays) so that the index can be built, and counted in the log.
A job leased before the upgrade gets its start, or its creation, as its lease time: a window
no narrower than the real one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import structlog
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = structlog.get_logger(__name__)

REQUEST = ("job_id", "attempt", "benchmark", "variant", "run", "index")
_KEYS = ", ".join(f'"{name}"' for name in REQUEST)  # quoted: "index" is a keyword


def upgrade() -> None:
    op.add_column("jobs", sa.Column("leased_at", sa.Float(), nullable=True))
    op.execute("UPDATE jobs SET leased_at = COALESCE(started_at, created_at) WHERE attempt > 0")
    repeats = op.get_bind().execute(
        sa.text(
            f"DELETE FROM samples WHERE id NOT IN (SELECT min(id) FROM samples GROUP BY {_KEYS})"
        )
    )
    if repeats.rowcount:
        log.warning("repeated samples deleted", rows=repeats.rowcount)
    op.create_index("ix_samples_request", "samples", list(REQUEST), unique=True)


def downgrade() -> None:
    op.drop_index("ix_samples_request", table_name="samples")
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("leased_at")
