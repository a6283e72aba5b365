"""Where captured bytes live: an append-only byte log and a per-socket chunk index.

Memory stays bounded however long the stream: new bytes land in a fixed in-memory
ring, and a writer thread moves them to a file (a journal's data file, or an unlinked
temporary file), so a viewer reads back with pread only what it draws.

Storage can be slower than loopback (page cache and disk here run at a fraction of
what a socket delivers), so the log has two ways to behave when the ring is full:
keep up (an append marked droppable is not kept and says so, the stream is never
slowed) or lossless (the appender waits for the writer: back-pressure). Counters and
offsets stay exact either way; a chunk that was not kept is a gap, never zeros.

Disk stays bounded too: received bytes (what a peer can flood us with) count against a
budget, and none are kept while the disk's free space is under a floor. The budget
keeps the head of the stream, which replay compares; past it the capture goes on
counting and records gaps that say why. Sent bytes are the session's own payloads,
which replay sends again: they are always kept.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable

from workbench.core.steps import NOT_KEPT
from workbench.io.capture_files import (
    free_space,
    open_direct,
    open_file,
    pread_all,
    pwrite_all,
)
from workbench.io.capture_store import IN, OUT, CaptureStore, Chunk, NotKeptError
from workbench.io.ring import make_ring, populate

__all__ = ["DIRECT_MIN", "IN", "OUT", "RING_SIZE", "ByteLog", "CaptureStore", "Chunk",
           "NotKeptError"]

RING_SIZE = 96 << 20  # the most unwritten bytes held in memory (most of the app's peak RSS)
SPILL_THRESHOLD = 16 << 20  # without a path: bytes stay in memory up to this much
PAGE = 4096  # O_DIRECT alignment of offsets, lengths and memory
DIRECT_MIN = 1 << 20  # smaller writes go through the page cache
WRITE_BLOCK = 8 << 20  # one write's most bytes, so the ring frees up steadily
IDLE_EXIT = 5.0  # seconds an idle writer thread lingers before it ends
SPACE_CHECK = 64 << 20  # received bytes between two looks at the disk's free space
RESERVE_MIN = 64 << 10  # keeping up, a receive into the ring needs at least this room
WRITER_NICE = 10  # keeping up, how far the writer thread stands back (see `_stand_back`)


class ByteLog:
    """Append-only bytes shared by every socket of an engine. Thread-safe.

    `append` copies into the ring and returns the bytes' position; the writer thread
    moves them to the file (at once with a path, past `spill_threshold` without one).
    Received bytes go through `keep` (a copy) or `reserve`/`commit` (a receive straight
    into the ring), which hold them to `budget` and `floor`. `read` answers from the
    file and the ring alike. `when_durable` runs a callback once bytes are in the file:
    the journal writes a step only after its bytes.
    """

    def __init__(self, path: str | None = None, spill_threshold: int = SPILL_THRESHOLD,
                 ring_size: int = RING_SIZE, lossless: bool = False, readonly: bool = False,
                 exclusive: bool = False) -> None:
        """With a path: the file opened without following a symlink, and refused unless
        it is a regular file. `readonly`: an existing file, only read (a sidecar, a
        journal being recovered); `exclusive`: a new file, never one already there."""
        self._cond = threading.Condition()
        self.path = path
        self.lossless = lossless
        self.lost = 0  # bytes appended as droppable and not kept
        self._ring_size = max(PAGE, -(-max(ring_size, spill_threshold + 1) // PAGE) * PAGE)
        self._ring: mmap.mmap | None = None  # made on first append, or by `prepare`
        self._preparing: threading.Thread | None = None
        self._fd: int | None = None
        self._direct: int | None = None  # the same file with O_DIRECT, where allowed
        self._head = self._tail = 0  # appended up to; in the file up to
        self._flush_to = 0
        self._threshold = spill_threshold if path is None else 0
        self._writer: threading.Thread | None = None
        self._waiters: list[tuple[int, Callable[[], None]]] = []
        self._error: OSError | None = None
        self._closed = False
        self.readonly = readonly
        if path is not None:
            self._fd = open_file(path, readonly, exclusive)
            self._head = self._tail = os.fstat(self._fd).st_size
        self._direct_tried = False  # a path's O_DIRECT descriptor opens on the first big write
        self.budget: int | None = None  # received bytes it may keep; None: no budget
        self.floor = 0  # free bytes on the file's disk under which nothing received is kept
        self.kept_received = 0
        self.full = ""  # why received bytes are not kept now: "", "budget" or "disk"
        self._reserved = False  # a receive into the ring is under way at `_head`
        self._offered = 0  # received bytes offered, kept or not
        self._space: tuple[int, int] | None = None  # (_offered, free bytes) at the last look

    def __len__(self) -> int:
        return self._head

    @property
    def in_memory(self) -> int:
        """Bytes appended but not yet in the file."""
        return self._head - self._tail

    @property
    def durable(self) -> int:
        """Every position below this is in the file."""
        return self._tail

    def append(self, data: bytes | bytearray | memoryview, droppable: bool = False) -> int:
        """The position of `data`, or NOT_KEPT if it was droppable and the ring was full."""
        if self.readonly:
            raise ValueError("append to a read-only byte log")
        with self._cond:
            return self._append(data, droppable)

    def keep(self, data: bytes | bytearray | memoryview, droppable: bool = False
             ) -> tuple[int, str]:
        """Received bytes: (position, "") or (NOT_KEPT, why: "budget", "disk", "storage")."""
        n = len(data)
        if self.readonly:
            raise ValueError("append to a read-only byte log")
        with self._cond:
            self._check_open()
            self._offered += n
            why = self._refusal(n)
            if why:
                self.lost += n
                return NOT_KEPT, why
            self.kept_received += n  # before any wait, so no other receive takes it meanwhile
            pos = self._append(data, droppable)
            if pos == NOT_KEPT:
                self.kept_received -= n
                return NOT_KEPT, "storage"
            return pos, ""

    def refuse(self, size: int) -> None:
        """Received bytes dropped unkept because the log is full (see `full`): counted."""
        with self._cond:
            self._offered += size
            self.lost += size

    def prepare(self) -> None:
        """Make the ring now and have the kernel give it all its pages on a thread of its
        own, so that a flood does not pay for them as it comes (see `ring`). Once: what
        a session that opens sockets is likely to need soon."""
        with self._cond:
            if self._ring is not None or self._closed or self.readonly:
                return
            try:
                self._ring = make_ring(self._ring_size, self.lossless)
            except OSError:  # no memory for it now: the first bytes to keep try again
                return
            preparing = threading.Thread(target=populate, args=(self._ring,),
                                         name="byte log ring", daemon=True)
            with contextlib.suppress(RuntimeError):  # no thread: pages come as written
                preparing.start()
                self._preparing = preparing

    def reserve(self, size: int) -> tuple[int, memoryview] | None:
        """Room in the ring to receive up to `size` bytes straight into: (position, view),
        or None when they would not be kept (budget, disk, a full ring while keeping up,
        another receive under way). `commit` says how much arrived; until then every
        other append waits, so keep the reservation for one drain only."""
        with self._cond:
            self._check_open()
            if self._reserved or self._error is not None or self.readonly:
                return None
            if self.budget is not None:
                size = min(size, self.budget - self.kept_received)
            if size <= 0 or self._refusal(size):
                return None
            want = min(size, self._ring_size - self._head % self._ring_size)
            while (room := self._ring_size - (self._head - self._tail)) < want:
                if not self.lossless:
                    if room < RESERVE_MIN:
                        return None
                    want = room
                    break
                self._wake_writer()
                self._cond.wait(0.5)
                self._check_open()
                if self._reserved or self._error is not None:
                    return None
            if self._ring is None:
                self._ring = make_ring(self._ring_size, self.lossless)
            self._reserved = True
            at = self._head % self._ring_size
            return self._head, memoryview(self._ring)[at:at + want]

    def commit(self, size: int) -> None:
        """`size` bytes arrived in the reserved room (the caller has released its view)."""
        with self._cond:
            self._reserved = False
            self._head += size
            self._offered += size
            self.kept_received += size
            if self._head - self._tail > self._threshold:
                self._wake_writer()
            self._cond.notify_all()

    def read(self, at: int, size: int) -> bytes:
        with self._cond:
            if self._closed:  # never answer b"" for bytes that were recorded
                raise ValueError("read from a closed byte log")
            size = max(0, min(size, self._head - at))
            from_file = max(0, min(size, self._tail - at))
            in_ring = self._copy_out(at + from_file, size - from_file) if size > from_file else b""
        if not from_file:
            return in_ring
        return pread_all(self._fd, from_file, at) + in_ring  # type: ignore[arg-type]

    def when_durable(self, end: int, callback: Callable[[], None]) -> None:
        """Call `callback` (now, or later on the writer thread) once [0, end) is in the file."""
        with self._cond:
            if self._tail < end:
                self._waiters.append((end, callback))
                self._flush_to = max(self._flush_to, end)
                self._wake_writer()
                return
        callback()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every appended byte is in the file; False on timeout or error."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flush_to = max(self._flush_to, self._head)
            target = self._flush_to
            while self._tail < target and self._error is None and not self._closed:
                self._wake_writer()
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return self._tail >= target

    def close(self) -> None:
        if self._closed:
            return
        self.flush()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            writer = self._writer
        if writer is not None and writer is not threading.current_thread():
            writer.join(5.0)
        if self._preparing is not None:  # the ring is not unmapped under the kernel's fill
            self._preparing.join()
        for fd in (self._fd, self._direct):
            if fd is not None:
                os.close(fd)
        self._fd = self._direct = None
        if self._ring is not None:
            with contextlib.suppress(BufferError):  # a reader's view still open: GC frees it
                self._ring.close()

    # -- inside the lock ---------------------------------------------------------------

    def _append(self, data: bytes | bytearray | memoryview, droppable: bool) -> int:
        n = len(data)
        while True:
            self._check_open()
            if self._reserved:  # a receive into the ring owns the bytes at `_head`
                self._cond.wait(0.5)
                continue
            if self._error is not None or n > self._ring_size:
                if droppable and not self.lossless:
                    self.lost += n
                    return NOT_KEPT
                return self._append_through(data)
            if self._head + n - self._tail <= self._ring_size:
                break
            if droppable and not self.lossless:
                self.lost += n
                return NOT_KEPT
            self._wake_writer()
            self._cond.wait(0.5)
        pos = self._head
        self._copy_in(pos, data)
        self._head += n
        if self._head - self._tail > self._threshold:
            self._wake_writer()
        return pos

    def _refusal(self, n: int) -> str:
        """Why `n` more received bytes may not be kept ("budget", "disk"), or ""."""
        over = self.budget is not None and self.kept_received + n > self.budget
        if over or self.full == "budget":
            self.full = "budget"  # the head is kept: once full, nothing later is
            return "budget"
        if self.floor:
            self.full = "disk" if self._space_left() - n < self.floor else ""
        return self.full

    def _space_left(self) -> int:
        """The disk's free bytes less what may have been written since the last look;
        a look (statvfs) every SPACE_CHECK received bytes, never per append."""
        if self._space is None or self._offered - self._space[0] >= SPACE_CHECK:
            folder = os.path.dirname(os.path.abspath(self.path)) if self.path else (
                tempfile.gettempdir())
            free = free_space(folder)
            self._space = (self._offered, free if free is not None else 1 << 62)
        return self._space[1] - (self._offered - self._space[0]) - self.in_memory

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("append to a closed byte log")

    def _wake_writer(self) -> None:
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, name="capture-writer",
                                            daemon=True)
            self._writer.start()
        self._cond.notify_all()

    def _copy_in(self, pos: int, data: bytes | bytearray | memoryview) -> None:
        if self._ring is None:
            self._ring = make_ring(self._ring_size, self.lossless)
        at, n = pos % self._ring_size, len(data)
        if type(data) is bytes and at + n <= self._ring_size:
            self._ring[at:at + n] = data  # a datagram: no view made per copy
            return
        with memoryview(data) as src, memoryview(self._ring) as ring:
            src = src.cast("B") if src.format != "B" or src.ndim != 1 else src
            n = len(src)
            first = min(n, self._ring_size - at)
            ring[at:at + first] = src[:first]
            ring[:n - first] = src[first:]

    def _copy_out(self, pos: int, size: int) -> bytes:
        assert self._ring is not None
        at = pos % self._ring_size
        first = min(size, self._ring_size - at)
        return self._ring[at:at + first] + self._ring[:size - first]

    def _append_through(self, data: bytes | bytearray | memoryview) -> int:
        """Bigger than the ring: once the ring is empty, straight to the file."""
        self._flush_to = self._head
        while self._tail < self._head or self._reserved:
            if self._error is not None:
                raise self._error
            self._wake_writer()
            self._cond.wait(0.5)
            self._check_open()
        self._ensure_file()
        pos = self._head
        pwrite_all(self._fd, data, pos)  # type: ignore[arg-type]
        self._head = self._tail = self._flush_to = pos + len(data)
        self._run_due()
        return pos

    def _ensure_file(self) -> None:
        if self._fd is not None:
            return
        fd, name = tempfile.mkstemp(prefix="workbench-capture-")
        self._direct, self._direct_tried = open_direct(name), True
        os.unlink(name)  # nothing left behind, whatever happens to the process
        self._fd = fd

    def _run_due(self) -> None:
        due = [cb for end, cb in self._waiters if end <= self._tail]
        self._waiters = [(end, cb) for end, cb in self._waiters if end > self._tail]
        for callback in due:  # the journal's: quick, and takes no lock of ours
            callback()

    # -- the writer thread --------------------------------------------------------------

    def _write_loop(self) -> None:
        if not self.lossless:
            _stand_back()
        while True:
            with self._cond:
                while not self._closed and not self._want_write():
                    if not self._cond.wait(IDLE_EXIT) and not self._want_write():
                        self._writer = None  # idle: end, a new one starts when needed
                        return
                if not self._want_write():
                    self._writer = None
                    return
                start, end = self._tail, min(self._head, self._tail + WRITE_BLOCK)
                self._ensure_file()
            try:
                self._write_range(start, end)
            except OSError as exc:
                with self._cond:
                    self._error, self._writer = exc, None
                    self._cond.notify_all()
                return
            with self._cond:
                self._tail = end
                self._run_due()
                self._cond.notify_all()

    def _want_write(self) -> bool:
        pending = self._head - self._tail
        return pending > 0 and (pending > self._threshold or self._flush_to > self._tail)

    def _write_range(self, start: int, end: int) -> None:
        """[start, end) from the ring to the file; no appender touches those bytes."""
        assert self._ring is not None and self._fd is not None
        size = self._ring_size
        with memoryview(self._ring) as ring:
            while start < end:
                stop = min(end, start - start % size + size)  # not past the ring's end
                lo, hi = -(-start // PAGE) * PAGE, stop // PAGE * PAGE
                if hi - lo >= DIRECT_MIN and not self._direct_tried and self.path:
                    self._direct, self._direct_tried = open_direct(self.path, self._fd), True
                if self._direct is None or hi - lo < DIRECT_MIN:
                    lo = hi = stop
                for a, b, direct in ((start, lo, False), (lo, hi, True), (hi, stop, False)):
                    if b > a:
                        self._write_piece(ring[a % size:a % size + b - a], a, direct)
                start = stop

    def _write_piece(self, piece: memoryview, at: int, direct: bool) -> None:
        if direct and self._direct is not None:
            try:
                pwrite_all(self._direct, piece, at)
                return
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                os.close(self._direct)  # the file system takes no direct I/O after all
                self._direct = None
        pwrite_all(self._fd, piece, at)  # type: ignore[arg-type]


def _stand_back() -> None:
    """Keeping up, the writer thread runs at a lower priority (nice +WRITER_NICE, this
    thread alone, on Linux): where CPUs are short in a flood, the receiving threads,
    the screen and the sender come first, and the writer keeps what they leave. A
    thread may not take its priority back unprivileged, so a writer started while
    keeping up stays behind until it ends (idle for IDLE_EXIT seconds)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            base = os.getpriority(os.PRIO_PROCESS, os.getpid())  # the main thread's
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), base + WRITER_NICE)
