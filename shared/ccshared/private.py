"""Files only the service's own user may read: the embedded stores, mail and secrets.

They are private from the moment they exist (a mode given to `open`, a umask
for what libraries create), never made private afterwards with chmod, so there
is no instant in which another user on the machine could open them.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def restrict_new_files() -> None:
    """Whatever this process (and its children) create is its user's alone."""
    os.umask(UMASK)


def make_dir(path: str | os.PathLike) -> None:
    """The folder (and any missing parents) with mode 0700; an existing one is left as it is."""
    os.makedirs(path, mode=DIR_MODE, exist_ok=True)


def create_empty(path: str | os.PathLike) -> bool:
    """Create the file empty with mode 0600; False (and nothing opened) if it exists.

    O_EXCL, so an existing file is never opened: closing a descriptor of a SQLite
    database drops every lock this process holds on it.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def write_new(path: str | os.PathLike, data: bytes) -> None:
    """Write a file that must not exist yet (O_EXCL: no planted file or link is followed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def replace(path: str | os.PathLike, data: bytes) -> None:
    """Write the file whole, new or not: a private temporary file renamed over it."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        write_new(temporary, data)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
