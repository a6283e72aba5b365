"""The hex view's row model with chunks that were not kept: one row each, never read."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.capture_rows import (
    IN,
    NOT_KEPT,
    OUT,
    CaptureRows,
    ChunkInfo,
    NewChunks,
    Shape,
    find,
    format_window,
    gap_row,
    header_text,
    kept_spans,
    nearest_match,
)
from workbench.core.hexdump import format_rows

# (direction, bytes) is a kept chunk, (direction, size) one that was not kept.
Spec = list[tuple[int, bytes | int]]


def build(chunks: Spec, row_bytes: int = 16, headers: bool = True,
          direction: int | None = None) -> tuple[CaptureRows, bytes]:
    """The model over `chunks`, and the byte log holding their kept bytes."""
    log, totals = b"", [0, 0]
    offsets, sizes, pos = [], [], []
    for d, data in chunks:
        size = data if isinstance(data, int) else len(data)
        offsets.append(totals[d])
        sizes.append(size)
        pos.append(NOT_KEPT if isinstance(data, int) else len(log))
        log += b"" if isinstance(data, int) else data
        totals[d] += size
    n = len(chunks)
    model = CaptureRows()
    model.configure(row_bytes, headers, direction, None)
    model.extend(NewChunks(np.arange(n, dtype=np.float64) + 1.0,
                           np.array([d for d, _ in chunks], dtype=np.int8),
                           np.array(offsets, dtype=np.int64), np.array(sizes, dtype=np.int64),
                           np.array(pos, dtype=np.int64), np.zeros(n, dtype=np.int32), [""]))
    return model, log


def reader(log: bytes) -> tuple[list[tuple[int, int]], Callable[[int, int], bytes]]:
    calls: list[tuple[int, int]] = []

    def read(at: int, size: int) -> bytes:
        assert at >= 0, "a not-kept chunk was read"
        calls.append((at, size))
        return log[at:at + size]

    return calls, read


FLOOD: Spec = [(IN, b"A" * 20), (IN, 1 << 20), (OUT, b"ping"), (IN, b"after gap")]


def test_a_not_kept_chunk_is_one_row_that_says_so() -> None:
    model, log = build(FLOOD)
    assert model.rows == (1 + 2) + (1 + 1) + (1 + 1) + (1 + 1)
    assert model.lost == [1 << 20, 0] and model.totals == [20 + (1 << 20) + 9, 4]
    calls, read = reader(log)
    shape = Shape("hex", "canonical", 16)
    rows = [r.text for r in format_window(model, read, shape, False, 0, model.rows)]
    assert rows[3] == "< in  length=1048576 from=20 to=1048595  not kept  t=2.000000"
    assert rows[4] == "< 00000014  1048576 bytes not kept (storage fell behind the stream)"
    assert rows[5].startswith("> out length=4 from=0 to=3")
    assert rows[8] == "< " + format_rows(b"after gap", 20 + (1 << 20), "canonical")[0]
    assert all(at + size <= len(log) for at, size in calls)  # only kept bytes were read
    assert not any("00 00 00" in r for r in rows)  # no zeros shown for the gap


@pytest.mark.parametrize("mode", ["hex", "text", "split"])
def test_gap_row_in_every_mode_and_without_headers(mode: str) -> None:
    model, log = build(FLOOD, row_bytes=8, headers=False, direction=IN)
    _, read = reader(log)
    rows = format_window(model, read, Shape(mode, "narrow", 8), False, 0, model.rows)
    gaps = [r for r in rows if r.gap]
    assert [r.text for r in gaps] == [
        "< 00000014  1048576 bytes not kept (storage fell behind the stream)"]
    assert gaps[0].data == b"" and gaps[0].start == 20 and gaps[0].missing == 1 << 20
    assert gaps[0].spans(0, 1) == []  # nothing to put a cursor or a mark on
    assert model.rows == 3 + 1 + 2


def test_gap_row_keeps_wide_offsets_and_the_sent_marker() -> None:
    chunk = ChunkInfo(3, 5.5, OUT, 0x1_2345_6789, 7, NOT_KEPT, "10.0.0.1:53")
    assert gap_row(chunk).text == "> 123456789  7 bytes not kept (storage fell behind the stream)"
    assert header_text(chunk, True) == ("> out length=7 from=4886718345 to=4886718351  not kept"
                                         "  t=5.500000  peer=10.0.0.1:53")
    empty = ChunkInfo(4, 6.0, IN, 9, 0, NOT_KEPT, "")  # nothing was lost: no gap
    assert not empty.gap and header_text(empty, False) == "< in  EOF at=9  t=6.000000"


def test_cursor_moves_skip_gaps_and_lookups_know_them() -> None:
    model, _ = build(FLOOD)
    assert model.gap(1) and not model.gap(0)
    assert model.step(0, True) == 2 and model.step(0, True, IN) == 3
    assert model.step(3, False, IN) == 0 and model.step(4, False) == 3
    assert model.chunk_at(IN, 5000) == 1  # the gap still owns its offsets
    assert model.row_of(1, 5000) == model.row_of(1, 0) == 4  # all on its one row
    starts, ends = model.gaps(IN)
    assert list(starts) == [20] and list(ends) == [20 + (1 << 20)]
    assert len(model.gaps(OUT)[0]) == 0


def test_kept_spans_around_gaps() -> None:
    gaps = (np.array([10, 30, 35]), np.array([20, 35, 40]))
    assert list(kept_spans(gaps, 50, 0, True)) == [(0, 10), (20, 30), (40, 50)]
    assert list(kept_spans(gaps, 50, 25, True)) == [(20, 30), (40, 50)]
    assert list(kept_spans(gaps, 50, 32, True)) == [(40, 50)]
    assert list(kept_spans(gaps, 50, 41, False)) == [(40, 50), (20, 30), (0, 10)]
    assert list(kept_spans(gaps, 50, 40, False)) == [(20, 30), (0, 10)]
    assert list(kept_spans(gaps, 40, 0, True)) == [(0, 10), (20, 30)]


@st.composite
def streams_with_gaps(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, int]]]:
    data = draw(st.binary(max_size=200).map(lambda b: bytes(x % 3 + 97 for x in b)))
    cuts = sorted(draw(st.sets(st.integers(0, len(data)), max_size=8)))
    gaps = [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if b > a]
    return data, gaps


@settings(max_examples=300, deadline=None)
@given(streams_with_gaps(), st.binary(min_size=1, max_size=4).map(
    lambda b: bytes(x % 3 + 97 for x in b)), st.integers(0, 210), st.integers(1, 30),
    st.booleans())
def test_find_skips_gaps_and_never_matches_across_one(
        stream: tuple[bytes, list[tuple[int, int]]], pattern: bytes, start: int, window: int,
        forward: bool) -> None:
    data, gaps = stream

    def read(at: int, size: int) -> bytes:
        assert not any(at < b and a < at + size for a, b in gaps), "read a gap"
        return data[at:at + size]

    ok = [p for p in range(len(data) - len(pattern) + 1)
          if data[p:p + len(pattern)] == pattern
          and not any(p < b and a < p + len(pattern) for a, b in gaps)]
    want = min((p for p in ok if p >= start), default=-1) if forward else max(
        (p for p in ok if p < start), default=-1)
    arrays = (np.array([a for a, _ in gaps], dtype=np.int64),
              np.array([b for _, b in gaps], dtype=np.int64))
    assert find(read, len(data), pattern, start, forward, window, gaps=arrays) == want


# -- snapshots for worker threads, and the search over both streams ----------------------


def test_a_snapshot_keeps_its_values_while_the_model_grows_and_refilters() -> None:
    model, _ = build(FLOOD)
    snap = model.snapshot()
    offsets, by_in, gap_starts = snap.offsets.copy(), snap.by_dir[IN].copy(), snap.gaps[IN][0]
    gap_starts = gap_starts.copy()
    n = 500  # enough to outgrow every column's buffer
    model.extend(NewChunks(np.zeros(n), np.full(n, IN, dtype=np.int8),
                           np.arange(n, dtype=np.int64) + model.totals[IN],
                           np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                           np.zeros(n, dtype=np.int32), [""]))
    model.configure(8, False, OUT, None)
    assert len(model) == len(FLOOD) + n
    assert list(snap.offsets) == list(offsets) and list(snap.by_dir[IN]) == list(by_in)
    assert list(snap.gaps[IN][0]) == list(gap_starts)
    assert snap.totals == (20 + (1 << 20) + 9, 4) and snap.direction_filter is None
    assert snap.chunk_at(IN, 5000) == 1 and snap.chunk_at(IN, snap.totals[IN]) is None
    assert snap.shown(2) and model.snapshot().shown(2) and not model.snapshot().shown(0)


def test_nearest_match_goes_in_display_order_and_past_hidden_chunks() -> None:
    # Chunks: IN "ab" from peer a, IN "ab" from b, IN "ab" from a, then OUT "zab" from a.
    streams = {IN: b"ababab", OUT: b"zab"}
    model = CaptureRows()
    model.extend(NewChunks(np.arange(4, dtype=np.float64),
                           np.array([IN, IN, IN, OUT], dtype=np.int8),
                           np.array([0, 2, 4, 0], dtype=np.int64),
                           np.array([2, 2, 2, 3], dtype=np.int64),
                           np.array([0, 2, 4, 6], dtype=np.int64),
                           np.array([1, 2, 1, 1], dtype=np.int32), ["", "a", "b"]))

    def read(direction: int, at: int, size: int) -> bytes:
        return streams[direction][at:at + size]

    def nearest(starts: dict[int, int], forward: bool = True,
                pattern: bytes = b"ab") -> tuple[int, int] | None:
        return nearest_match(model.snapshot(), read, pattern, starts, forward, window=2)

    assert nearest({IN: 0, OUT: 0}) == (IN, 0)
    assert nearest({IN: 1, OUT: 0}) == (IN, 2)  # chunk 1 comes before chunk 3
    assert nearest({IN: 5, OUT: 0}) == (OUT, 1)
    assert nearest({IN: 1}, pattern=b"ba") == (IN, 1)  # across chunks 0 and 1
    assert nearest({IN: 6, OUT: 3}, forward=False) == (OUT, 1)
    assert nearest({IN: 4, OUT: 0}, forward=False) == (IN, 2)
    model.configure(16, True, None, 1)  # peer a only: chunk 1 is hidden
    assert nearest({IN: 1, OUT: 0}) == (IN, 4)
    assert nearest({IN: 4, OUT: 0}, forward=False) == (IN, 0)
    assert nearest({IN: 5, OUT: 2}) is None
