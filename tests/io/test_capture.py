"""The capture store: a byte log that spills to disk, and per-direction chunk offsets."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.io.capture import IN, OUT, ByteLog, CaptureStore


def test_byte_log_stays_in_memory_below_the_threshold() -> None:
    log = ByteLog(spill_threshold=100)
    try:
        assert log.append(b"a" * 60) == 0
        assert log.append(b"b" * 40) == 60
        assert (log.in_memory, len(log)) == (100, 100)
        assert log.read(55, 10) == b"aaaaabbbbb"
    finally:
        log.close()


def test_byte_log_spills_past_the_threshold_and_reads_back_exactly() -> None:
    log = ByteLog(spill_threshold=1000)
    pieces = [os.urandom(n) for n in (700, 200, 99, 1, 1, 5000, 0, 3)]
    try:
        positions = [log.append(p) for p in pieces]
        assert log.in_memory == 0  # everything moved to the spill file
        assert len(log) == sum(map(len, pieces))
        whole = b"".join(pieces)
        for pos, piece in zip(positions, pieces, strict=True):
            assert log.read(pos, len(piece)) == piece
        assert log.read(0, len(whole)) == whole
        assert log.read(650, 400) == whole[650:1050]  # across the spill point
        assert log.read(len(whole) - 2, 100) == whole[-2:]  # clipped at the end
        assert log.read(len(whole), 10) == b""
    finally:
        log.close()


def _open_files() -> list[str]:
    links = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue  # the fd listing itself, closed meanwhile
    return links


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_spill_file_is_unlinked_and_closed() -> None:
    log = ByteLog(spill_threshold=10)
    try:
        log.append(b"x" * 50)
        assert log.in_memory == 0
        spills = [link for link in _open_files() if "workbench-capture-" in link]
        assert len(spills) == 1 and spills[0].endswith("(deleted)")  # nothing left behind
        assert log.read(0, 50) == b"x" * 50
    finally:
        log.close()
    assert not [link for link in _open_files() if "workbench-capture-" in link]


def test_byte_log_on_a_path_writes_through_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    log = ByteLog(path=str(path))
    log.append(b"\x00\xff" * 10)
    assert path.read_bytes() == b"\x00\xff" * 10  # in the file at once: nothing buffered
    log.close()
    again = ByteLog(path=str(path))
    try:
        assert len(again) == 20
        assert again.append(b"tail") == 20
        assert again.read(18, 6) == b"\x00\xfftail"
    finally:
        again.close()
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([IN, OUT]), st.binary(max_size=50)), max_size=30),
       st.integers(min_value=1, max_value=200), st.data())
def test_capture_store_reads_each_direction_by_offset(
    chunks: list[tuple[int, bytes]], threshold: int, data: st.DataObject
) -> None:
    log = ByteLog(spill_threshold=threshold)
    store = CaptureStore(log)
    try:
        for t, (direction, payload) in enumerate(chunks):
            chunk = store.append(direction, payload, float(t), peer=f"p{t % 3}")
            assert chunk.offset == sum(len(p) for d, p in chunks[:t] if d == direction)
        for direction in (IN, OUT):
            want = b"".join(p for d, p in chunks if d == direction)
            assert store.totals[direction] == len(want)
            assert store.stream(direction) == want
            start = data.draw(st.integers(min_value=0, max_value=len(want)))
            size = data.draw(st.integers(min_value=0, max_value=len(want) - start + 5))
            assert store.read(direction, start, size) == want[start:start + size]
            assert [c.size for c in store.chunks(direction)] == [
                len(p) for d, p in chunks if d == direction]
        assert len(store) == len(chunks)
        assert [store.chunk(i).peer for i in range(len(store))] == [
            f"p{t % 3}" for t in range(len(chunks))]
    finally:
        log.close()


def test_sockets_share_one_log_safely_across_threads() -> None:
    log = ByteLog(spill_threshold=5000)
    stores = [CaptureStore(log) for _ in range(4)]

    def fill(n: int) -> None:
        for i in range(200):
            stores[n].append(IN, bytes([n]) * (i % 17), float(i))

    threads = [threading.Thread(target=fill, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    try:
        for n, store in enumerate(stores):
            want = b"".join(bytes([n]) * (i % 17) for i in range(200))
            assert store.stream(IN) == want
    finally:
        log.close()
