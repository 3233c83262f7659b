"""Who submitted each run: a submitter cancels only its own; an admin cancels any."""

from sqlmodel import Session

from arena.common.errors import PermissionDeniedError
from arena.common.schemas.suite import ResolvedSuite
from arena.common.schemas.user import Role
from arena.controller.store import runs as run_store
from arena.controller.store.credentials import Principal
from arena.controller.store.models import RunOwnerRow


def submit_owned(
    session: Session,
    owner: str,
    resolved: ResolvedSuite,
    source_yaml: str,
    filename: str,
    now: float,
) -> tuple[str, list[str]]:
    run_id, job_ids = run_store.submit_run(session, resolved, source_yaml, filename, now)
    session.add(RunOwnerRow(run_id=run_id, owner=owner))
    return run_id, job_ids


def cancel_as(session: Session, who: Principal, run_id: str, now: float) -> int:
    run_store.get_run(session, run_id)  # an unknown run is NOT_FOUND for everyone
    if who.role != Role.ADMIN:
        owned = session.get(RunOwnerRow, run_id)
        if owned is None or owned.owner != who.name:
            raise PermissionDeniedError(f"run {run_id} was not submitted by {who.name!r}")
    return run_store.cancel_run(session, run_id, now)
