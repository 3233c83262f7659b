"""``arenactl logs -f``: print a job's engine log as it grows, until the job ends.

The controller serves whole pages of the current attempt, so each poll prints only the lines
past those already printed; a new attempt starts a new page.
"""

import time
from collections.abc import Callable

from arena.client.api import ArenaClient, JobInfo

FINISHED = ("succeeded", "failed", "cancelled")


def _job(client: ArenaClient, run_id: str, job_id: str) -> JobInfo:
    return next(job for job in client.run(run_id).jobs if job.job_id == job_id)


def follow_logs(
    client: ArenaClient,
    job_id: str,
    echo: Callable[[str], None],
    note: Callable[[str], None],
    *,
    tail: int = 0,
    interval_s: float = 1.0,
) -> JobInfo:
    """Print new lines with ``echo`` (attempt changes with ``note``); returns the ended job."""
    run_id, job = client.job(job_id)
    attempt, printed = None, 0
    while True:
        ended = job.state in FINISHED  # read before the page, so its last lines are printed
        current, lines = client.log_page(job_id)
        if attempt is None:
            printed = max(0, len(lines) - tail) if tail else 0
        elif current != attempt:
            if attempt > 0:  # attempt 0 is a queued job that has not run yet
                note(f"--- attempt {current} ---")
            printed = 0
        attempt = current
        for line in lines[printed:]:
            echo(line)
        printed = max(printed, len(lines))
        if ended:
            return job
        time.sleep(interval_s)
        job = _job(client, run_id, job_id)
