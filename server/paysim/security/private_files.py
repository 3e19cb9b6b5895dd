"""Owner-only files and directories for what paysim keeps on disk: the data directory, the SQLite
database with the side files SQLite keeps beside it, and the key files.

What paysim creates is created owner-only (directories 0700, files 0600), whatever the umask. A
file of paysim's found readable by others (made by an older version, or copied in) is tightened
to its owner, with a warning. An existing directory is left as it is, with a warning when others
can list it: it may be a directory the user chose that holds other things too, and the files in
it that matter are owner-only either way.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("paysim.security")

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
# SQLite gives these the database file's own mode when it creates them.
SQLITE_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")

_warned: set[Path] = set()  # directories already reported by this process


def private_directory(path: Path, *, warn_if_shared: bool) -> None:
    """Create ``path`` (and missing parents) with mode 0700 for the last component; if it exists
    and ``warn_if_shared``, warn once per process when other users may enter it."""
    try:
        path.mkdir(mode=DIRECTORY_MODE, parents=True)
    except FileExistsError:
        if warn_if_shared:
            _warn_if_shared(path)
        return
    os.chmod(path, DIRECTORY_MODE)  # exactly, whatever the umask took away


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists; tighten it if it does."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        restrict_to_owner(path)
        return
    os.close(fd)
    os.chmod(path, FILE_MODE)


def restrict_to_owner(path: Path) -> None:
    """Take every permission of group and others away from an existing file."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if not mode & 0o077:
        return
    try:
        os.chmod(path, mode & 0o700)
    except PermissionError:
        log.warning(
            "file readable by other users, and not ours to change",
            extra={"fields": {"path": str(path), "mode": f"{mode:04o}"}},
        )
        return
    log.warning(
        "file was readable by other users: now by its owner only",
        extra={"fields": {"path": str(path), "was": f"{mode:04o}", "now": f"{mode & 0o700:04o}"}},
    )


def private_sqlite_database(database: Path) -> None:
    """The SQLite file and its directory, owner-only before SQLite first opens them: SQLite creates
    the file with the umask's mode (0644), but gives its -wal and -shm files the database's."""
    private_directory(database.parent, warn_if_shared=False)
    private_file(database)
    for suffix in SQLITE_SIDE_SUFFIXES:
        restrict_to_owner(database.with_name(database.name + suffix))


def _warn_if_shared(path: Path) -> None:
    resolved = path.resolve()
    if resolved in _warned:
        return
    mode = stat.S_IMODE(resolved.stat().st_mode)
    if mode & 0o077:
        _warned.add(resolved)
        log.warning(
            "data directory accessible to other users; its files are owner-only, "
            f"`chmod 700 {path}` hides their names too",
            extra={"fields": {"path": str(path), "mode": f"{mode:04o}"}},
        )
