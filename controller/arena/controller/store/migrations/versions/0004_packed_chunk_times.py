"""Chunk times packed: ``samples.chunk_times_s`` goes from a JSON list to little-endian float64
bytes (``arena.common.schemas.packed``), every stored sample converted in place, bit for bit.

On PostgreSQL the bytes are never compressed (float times do not compress, and trying
doubled the cost of a batch's COPY) and stay in the row up to a whole page (about 1,000
chunks) rather than 2 KiB: out-of-line storage cost another 25 %.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 19:10:00.000000
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
import structlog
from alembic import op

from arena.common.schemas.packed import pack_floats, unpack_floats

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000
"""Samples read and rewritten per round: bounded memory on a database of any size."""
log = structlog.get_logger(__name__)


def upgrade() -> None:
    # a non-finite time was stored as JSON null: it is NaN again
    _convert(sa.JSON(), sa.LargeBinary(), lambda times: pack_floats(times or []))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE samples ALTER COLUMN chunk_times_s SET STORAGE EXTERNAL")
        op.execute("ALTER TABLE samples SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    _convert(sa.LargeBinary(), sa.JSON(), lambda packed: unpack_floats(bytes(packed)))


def _convert(
    old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any], convert: Callable[[Any], Any]
) -> None:
    """Rewrite ``chunk_times_s`` from type ``old`` to ``new``, a bounded page at a time."""
    op.add_column("samples", sa.Column("chunk_times_new", new, nullable=True))
    samples = sa.table(
        "samples",
        sa.column("id", sa.BigInteger()),
        sa.column("chunk_times_s", old),
        sa.column("chunk_times_new", new),
    )
    connection = op.get_bind()
    total = connection.execute(sa.select(sa.func.count()).select_from(samples)).scalar_one()
    rewrite = (
        sa.update(samples)
        .where(samples.c.id == sa.bindparam("row_id"))
        .values(chunk_times_new=sa.bindparam("value"))
    )
    done, last = 0, None
    while True:
        page = sa.select(samples.c.id, samples.c.chunk_times_s).order_by(samples.c.id)
        if last is not None:
            page = page.where(samples.c.id > last)
        rows = connection.execute(page.limit(BATCH)).all()
        if not rows:
            break
        connection.execute(
            rewrite, [{"row_id": key, "value": convert(value)} for key, value in rows]
        )
        done, last = done + len(rows), rows[-1][0]
        log.info("converting chunk times", samples=done, of=total)
    with op.batch_alter_table("samples") as batch:
        batch.drop_column("chunk_times_s")
        batch.alter_column(
            "chunk_times_new", new_column_name="chunk_times_s", existing_type=new, nullable=False
        )
