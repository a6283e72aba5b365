"""The byte log's file: opened safely, written with direct I/O where it helps, read back.

The log's file is never opened through a symlink and must be a regular file; a second
descriptor with O_DIRECT moves big aligned writes past the page cache. `free_space`
tells how much room the file's disk has left, for the capture's free-space floor.
"""

from __future__ import annotations

import errno
import os
import stat


def open_file(path: str, readonly: bool, exclusive: bool) -> int:
    """The log's file: never through a symlink, never a FIFO or device (O_NONBLOCK, so
    opening a FIFO cannot hang before the check)."""
    flags = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    flags |= os.O_RDONLY if readonly else os.O_RDWR | os.O_CREAT | (os.O_EXCL if exclusive else 0)
    fd = os.open(path, flags, 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", path)
    os.set_blocking(fd, True)
    return fd


def open_direct(path: str, same_as: int | None = None) -> int | None:
    """A second descriptor that bypasses the page cache: on this kind of machine,
    writes through the cache slow to a tenth once dirty pages pile up. By path, so
    only if the path still names the file `same_as` has open."""
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | flag)
    except OSError:
        return None  # e.g. tmpfs
    if same_as is not None and not os.path.samestat(os.fstat(fd), os.fstat(same_as)):
        os.close(fd)
        return None
    os.set_blocking(fd, True)
    return fd


def pwrite_all(fd: int, data: bytes | bytearray | memoryview, at: int) -> None:
    with memoryview(data) as view:
        while view:
            n = os.pwrite(fd, view, at)
            view, at = view[n:], at + n


def pread_all(fd: int, size: int, at: int) -> bytes:
    out = os.pread(fd, size, at)
    while len(out) < size:
        more = os.pread(fd, size - len(out), at + len(out))
        if not more:
            break
        out += more
    return out


def free_space(folder: str) -> int | None:
    """Bytes an unprivileged writer may still put on the disk holding `folder`."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize
