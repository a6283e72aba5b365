"""Saving a file: atomically, mode 0600, never through a symlink or over a non-file.

A save writes a temporary file beside the target, syncs it and renames it over the
target, so a reader sees the old file or the new one, never half of one, and a save
that fails or is stopped leaves the target as it was. A target that exists must be a
regular file: a symlink is neither followed nor replaced, and a device, FIFO, socket
or folder is never replaced by a file (as root, a rename would replace a device node).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from workbench.core.errors import InputError

KINDS = {stat.S_IFDIR: "a folder", stat.S_IFCHR: "a character device",
         stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket"}


class SaveTargetError(InputError):
    """A save target that must not be written: one line saying why and what to do."""


def check_target(path: str | os.PathLike[str]) -> Path:
    """The target as a Path; SaveTargetError if a save must not write it."""
    raw = os.fspath(path)
    if not raw:
        raise SaveTargetError("no file name given: give one, e.g. session.json")
    target = Path(raw)
    if raw.endswith(("/", os.sep)) or target.name in ("", ".", ".."):
        raise SaveTargetError(f"cannot save to {raw}: it names a folder; give a file name "
                              "in it, e.g. session.json")
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return target
    except OSError:
        return target  # e.g. a parent that is a file: creating the temp file says why
    if stat.S_ISLNK(mode):
        raise SaveTargetError(f"cannot save to {raw}: it is a symbolic link, which a save "
                              "neither follows nor replaces; give the real path or a new name")
    if not stat.S_ISREG(mode):
        kind = KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise SaveTargetError(f"cannot save to {raw}: it is {kind}, not a regular file; "
                              "give the name of a new or regular file")
    return target


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A file to write that replaces `path` (mode 0600) when the block ends; if the block
    raises, the temporary file is removed and `path` is left as it was."""
    target = check_target(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)
            yield out
            out.flush()
            os.fsync(out.fileno())
        check_target(target)  # again, at the last moment: nothing was put there meanwhile
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_dir(target.parent)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` as the whole of `path`, atomically, mode 0600."""
    with atomic_file(path) as out:
        out.write(data)
    return Path(path)


def _sync_dir(directory: Path) -> None:
    """The rename itself survives a crash only once the folder is synced."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
