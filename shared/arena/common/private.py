"""Folders and files only their owner may open: the controller's data directory (its database,
TLS key) and the agent's state directory (credential, signing key, the spool of results not yet
acknowledged). Folders are 0700, files 0600, whatever the umask or an older version left.
"""

import os
import stat
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

OWNER_ONLY = 0o700
"""The permission bits kept: the owner's."""


def restrict_new_files() -> None:
    """Every file and folder this process creates from now on is its owner's alone (umask 077);
    called first by the controller's and the agent's entry points."""
    os.umask(0o077)


def make_private(folder: Path) -> list[Path]:
    """Create ``folder`` (0700), or close it and what it holds to other users: an earlier
    version, a copy or a loose umask may have left them readable. Deeper entries are left as
    they are (a closed folder cannot be entered), so a data directory set to a home folder is
    not rewritten through. What it had to close is logged as a warning, and returned."""
    folder.mkdir(mode=OWNER_ONLY, parents=True, exist_ok=True)
    closed: list[Path] = []
    left: list[Path] = []
    for path in (folder, *folder.iterdir()):
        try:
            if _close(path):
                closed.append(path)
        except PermissionError:  # another user's file in our folder: say so, do not stop
            left.append(path)
    if closed:
        log.warning(
            "closed files other users could read",
            folder=str(folder),
            count=len(closed),
            paths=[str(path) for path in closed[:10]],
        )
    if left:
        log.warning(
            "other users can read these files and this user may not change that",
            folder=str(folder),
            paths=[str(path) for path in left[:10]],
        )
    return closed


def private_file(path: Path) -> Path:
    """``path``, created empty with mode 0600 when missing: SQLite gives its -wal and -shm
    files the mode of the database file."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    return path


def _close(path: Path) -> bool:
    """Drop the group's and others' bits of ``path``; whether there were any."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return False  # chmod would follow it out of the folder
    mode = stat.S_IMODE(info.st_mode)
    if not mode & ~OWNER_ONLY:
        return False
    path.chmod(mode & OWNER_ONLY)
    return True
