"""Reference-tool results: stored per (job, attempt, benchmark), fenced like samples."""

from typing import Any

from sqlmodel import Session, select

from arena.controller.store.jobs import fenced_job
from arena.controller.store.models import JobRow, ToolResultRow


def store_tool_result(
    session: Session,
    agent_id: str,
    job_id: str,
    attempt: int,
    benchmark: str,
    *,
    tool: str,
    command: str,
    output: str,
    metrics: dict[str, Any],
) -> None:
    """Write or replace: an agent retrying after a lost reply must not create a second row.
    The result is checked against the job first (``rpc.sanity.store_checked_tool_result``)."""
    fenced_job(session, agent_id, job_id, attempt)
    row = session.exec(
        select(ToolResultRow).where(
            ToolResultRow.job_id == job_id,
            ToolResultRow.attempt == attempt,
            ToolResultRow.benchmark == benchmark,
        )
    ).first() or ToolResultRow(
        job_id=job_id,
        attempt=attempt,
        benchmark=benchmark,
        tool=tool,
        command="",
        output="",
        metrics={},
    )
    row.tool, row.command, row.output, row.metrics = tool, command, output, metrics
    session.add(row)


def tool_results_of(session: Session, job: JobRow) -> dict[str, ToolResultRow]:
    """The current attempt's tool results by benchmark id."""
    rows = session.exec(
        select(ToolResultRow).where(
            ToolResultRow.job_id == job.id, ToolResultRow.attempt == job.attempt
        )
    )
    return {row.benchmark: row for row in rows}
