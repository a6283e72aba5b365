"""Where captured bytes live: an append-only byte log and a per-socket chunk index.

Memory stays bounded: the log keeps bytes in memory up to a threshold, then moves
them to a file (a journal's data file, or an unlinked temporary file) and reads back
with pread, so a viewer only loads what it draws.
"""

from __future__ import annotations

import os
import tempfile
import threading
from array import array
from bisect import bisect_right
from dataclasses import dataclass

SPILL_THRESHOLD = 16 * 1024 * 1024
IN, OUT = 0, 1  # directions: bytes received, bytes sent


class ByteLog:
    """Append-only bytes shared by every socket of an engine. Thread-safe."""

    def __init__(self, path: str | None = None, spill_threshold: int = SPILL_THRESHOLD) -> None:
        self._lock = threading.Lock()
        self._mem = bytearray()
        self._fd: int | None = None
        self._size = 0
        self.path = path
        self._threshold = spill_threshold
        self._closed = False
        if path is not None:
            # A journal's data file: every byte goes to the kernel at once, so a killed
            # process loses nothing it had recorded.
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            self._size = os.fstat(self._fd).st_size

    def __len__(self) -> int:
        return self._size

    @property
    def in_memory(self) -> int:
        return len(self._mem)

    def append(self, data: bytes | bytearray | memoryview) -> int:
        with self._lock:
            pos = self._size
            if self._fd is None and len(self._mem) + len(data) > self._threshold:
                self._spill()
            if self._fd is None:
                self._mem += data
            else:
                _write_all(self._fd, data)
            self._size += len(data)
            return pos

    def read(self, at: int, size: int) -> bytes:
        if self._closed:  # never answer b"" for bytes that were recorded
            raise ValueError("read from a closed byte log")
        size = max(0, min(size, self._size - at))
        if self._fd is None:
            return bytes(self._mem[at:at + size])
        return os.pread(self._fd, size, at)

    def _spill(self) -> None:
        fd, name = tempfile.mkstemp(prefix="workbench-capture-")
        os.unlink(name)  # nothing left behind, whatever happens to the process
        _write_all(fd, self._mem)
        self._mem = bytearray()
        self._fd = fd

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


@dataclass(frozen=True)
class Chunk:
    t: float
    direction: int
    offset: int  # cumulative offset within its direction, like socat's from=/to=
    size: int
    pos: int  # where the bytes sit in the byte log
    peer: str


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
        # Per direction: chunk numbers and their offsets, so lookups bisect one direction.
        self._by_dir: tuple[array, array] = (array("q"), array("q"))
        self._dir_off: tuple[array, array] = (array("q"), array("q"))

    def __len__(self) -> int:
        return len(self._t)

    def append(self, direction: int, data: bytes | memoryview, t: float, peer: str = "") -> Chunk:
        pos = self.log.append(data)
        with self._lock:
            pid = self._peer_ids.setdefault(peer, len(self._peers))
            if pid == len(self._peers):
                self._peers.append(peer)
            offset = self.totals[direction]
            self._by_dir[direction].append(len(self._t))
            self._dir_off[direction].append(offset)
            for arr, value in ((self._t, t), (self._dir, direction), (self._off, offset),
                               (self._size, len(data)), (self._pos, pos), (self._peer, pid)):
                arr.append(value)
            self.totals[direction] += len(data)
        return Chunk(t, direction, offset, len(data), pos, peer)

    def chunk(self, index: int) -> Chunk:
        return Chunk(self._t[index], self._dir[index], self._off[index], self._size[index],
                     self._pos[index], self._peers[self._peer[index]])

    def chunks(self, direction: int | None = None) -> list[Chunk]:
        if direction is None:
            return [self.chunk(i) for i in range(len(self))]
        return [self.chunk(i) for i in self._by_dir[direction]]

    def read(self, direction: int, offset: int, size: int) -> bytes:
        """Bytes of one direction's stream, by cumulative offset, across chunks."""
        numbers = self._by_dir[direction]
        out = bytearray()
        k = max(0, bisect_right(self._dir_off[direction], offset) - 1)
        while size > 0 and k < len(numbers):
            i = numbers[k]
            skip = offset - self._off[i]
            take = min(size, self._size[i] - skip)
            if take > 0:
                out += self.log.read(self._pos[i] + skip, take)
                offset += take
                size -= take
            k += 1
        return bytes(out)

    def stream(self, direction: int) -> bytes:
        return self.read(direction, 0, self.totals[direction])
