"""A socket's chunk index as the hex view keeps it, and the rows it makes: any row in O(log n).

The view shows one block per chunk in arrival order, both directions interleaved like
`socat -v`: an optional header row, then the chunk's bytes as rows of `row_bytes`. The
model keeps the index as growable numpy columns and a running total of rows over the
visible blocks, so finding the block under a row is one binary search and new chunks
cost only their own part. A chunk the capture did not keep (storage fell behind the
stream) is one row, and its offsets are a gap of its direction's stream.

`CaptureRows.snapshot()` hands the index as it stands to a worker thread (a search):
the columns only grow, so the snapshot stays valid while new chunks come in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from workbench.core.steps import NOT_KEPT

IN, OUT = 0, 1  # the same numbers as io.capture: received, sent
Gaps = tuple[np.ndarray, np.ndarray]  # starts and ends of not-kept stretches, ascending


@dataclass(frozen=True, slots=True)
class ChunkInfo:
    index: int  # arrival order among all chunks of the socket
    t: float
    direction: int
    offset: int  # cumulative within its direction
    size: int
    pos: int  # where the bytes sit in the byte log; NOT_KEPT if they were not kept
    peer: str

    @property
    def gap(self) -> bool:
        """Bytes that passed through but were not kept: a gap in the stream."""
        return self.pos == NOT_KEPT and self.size > 0


class Column:
    """A numpy array grown in place with doubling capacity: appends cost their own size.

    Growing never writes over the first `n` values (a full buffer is replaced, not
    reused), so a view taken from `a` keeps its values until `clear()`.
    """

    def __init__(self, dtype: type) -> None:
        self._buf = np.empty(64, dtype=dtype)
        self.n = 0

    @property
    def a(self) -> np.ndarray:
        return self._buf[: self.n]

    def extend(self, values: np.ndarray) -> None:
        need = self.n + len(values)
        if need > len(self._buf):
            grown = np.empty(max(need, 2 * len(self._buf)), dtype=self._buf.dtype)
            grown[: self.n] = self._buf[: self.n]
            self._buf = grown
        self._buf[self.n : need] = values
        self.n = need

    def clear(self) -> None:
        self.n = 0


@dataclass(frozen=True)
class NewChunks:
    """Chunks appended to a store since the last look, copied out of its arrays."""

    t: np.ndarray
    direction: np.ndarray
    offset: np.ndarray
    size: np.ndarray
    pos: np.ndarray
    peer: np.ndarray  # ids into `peers`
    peers: list[str]  # every peer text seen so far, by id


class CaptureRows:
    """The chunks of one socket and the rows they make under the current settings."""

    def __init__(self) -> None:
        self._t = Column(np.float64)
        self._dir = Column(np.int8)
        self._off = Column(np.int64)
        self._size = Column(np.int64)
        self._pos = Column(np.int64)
        self._peer = Column(np.int32)
        self.peers: list[str] = [""]
        self.totals = [0, 0]
        self.lost = [0, 0]  # bytes per direction not kept
        self._by_dir = (Column(np.int64), Column(np.int64))  # chunk numbers per direction
        self._dir_off = (Column(np.int64), Column(np.int64))  # and their offsets
        self._gap_lo = (Column(np.int64), Column(np.int64))  # not-kept stretches
        self._gap_hi = (Column(np.int64), Column(np.int64))
        self.row_bytes = 16
        self.headers = True
        self.direction: int | None = None  # show one direction only
        self.peer: int | None = None  # show one peer only (an id into `peers`)
        self._vis = Column(np.int64)  # visible chunk numbers, ascending
        self._ends = Column(np.int64)  # rows up to and including each visible block

    def __len__(self) -> int:
        return self._t.n

    @property
    def rows(self) -> int:
        return int(self._ends.a[-1]) if self._ends.n else 0

    @property
    def blocks(self) -> int:
        return self._vis.n

    def extend(self, new: NewChunks) -> None:
        first = len(self)
        for col, values in ((self._t, new.t), (self._dir, new.direction),
                            (self._off, new.offset), (self._size, new.size),
                            (self._pos, new.pos), (self._peer, new.peer)):
            col.extend(values)
        self.peers = list(new.peers)
        numbers = np.arange(first, len(self), dtype=np.int64)
        gap = (new.pos == NOT_KEPT) & (new.size > 0)
        for d in (IN, OUT):
            mine = new.direction == d
            self._by_dir[d].extend(numbers[mine])
            self._dir_off[d].extend(new.offset[mine])
            self.totals[d] += int(new.size[mine].sum())
            lost = mine & gap
            self._gap_lo[d].extend(new.offset[lost])
            self._gap_hi[d].extend(new.offset[lost] + new.size[lost])
            self.lost[d] += int(new.size[lost].sum())
        self._show(numbers)

    def configure(self, row_bytes: int, headers: bool, direction: int | None,
                  peer: int | None) -> None:
        """New layout or filters: the running totals are rebuilt (vectorised, O(n))."""
        self.row_bytes, self.headers = row_bytes, headers
        self.direction, self.peer = direction, peer
        self._vis.clear()
        self._ends.clear()
        self._show(np.arange(len(self), dtype=np.int64))

    def _show(self, numbers: np.ndarray) -> None:
        shown = numbers[self._visible(numbers)]
        size = self._size.a[shown]
        body = np.where(self._pos.a[shown] == NOT_KEPT, np.minimum(size, 1),
                        (size + self.row_bytes - 1) // self.row_bytes)
        rows = int(self.headers) + body
        ends = np.cumsum(rows, dtype=np.int64) + self.rows
        self._vis.extend(shown)
        self._ends.extend(ends)

    def _visible(self, numbers: np.ndarray) -> np.ndarray:
        return _shown(self._dir.a, self._peer.a, self.direction, self.peer, numbers)

    def snapshot(self) -> IndexSnapshot:
        """The index and filters as they stand, to read on another thread."""
        return IndexSnapshot(self._off.a, self._size.a, self._dir.a, self._peer.a,
                             (self._by_dir[IN].a, self._by_dir[OUT].a),
                             (self._dir_off[IN].a, self._dir_off[OUT].a),
                             (self.gaps(IN), self.gaps(OUT)), (self.totals[IN], self.totals[OUT]),
                             self.direction, self.peer)

    # -- lookups -------------------------------------------------------------------------

    def chunk(self, i: int) -> ChunkInfo:
        return ChunkInfo(i, float(self._t.a[i]), int(self._dir.a[i]), int(self._off.a[i]),
                         int(self._size.a[i]), int(self._pos.a[i]),
                         self.peers[int(self._peer.a[i])])

    def gap(self, i: int) -> bool:
        """Chunk i passed through but was not kept: one row, no cursor, no reads."""
        return bool(self._pos.a[i] == NOT_KEPT and self._size.a[i] > 0)

    def gaps(self, direction: int) -> Gaps:
        """The not-kept stretches of a direction's stream: (starts, ends), ascending."""
        return self._gap_lo[direction].a, self._gap_hi[direction].a

    def block_start(self, k: int) -> int:
        return int(self._ends.a[k - 1]) if k else 0

    def locate(self, y: int) -> tuple[int, int]:
        """(visible block, row within it) for row y: one binary search."""
        k = int(np.searchsorted(self._ends.a, y, side="right"))
        return k, y - self.block_start(k)

    def block_chunk(self, k: int) -> int:
        return int(self._vis.a[k])

    def block_of(self, i: int) -> int | None:
        """The visible block showing chunk i, or None when a filter hides it."""
        k = int(np.searchsorted(self._vis.a, i))
        return k if k < self._vis.n and self._vis.a[k] == i else None

    def row_of(self, i: int, j: int) -> int | None:
        """The row showing byte j of chunk i (a gap's one row for all its bytes)."""
        k = self.block_of(i)
        if k is None:
            return None
        return self.block_start(k) + int(self.headers) + (0 if self.gap(i) else
                                                           j // self.row_bytes)

    def chunk_at(self, direction: int, offset: int) -> int | None:
        """The chunk holding byte `offset` of a direction's stream."""
        return _chunk_at(self._by_dir[direction].a, self._dir_off[direction].a, self._off.a,
                         self._size.a, offset)

    def step(self, i: int, forward: bool, direction: int | None = None) -> int | None:
        """The next (or previous) visible chunk with kept bytes after chunk i, optionally
        of one direction only; i may be -1 or len(self) to start at either end."""
        pool = self._vis.a if direction is None else self._by_dir[direction].a
        at = int(np.searchsorted(pool, i, side="right" if forward else "left"))
        for part in _batches(pool, at, forward):
            ok = (self._size.a[part] > 0) & (self._pos.a[part] != NOT_KEPT)
            if direction is not None:
                ok &= self._visible(part)
            hits = np.flatnonzero(ok)
            if len(hits):
                return int(part[hits[0] if forward else hits[-1]])
        return None

    def window(self, y: int, n: int) -> Iterator[tuple[int, int, int]]:
        """(visible block, first row, end row) for the blocks covering rows y..y+n-1."""
        k, r = self.locate(y)
        left = n
        while left > 0 and k < self.blocks:
            total = self.block_start(k + 1) - self.block_start(k)
            end = min(total, r + left)
            yield k, r, end
            left -= end - r
            k, r = k + 1, 0


def _batches(pool: np.ndarray, at: int, forward: bool, size: int = 256) -> Iterator[np.ndarray]:
    """Slices of pool from `at` onwards (or before `at`, going back), growing in size."""
    while (at < len(pool)) if forward else (at > 0):
        lo, hi = (at, at + size) if forward else (max(0, at - size), at)
        yield pool[lo:hi]
        at = hi if forward else lo
        size *= 4


@dataclass(frozen=True)
class IndexSnapshot:
    """The chunk index and the filters of a CaptureRows at one moment, for a worker
    thread: the arrays are views of columns that only grow, so they keep their values
    while the UI thread goes on taking in chunks (or changes the filters)."""

    offsets: np.ndarray  # every chunk's, by chunk number
    sizes: np.ndarray
    directions: np.ndarray
    peers: np.ndarray  # peer ids
    by_dir: tuple[np.ndarray, np.ndarray]  # chunk numbers per direction
    dir_off: tuple[np.ndarray, np.ndarray]  # and their offsets
    gaps: tuple[Gaps, Gaps]
    totals: tuple[int, int]
    direction_filter: int | None
    peer_filter: int | None

    def chunk_at(self, direction: int, offset: int) -> int | None:
        """The chunk holding byte `offset` of a direction's stream."""
        return _chunk_at(self.by_dir[direction], self.dir_off[direction], self.offsets,
                         self.sizes, offset)

    def shown(self, i: int) -> bool:
        """Chunk i passes the filters (whether or not it was kept)."""
        numbers = np.array([i], dtype=np.int64)
        return bool(_shown(self.directions, self.peers, self.direction_filter,
                           self.peer_filter, numbers)[0])


def _chunk_at(numbers: np.ndarray, offsets: np.ndarray, starts: np.ndarray, sizes: np.ndarray,
              offset: int) -> int | None:
    """Of one direction's chunks (`numbers`, starting at `offsets`), the one holding
    `offset`; `starts` and `sizes` are every chunk's."""
    k = int(np.searchsorted(offsets, offset, side="right")) - 1
    if k < 0:
        return None
    i = int(numbers[k])
    return i if offset < starts[i] + sizes[i] else None


def _shown(directions: np.ndarray, peers: np.ndarray, direction: int | None, peer: int | None,
           numbers: np.ndarray) -> np.ndarray:
    """Which of the chunks `numbers` pass a direction and a peer filter (None: any)."""
    keep = np.ones(len(numbers), dtype=bool)
    if direction is not None:
        keep &= directions[numbers] == direction
    if peer is not None:
        keep &= peers[numbers] == peer
    return keep
