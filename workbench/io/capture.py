"""Where captured bytes live: an append-only byte log and a per-socket chunk index.

Memory stays bounded however long the stream: new bytes land in a fixed in-memory
ring, and a writer thread moves them to a file (a journal's data file, or an unlinked
temporary file), so a viewer reads back with pread only what it draws.

Storage can be slower than loopback (page cache and disk here run at a fraction of
what a socket delivers), so the log has two ways to behave when the ring is full:
keep up (an append marked droppable is not kept and says so, the stream is never
slowed) or lossless (the appender waits for the writer: back-pressure). Counters and
offsets stay exact either way; a chunk that was not kept is a gap, never zeros.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import stat
import tempfile
import threading
import time
from array import array
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from workbench.core.capture_rows import NewChunks
from workbench.core.steps import NOT_KEPT

RING_SIZE = 128 << 20  # the most unwritten bytes held in memory
SPILL_THRESHOLD = 16 << 20  # without a path: bytes stay in memory up to this much
PAGE = 4096  # O_DIRECT alignment of offsets, lengths and memory
DIRECT_MIN = 1 << 20  # smaller writes go through the page cache
WRITE_BLOCK = 8 << 20  # one write's most bytes, so the ring frees up steadily
IDLE_EXIT = 5.0  # seconds an idle writer thread lingers before it ends
IN, OUT = 0, 1  # directions: bytes received, bytes sent


class ByteLog:
    """Append-only bytes shared by every socket of an engine. Thread-safe.

    `append` copies into the ring and returns the bytes' position; the writer thread
    moves them to the file (at once with a path, past `spill_threshold` without one).
    `read` answers from the file and the ring alike. `when_durable` runs a callback
    once bytes are in the file: the journal writes a step only after its bytes.
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
        self._ring: mmap.mmap | None = None  # made on first append
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
            self._fd = _open_file(path, readonly, exclusive)
            self._head = self._tail = os.fstat(self._fd).st_size
        self._direct_tried = False  # a path's O_DIRECT descriptor opens on the first big write

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
        n = len(data)
        if self.readonly:
            raise ValueError("append to a read-only byte log")
        with self._cond:
            self._check_open()
            if self._error is not None or n > self._ring_size:
                if droppable and not self.lossless:
                    self.lost += n
                    return NOT_KEPT
                return self._append_through(data)
            while self._head + n - self._tail > self._ring_size:
                if droppable and not self.lossless:
                    self.lost += n
                    return NOT_KEPT
                self._wake_writer()
                self._cond.wait(0.5)
                self._check_open()
            pos = self._head
            self._copy_in(pos, data)
            self._head += n
            if self._head - self._tail > self._threshold:
                self._wake_writer()
            return pos

    def read(self, at: int, size: int) -> bytes:
        with self._cond:
            if self._closed:  # never answer b"" for bytes that were recorded
                raise ValueError("read from a closed byte log")
            size = max(0, min(size, self._head - at))
            from_file = max(0, min(size, self._tail - at))
            in_ring = self._copy_out(at + from_file, size - from_file) if size > from_file else b""
        if not from_file:
            return in_ring
        return _pread_all(self._fd, from_file, at) + in_ring  # type: ignore[arg-type]

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
        for fd in (self._fd, self._direct):
            if fd is not None:
                os.close(fd)
        self._fd = self._direct = None
        if self._ring is not None:
            with contextlib.suppress(BufferError):  # a reader's view still open: GC frees it
                self._ring.close()

    # -- inside the lock ---------------------------------------------------------------

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
            self._ring = mmap.mmap(-1, self._ring_size)
        with memoryview(data) as src, memoryview(self._ring) as ring:
            src = src.cast("B") if src.format != "B" or src.ndim != 1 else src
            at, n = pos % self._ring_size, len(src)
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
        while self._tail < self._head:
            if self._error is not None:
                raise self._error
            self._wake_writer()
            self._cond.wait(0.5)
            self._check_open()
        self._ensure_file()
        pos = self._head
        _pwrite_all(self._fd, data, pos)  # type: ignore[arg-type]
        self._head = self._tail = self._flush_to = pos + len(data)
        self._run_due()
        return pos

    def _ensure_file(self) -> None:
        if self._fd is not None:
            return
        fd, name = tempfile.mkstemp(prefix="workbench-capture-")
        self._direct, self._direct_tried = _open_direct(name), True
        os.unlink(name)  # nothing left behind, whatever happens to the process
        self._fd = fd

    def _run_due(self) -> None:
        due = [cb for end, cb in self._waiters if end <= self._tail]
        self._waiters = [(end, cb) for end, cb in self._waiters if end > self._tail]
        for callback in due:  # the journal's: quick, and takes no lock of ours
            callback()

    # -- the writer thread --------------------------------------------------------------

    def _write_loop(self) -> None:
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
                    self._direct, self._direct_tried = _open_direct(self.path, self._fd), True
                if self._direct is None or hi - lo < DIRECT_MIN:
                    lo = hi = stop
                for a, b, direct in ((start, lo, False), (lo, hi, True), (hi, stop, False)):
                    if b > a:
                        self._write_piece(ring[a % size:a % size + b - a], a, direct)
                start = stop

    def _write_piece(self, piece: memoryview, at: int, direct: bool) -> None:
        if direct and self._direct is not None:
            try:
                _pwrite_all(self._direct, piece, at)
                return
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                os.close(self._direct)  # the file system takes no direct I/O after all
                self._direct = None
        _pwrite_all(self._fd, piece, at)  # type: ignore[arg-type]


def _open_file(path: str, readonly: bool, exclusive: bool) -> int:
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


def _open_direct(path: str, same_as: int | None = None) -> int | None:
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


def _pwrite_all(fd: int, data: bytes | bytearray | memoryview, at: int) -> None:
    with memoryview(data) as view:
        while view:
            n = os.pwrite(fd, view, at)
            view, at = view[n:], at + n


def _pread_all(fd: int, size: int, at: int) -> bytes:
    out = os.pread(fd, size, at)
    while len(out) < size:
        more = os.pread(fd, size - len(out), at + len(out))
        if not more:
            break
        out += more
    return out


@dataclass(frozen=True)
class Chunk:
    t: float
    direction: int
    offset: int  # cumulative offset within its direction, like socat's from=/to=
    size: int
    pos: int  # where the bytes sit in the byte log; NOT_KEPT if they were not kept
    peer: str

    @property
    def kept(self) -> bool:
        return self.pos != NOT_KEPT


class NotKeptError(ValueError):
    """A read reached bytes that passed through but were not kept."""

    def __init__(self, direction: int, offset: int, size: int) -> None:
        name = "received" if direction == IN else "sent"
        super().__init__(f"{size} {name} bytes at offset {offset} were not kept: storage "
                         "fell behind the stream (capture them losslessly to keep them)")
        self.offset, self.size = offset, size


class CaptureStore:
    """Every chunk one socket sent or received, indexed compactly.

    The index is a set of typed arrays rather than objects, so a flood of tiny
    datagrams costs tens of bytes per chunk, not hundreds.
    """

    def __init__(self, log: ByteLog) -> None:
        self.log = log
        self._lock = threading.Lock()
        self._t = array("d")
        self._dir = array("b")
        self._off = array("q")
        self._size = array("q")
        self._pos = array("q")
        self._peer = array("i")
        self._peers: list[str] = [""]
        self._peer_ids: dict[str, int] = {"": 0}
        self.totals = [0, 0]
        self.lost = [0, 0]  # bytes per direction that passed but were not kept
        # Per direction: chunk numbers and their offsets, so lookups bisect one direction.
        self._by_dir: tuple[array, array] = (array("q"), array("q"))
        self._dir_off: tuple[array, array] = (array("q"), array("q"))

    def __len__(self) -> int:
        return len(self._t)

    def append(self, direction: int, data: bytes | memoryview, t: float, peer: str = "",
               droppable: bool = False) -> Chunk:
        return self.note(direction, self.log.append(data, droppable), len(data), t, peer)

    def note(self, direction: int, pos: int, size: int, t: float, peer: str = "") -> Chunk:
        """Index `size` bytes already in the byte log at `pos` (or NOT_KEPT): a big send
        is put in the log once, and its chunks point into it."""
        with self._lock:
            if pos == NOT_KEPT:
                self.lost[direction] += size
            pid = self._peer_ids.setdefault(peer, len(self._peers))
            if pid == len(self._peers):
                self._peers.append(peer)
            offset = self.totals[direction]
            self._by_dir[direction].append(len(self._t))
            self._dir_off[direction].append(offset)
            for arr, value in ((self._t, t), (self._dir, direction), (self._off, offset),
                               (self._size, size), (self._pos, pos), (self._peer, pid)):
                arr.append(value)
            self.totals[direction] += size
        return Chunk(t, direction, offset, size, pos, peer)

    def index_since(self, start: int) -> NewChunks | None:
        """A copy of the index from chunk `start` on (None if nothing is new). Copies, so
        no buffer export pins the arrays the engine thread keeps appending to."""
        with self._lock:  # the six arrays grow one after the other inside this lock
            end = len(self._peer)
            if end <= start:
                return None
            cols = [self._t, self._dir, self._off, self._size, self._pos, self._peer]
            copies = [np.frombuffer(col[start:end], dtype=col.typecode) for col in cols]
            peers = list(self._peers)
        return NewChunks(*copies, peers)

    def read_log(self, pos: int, size: int) -> bytes:
        """Bytes by their position in the byte log (as the index gives it)."""
        return self.log.read(pos, size)

    def chunk(self, index: int) -> Chunk:
        return Chunk(self._t[index], self._dir[index], self._off[index], self._size[index],
                     self._pos[index], self._peers[self._peer[index]])

    def chunks(self, direction: int | None = None) -> list[Chunk]:
        if direction is None:
            return [self.chunk(i) for i in range(len(self))]
        return [self.chunk(i) for i in self._by_dir[direction]]

    def read(self, direction: int, offset: int, size: int) -> bytes:
        """Bytes of one direction's stream, by cumulative offset, across chunks.

        Raises NotKeptError if the range covers bytes that were not kept.
        """
        numbers = self._by_dir[direction]
        out = bytearray()
        k = max(0, bisect_right(self._dir_off[direction], offset) - 1)
        while size > 0 and k < len(numbers):
            i = numbers[k]
            skip = offset - self._off[i]
            take = min(size, self._size[i] - skip)
            if take > 0:
                if self._pos[i] == NOT_KEPT:
                    raise NotKeptError(direction, self._off[i], self._size[i])
                out += self.log.read(self._pos[i] + skip, take)
                offset += take
                size -= take
            k += 1
        return bytes(out)

    def stream(self, direction: int) -> bytes:
        return self.read(direction, 0, self.totals[direction])
