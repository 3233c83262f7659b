"""Nothing an engine started outlives it, even what left the engine's process group.

An engine can start a process in a session of its own (``setsid``) that ``killpg`` misses;
left running as the engine's user, it could read the next engine's environment, signal it or
load its GPU. The agent makes itself a child subreaper at start (Linux), so such orphans are
re-parented to the agent rather than to init; when an engine stops, the agent stops every child
of its own that runs as the engine's user, with everything under it, and reaps exactly those.
The agent's other children (tools, load generators) run as the agent's user and are left alone.
"""

import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

PR_SET_CHILD_SUBREAPER = 36
PROC = Path("/proc")
ROUNDS = 50
"""Kill-and-rescan rounds before giving up on processes that keep appearing."""
ROUND_PAUSE_S = 0.02


@dataclass(frozen=True)
class ProcessEntry:
    pid: int
    ppid: int
    uids: tuple[int, ...]
    """Real, effective, saved and filesystem uids."""


def become_subreaper() -> bool:
    """Adopt the orphans of this process's descendants; False where the kernel cannot."""
    if not sys.platform.startswith("linux"):
        log.warning("not Linux: processes an engine detaches may outlive it")
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        log.warning(
            "cannot become a child subreaper: processes an engine detaches may outlive it",
            error=os.strerror(error),
        )
        return False
    return True


def process_table() -> Iterator[ProcessEntry]:
    """Every process /proc shows now; ones that end while being read are skipped."""
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        try:
            ppid = int(fields["PPid"])
            uids = tuple(int(uid) for uid in fields["Uid"].split())
        except (KeyError, ValueError):
            continue
        yield ProcessEntry(int(entry.name), ppid, uids)


def leftovers(uid: int, parent: int) -> tuple[set[int], set[int]]:
    """The children of ``parent`` running as ``uid``, and all of those and their descendants."""
    table = list(process_table())
    roots = {entry.pid for entry in table if entry.ppid == parent and uid in entry.uids}
    found = set(roots)
    grew = True
    while grew:
        below = {entry.pid for entry in table if entry.ppid in found} - found
        found |= below
        grew = bool(below)
    return roots, found


def kill_leftovers(
    uid: int, waited_elsewhere: frozenset[int] = frozenset(), rounds: int = ROUNDS
) -> list[int]:
    """Stop every child of this process running as ``uid`` with all it started; reap them.

    Each round freezes what it finds (SIGSTOP: a stopped process forks no more), kills it,
    and reaps the ones that are this process's own children; their children are then this
    process's (a subreaper's) in turn, for the next round. Only those pids are waited for, so
    the exit status of a child asyncio or multiprocessing watches is never taken from them;
    ``waited_elsewhere`` (the engine's own pid) is killed but left to its watcher to reap.
    Returns the pids killed, in order.
    """
    me = os.getpid()
    killed: list[int] = []
    for _ in range(rounds):
        roots, found = leftovers(uid, me)
        if not found - waited_elsewhere:
            return killed
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in found:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        killed.extend(sorted(found - set(killed)))
        for pid in roots - waited_elsewhere:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        time.sleep(ROUND_PAUSE_S)
    _, found = leftovers(uid, me)
    if found - waited_elsewhere:
        log.error("processes of an engine are still running", user=uid, pids=sorted(found))
    return killed
