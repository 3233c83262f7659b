"""arena.common.private: folders 0700 and files 0600, fixing what was left open."""

import os
import stat
from pathlib import Path

from arena.common.private import make_private, private_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_new_folder_and_file_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o002)
    try:
        folder = tmp_path / "a" / "data"
        make_private(folder)
        database = private_file(folder / "arena.db")
    finally:
        os.umask(old)
    assert (mode(folder), mode(database), database.stat().st_size) == (0o700, 0o600, 0)
    database.write_bytes(b"kept")
    private_file(database)  # an existing file is left as it is
    assert database.read_bytes() == b"kept"


def test_an_open_folder_is_closed_one_level_deep(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    (folder / "tools" / "job").mkdir(parents=True)
    for path, bits in (
        (folder, 0o755),
        (folder / "tools", 0o775),
        (folder / "tools" / "job", 0o755),
    ):
        path.chmod(bits)
    spool = folder / "spool.db"
    spool.write_bytes(b"")
    spool.chmod(0o644)
    script = folder / "run.sh"
    script.write_bytes(b"")
    script.chmod(0o755)
    outside = tmp_path / "outside"
    outside.write_bytes(b"")
    outside.chmod(0o644)
    (folder / "link").symlink_to(outside)
    closed = make_private(folder)
    assert (mode(folder), mode(folder / "tools"), mode(spool), mode(script)) == (
        0o700,
        0o700,
        0o600,
        0o700,
    )
    assert mode(folder / "tools" / "job") == 0o755  # deeper: closed by its parent, not rewritten
    assert mode(outside) == 0o644  # a link is not followed out of the folder
    assert sorted(closed) == sorted([folder, folder / "tools", spool, script])
    assert make_private(folder) == []  # nothing left to close
