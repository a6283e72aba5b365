"""The byte log's in-memory ring: made, and its pages made ready before a flood needs them.

A page of fresh anonymous memory costs the kernel a fault and a zeroing the first time
it is written. Inside a receive that is about 2.5 µs a page here: a flood's first
96 MiB, written into an untouched ring, came at 2 GB/s where the rest came at 4.6.
`populate` asks the kernel for every page at once (MADV_POPULATE_WRITE, Linux 5.14),
on a thread of its own and without the interpreter's lock, so the ring is ready by the
time a socket that was just opened receives anything.
"""

from __future__ import annotations

import contextlib
import mmap
import sys

MADV_POPULATE_WRITE = 23  # linux/mman.h; Python's mmap module does not name it

_PRIVATE = getattr(mmap, "MAP_PRIVATE", 0) | getattr(mmap, "MAP_ANONYMOUS", 0)


def make_ring(size: int, huge: bool) -> mmap.mmap:
    """Private anonymous memory (the kernel fills it in half the time shared memory
    takes), left out of child processes so a fork never turns its pages copy-on-write.
    `huge` (lossless): in huge pages where the kernel gives them on request, so the
    writer pins 2 MiB pages instead of 4 KiB ones for its direct writes, and storage
    takes a flood about 30% faster. Keeping up, it stays on small pages: the faster
    writer would take CPU the stream needs (it kept more but received 10-15% slower),
    and there the stream comes first."""
    if not _PRIVATE:
        return mmap.mmap(-1, size)
    ring = mmap.mmap(-1, size, flags=_PRIVATE)
    for advice, wanted in ((getattr(mmap, "MADV_DONTFORK", None), True),
                           (getattr(mmap, "MADV_HUGEPAGE", None), huge)):
        if advice is not None and wanted:
            with contextlib.suppress(OSError):
                ring.madvise(advice)
    return ring


def populate(ring: mmap.mmap) -> bool:
    """Fault every page of `ring` in now, its content unchanged; False where the kernel
    or the platform cannot (the pages then come as they are first written)."""
    if not sys.platform.startswith("linux"):  # the advice's number is Linux's own
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)  # a foreign call lets go of the lock
        libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        return libc.madvise(address_of(ring), len(ring), MADV_POPULATE_WRITE) == 0
    except (OSError, AttributeError, ValueError, TypeError, BufferError):
        return False


def address_of(ring: mmap.mmap) -> int:
    """Where the ring starts in memory (for the kernel, and for /proc/self/smaps)."""
    import ctypes

    anchor = ctypes.c_char.from_buffer(ring)
    try:
        return ctypes.addressof(anchor)
    finally:
        del anchor  # the ring's buffer is released: it may be closed again
