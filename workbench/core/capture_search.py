"""Searching a capture's streams: byte patterns across chunks, around bytes not kept.

Pure (numpy and core only): bytes come in through a reader, so a search runs the same
on the UI thread or on a worker; a reader may raise to stop it part way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from workbench.core.capture_index import Gaps, IndexSnapshot

SEARCH_WINDOW = 1 << 20  # bytes read at a time; windows overlap by the pattern's length
StreamReader = Callable[[int, int, int], bytes]  # (direction, offset, size) -> bytes


def nearest_match(index: IndexSnapshot, read: StreamReader, pattern: bytes,
                  starts: dict[int, int], forward: bool,
                  window: int = SEARCH_WINDOW) -> tuple[int, int] | None:
    """The match nearest in display order, as (direction, offset): each direction of
    `starts` is searched from its start, forward or back, and the matches are compared
    by the chunk they begin in. A match that begins in a chunk the filters hide is
    passed over; None when there is no match."""
    best: tuple[int, int, int] | None = None  # (chunk, direction, offset)
    for direction, start in starts.items():
        offset = _first_shown(index, read, direction, pattern, start, forward, window)
        if offset < 0:
            continue
        chunk = index.chunk_at(direction, offset)
        assert chunk is not None
        key = (chunk, direction, offset)
        if best is None or (key < best if forward else key > best):
            best = key
    return None if best is None else (best[1], best[2])


def _first_shown(index: IndexSnapshot, read: StreamReader, direction: int, pattern: bytes,
                 start: int, forward: bool, window: int) -> int:
    def read_stream(at: int, size: int) -> bytes:
        return read(direction, at, size)

    total, gaps = index.totals[direction], index.gaps[direction]
    while (offset := find(read_stream, total, pattern, start, forward, window, gaps)) >= 0:
        chunk = index.chunk_at(direction, offset)
        if chunk is not None and index.shown(chunk):
            return offset
        start = offset + 1 if forward else offset  # in a hidden datagram: go on
    return -1


def find(read: Callable[[int, int], bytes], total: int, pattern: bytes, start: int,
         forward: bool, window: int = SEARCH_WINDOW, gaps: Gaps | None = None) -> int:
    """A stream offset where `pattern` starts: the first at or after `start`, or the last
    before it; -1 when none. Windows overlap by len(pattern) - 1, so a match across a
    chunk (or window) boundary is found. Bytes in `gaps` are never read and no match
    spans one: each kept stretch is searched on its own."""
    if gaps is None or not len(gaps[0]):
        return _find(read, total, pattern, start, forward, window)
    for lo, hi in kept_spans(gaps, total, start, forward):

        def part(at: int, size: int, lo: int = lo, hi: int = hi) -> bytes:
            return read(lo + at, max(0, min(size, hi - lo - at)))

        k = _find(part, hi - lo, pattern, start - lo, forward, window)
        if k >= 0:
            return lo + k
    return -1


def kept_spans(gaps: Gaps, total: int, start: int, forward: bool) -> Iterator[tuple[int, int]]:
    """The kept stretches [lo, hi) of a stream of `total` bytes around `gaps`: going
    forward, those ending after `start`, in order; going back, those beginning before
    it, last first. Empty stretches (between touching gaps) are left out."""
    starts, ends = gaps
    count = len(starts)
    order = (range(int(np.searchsorted(starts, start, "right")), count + 1) if forward
             else range(int(np.searchsorted(ends, start, "left")), -1, -1))
    for s in order:
        lo = int(ends[s - 1]) if s else 0
        hi = int(starts[s]) if s < count else total
        if hi > lo:
            yield lo, hi


def _find(read: Callable[[int, int], bytes], total: int, pattern: bytes, start: int,
          forward: bool, window: int) -> int:
    extra = len(pattern) - 1
    if forward:
        at = max(0, start)
        while at + extra < total:
            k = read(at, window + extra).find(pattern)
            if k >= 0:
                return at + k
            at += window
        return -1
    end = min(start, total)
    while end > 0:
        lo = max(0, end - window)
        k = read(lo, end - lo + extra).rfind(pattern)
        if k >= 0:
            return lo + k
        end = lo
    return -1

