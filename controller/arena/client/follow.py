"""``arenactl logs -f``: print a job's engine log as it grows, until the job ends.

Each poll asks only for the current attempt's lines numbered past the last one printed; a new
attempt numbers its lines from 1 again, so its first poll starts from the beginning.
"""

import time
from collections.abc import Callable

from arena.client.api import ArenaClient, JobInfo


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
    job = client.job(job_id).job
    page = client.log_page(job_id, tail=tail)
    attempt, last_seq = page.attempt, 0
    while True:
        if page.attempt != attempt:
            if attempt > 0:  # attempt 0 is a queued job that has not run yet
                note(f"--- attempt {page.attempt} ---")
            page = client.log_page(job_id)  # the new attempt from its first line
            attempt, last_seq = page.attempt, 0
        for line in page.lines:
            echo(line.text)
            last_seq = line.seq
        if job.state.terminal and not page.lines:  # ended, and every page read
            return job
        if not page.lines:
            time.sleep(interval_s)
        job = client.job(job_id).job  # read before the page, so a final page is printed
        page = client.log_page(job_id, after_seq=last_seq)
