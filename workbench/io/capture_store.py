"""A socket's captured chunks: an index into the byte log, kept compactly.

Each chunk has its time, direction, cumulative offset in its direction (like socat's
from=/to=), size, peer and position in the byte log; a chunk that passed but was not
kept has no position (NOT_KEPT) and a reason: storage fell behind, the budget was
reached, or the disk was nearly full.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_right
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from workbench.core.capture_rows import NewChunks
from workbench.core.steps import NOT_KEPT, NOT_KEPT_WHY

if TYPE_CHECKING:
    from workbench.io.capture import ByteLog

IN, OUT = 0, 1  # directions: bytes received, bytes sent


class Chunk(NamedTuple):
    """One chunk as the index holds it (a tuple: made once per datagram in a flood)."""

    t: float
    direction: int
    offset: int  # cumulative offset within its direction, like socat's from=/to=
    size: int
    pos: int  # where the bytes sit in the byte log; NOT_KEPT if they were not kept
    peer: str
    why: str = ""  # not kept: "storage", "budget" or "disk"

    @property
    def kept(self) -> bool:
        return self.pos != NOT_KEPT


class NotKeptError(ValueError):
    """A read reached bytes that passed through but were not kept."""

    def __init__(self, direction: int, offset: int, size: int, why: str = "storage") -> None:
        name = "received" if direction == IN else "sent"
        super().__init__(f"{size} {name} bytes at offset {offset} were not kept: "
                         f"{NOT_KEPT_WHY.get(why, why)} ({REMEDY.get(why, '')})")
        self.offset, self.size, self.why = offset, size, why


REMEDY = {"storage": "capture them losslessly to keep them",
          "budget": "give a bigger --capture-budget to keep more",
          "disk": "free some disk space to keep more"}


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
        # Why gaps were not kept, as runs: (first chunk number, why) whenever it changes.
        self._whys: tuple[array, list[str]] = (array("q"), [])

    def __len__(self) -> int:
        return len(self._t)

    def append(self, direction: int, data: bytes | memoryview, t: float, peer: str = "",
               droppable: bool = False) -> Chunk:
        """Received bytes count against the log's budget; sent ones are always kept."""
        if direction == IN:
            pos, why = self.log.keep(data, droppable)
        else:
            pos, why = self.log.append(data, droppable), "storage"
        return self.note(direction, pos, len(data), t, peer, why)

    def note(self, direction: int, pos: int, size: int, t: float, peer: str = "",
             why: str = "storage") -> Chunk:
        """Index `size` bytes already in the byte log at `pos` (or NOT_KEPT, for `why`): a
        big send is put in the log once, and its chunks point into it."""
        with self._lock:
            if pos == NOT_KEPT:
                self.lost[direction] += size
                if not self._whys[1] or self._whys[1][-1] != why:
                    self._whys[1].append(why)  # first: a lock-free reader bisects [0]
                    self._whys[0].append(len(self._t))
            else:
                why = ""
            pid = self._peer_ids.get(peer)
            if pid is None:
                pid = self._peer_ids[peer] = len(self._peers)
                self._peers.append(peer)
            offset = self.totals[direction]
            self._by_dir[direction].append(len(self._t))
            self._dir_off[direction].append(offset)
            self._t.append(t)
            self._dir.append(direction)
            self._off.append(offset)
            self._size.append(size)
            self._pos.append(pos)
            self._peer.append(pid)
            self.totals[direction] += size
        return Chunk(t, direction, offset, size, pos, peer, why)

    def why(self, index: int) -> str:
        """Why chunk `index` was not kept ("storage", "budget", "disk"); "" if it was."""
        if self._pos[index] != NOT_KEPT:
            return ""
        runs = bisect_right(self._whys[0], index) - 1
        return self._whys[1][runs] if runs >= 0 else "storage"

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
                     self._pos[index], self._peers[self._peer[index]], self.why(index))

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
                    raise NotKeptError(direction, self._off[i], self._size[i], self.why(i))
                out += self.log.read(self._pos[i] + skip, take)
                offset += take
                size -= take
            k += 1
        return bytes(out)

    def stream(self, direction: int) -> bytes:
        return self.read(direction, 0, self.totals[direction])
