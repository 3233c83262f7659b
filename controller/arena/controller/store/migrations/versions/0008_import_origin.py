"""Imports get a table of their own (``imports``): an imported job was a job on the made-up
engine runtime ``imported`` with another schema in its ``spec`` and ``provenance``. Its job row
now says the engine that ran (vLLM's, where its image or version is recorded) and keeps no spec.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:50:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMPORTED_RUNTIME = "imported"
"""What every imported job's ``engine_runtime`` said before."""
UNKNOWN_ENGINE = "unknown"

JOBS = sa.table(
    "jobs",
    sa.column("id", sa.String()),
    sa.column("engine_runtime", sa.String()),
    sa.column("spec", sa.JSON()),
    sa.column("provenance", sa.JSON()),
)
IMPORTS = sa.table(
    "imports",
    sa.column("job_id", sa.String()),
    sa.column("key", sa.String()),
    sa.column("hardware", sa.String()),
    sa.column("origin", sa.JSON()),
    sa.column("benchmarks", sa.JSON()),
)


def _engine(provenance: dict[str, Any]) -> str:
    """What an import stored before says of its engine: an arena export of a simulated job, or
    vLLM (its version, or an image of vLLM's; the reference's folders all ran it)."""
    if provenance.get("simulated"):
        return "simulated"
    if provenance.get("vllm_version") or "vllm" in str(provenance.get("image") or "").lower():
        return "vllm"
    return UNKNOWN_ENGINE


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("hardware", sa.String(), nullable=False),
        sa.Column("origin", sa.JSON(), nullable=False),
        sa.Column("benchmarks", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_index("ix_imports_key", "imports", ["key"])
    bind = op.get_bind()
    imported = bind.execute(
        sa.select(JOBS.c.id, JOBS.c.spec, JOBS.c.provenance).where(
            JOBS.c.engine_runtime == IMPORTED_RUNTIME
        )
    ).all()
    for job_id, spec, stored in imported:
        origin = dict(stored["origin"])
        engine = _engine(origin["provenance"])
        origin["provenance"] = {**origin["provenance"], "engine": engine}
        bind.execute(
            sa.insert(IMPORTS).values(
                job_id=job_id,
                key=origin["key"],
                hardware=stored["hardware"],
                origin=origin,
                benchmarks=spec["benchmarks"],
            )
        )
        bind.execute(
            sa.update(JOBS)
            .where(JOBS.c.id == job_id)
            .values(engine_runtime=engine, spec={}, provenance={})
        )


def downgrade() -> None:
    bind = op.get_bind()
    for job_id, hardware, origin, benchmarks in bind.execute(
        sa.select(IMPORTS.c.job_id, IMPORTS.c.hardware, IMPORTS.c.origin, IMPORTS.c.benchmarks)
    ).all():
        provenance = {k: v for k, v in origin["provenance"].items() if k != "engine"}
        bind.execute(
            sa.update(JOBS)
            .where(JOBS.c.id == job_id)
            .values(
                engine_runtime=IMPORTED_RUNTIME,
                spec={"imported": True, "benchmarks": benchmarks},
                provenance={"hardware": hardware, "origin": {**origin, "provenance": provenance}},
            )
        )
    op.drop_index("ix_imports_key", table_name="imports")
    op.drop_table("imports")
