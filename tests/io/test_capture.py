"""The capture store: a byte log that spills to disk, and per-direction chunk offsets."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import mapping_lines

from workbench.io.capture import (
    DIRECT_MIN,
    IN,
    OUT,
    WRITER_NICE,
    ByteLog,
    CaptureStore,
    NotKeptError,
)
from workbench.io.ring import address_of


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
        whole = b"".join(pieces)
        assert log.read(0, len(whole)) == whole  # from the ring, the file or both
        assert log.flush()
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


def _open_files() -> set[tuple[int, str]]:
    """This process's open descriptors, each with what it points at."""
    links = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.add((int(fd), os.readlink(f"/proc/self/fd/{fd}")))
        except OSError:
            continue  # the fd listing itself, closed meanwhile
    return links


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_spill_file_is_unlinked_and_closed() -> None:
    before = _open_files()  # other logs of this process may hold spill files of their own
    log = ByteLog(spill_threshold=10)
    try:
        log.append(b"x" * 50)
        assert log.flush() and log.in_memory == 0
        spills = {(fd, link) for fd, link in _open_files() - before
                  if "workbench-capture-" in link}
        files = {link for _fd, link in spills}
        # one file (a second descriptor may write it with O_DIRECT), and nothing left behind
        assert len(files) == 1 and files.pop().endswith("(deleted)")
        assert log.read(0, 50) == b"x" * 50
    finally:
        log.close()
    assert not spills & _open_files()


def test_byte_log_on_a_path_writes_at_once_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    log = ByteLog(path=str(path))
    log.append(b"\x00\xff" * 10)
    assert log.flush(5.0)  # the writer starts at once: there is no threshold with a path
    assert path.read_bytes() == b"\x00\xff" * 10
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


def test_ring_wraps_and_reads_back_across_ring_and_file(tmp_path: Path) -> None:
    """A small ring laps many times; every read, before and after the writer, is exact."""
    log = ByteLog(path=str(tmp_path / "data.bin"), ring_size=8192)
    whole = bytearray()
    try:
        for n in (3000, 5000, 100, 8192, 1, 7000, 4096, 0, 12345):  # 12345 > ring: through
            piece = os.urandom(n)
            assert log.append(piece) == len(whole)
            whole += piece
            assert log.read(0, len(whole)) == whole
            assert log.read(max(0, len(whole) - 5000), 9000) == whole[-5000:]
        assert log.flush()
        assert (tmp_path / "data.bin").read_bytes() == whole
    finally:
        log.close()


def test_a_full_ring_drops_droppable_bytes_and_counts_them(tmp_path: Path) -> None:
    log = ByteLog(ring_size=4096, spill_threshold=0)
    store = CaptureStore(log)
    try:
        store.append(IN, b"a" * 10, 0.0)
        store.append(IN, b"x" * 5000, 1.0, droppable=True)  # more than the ring holds
        store.append(IN, b"b" * 10, 2.0)
        assert [c.kept for c in store.chunks(IN)] == [True, False, True]
        assert store.lost == [5000, 0] and log.lost == 5000
        assert store.totals[IN] == 5020  # offsets stay exact across the gap
        assert store.read(IN, 0, 10) == b"a" * 10
        assert store.read(IN, 5010, 10) == b"b" * 10
        with pytest.raises(NotKeptError, match="5000 received bytes at offset 10 were not kept"):
            store.read(IN, 5, 10)
    finally:
        log.close()


def test_lossless_waits_for_the_writer_instead_of_dropping(tmp_path: Path) -> None:
    log = ByteLog(path=str(tmp_path / "data.bin"), ring_size=8192, lossless=True)
    blob = os.urandom(200_000)
    try:
        for at in range(0, len(blob), 3000):  # each fits the ring; many lap it
            assert log.append(blob[at:at + 3000], droppable=True) == at
        assert log.lost == 0
        assert log.flush()
        assert (tmp_path / "data.bin").read_bytes() == blob
    finally:
        log.close()


def test_when_durable_runs_once_the_bytes_are_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    log = ByteLog(path=str(path))
    seen: list[int] = []
    try:
        end = log.append(b"z" * 1000) + 1000
        log.when_durable(end, lambda: seen.append(path.stat().st_size))
        assert log.flush(5.0)
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen and seen[0] >= end  # the file held the bytes when it ran
        log.when_durable(end, lambda: seen.append(-1))  # already durable: runs at once
        assert seen[-1] == -1
    finally:
        log.close()


def test_big_writes_bypass_the_page_cache_and_stay_exact(tmp_path: Path) -> None:
    """Past DIRECT_MIN the writer uses O_DIRECT for the aligned middle (where the file
    system allows it) and the page cache for the edges: the file must still be exact."""
    path = tmp_path / "data.bin"
    log = ByteLog(path=str(path))
    blob = os.urandom(3 * DIRECT_MIN + 777)
    try:
        log.append(b"head")  # so the big piece starts unaligned
        log.append(blob)
        log.append(b"tail")
        assert log.flush()
        assert path.read_bytes() == b"head" + blob + b"tail"
        assert log.read(4 + DIRECT_MIN - 3, 10) == blob[DIRECT_MIN - 3:DIRECT_MIN + 7]
    finally:
        log.close()


def _thp_mode() -> str:
    try:
        text = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return ""
    return text.split("[", 1)[1].split("]", 1)[0] if "[" in text else ""


@pytest.mark.skipif(_thp_mode() not in ("always", "madvise"),
                    reason="this kernel gives no transparent huge pages")
def test_a_lossless_ring_asks_for_huge_pages() -> None:
    """Storage takes a lossless flood faster from huge pages (its direct writes pin one
    page per 2 MiB, not 512). The kernel marks the mapping eligible once asked."""
    log = ByteLog(ring_size=8 << 20, lossless=True)
    try:
        log.append(b"x" * 4096)
        ring = log._ring
        assert ring is not None
        region = mapping_lines(address_of(ring))
        assert region, "the ring's mapping is in /proc/self/smaps"
        eligible = next(line for line in region if line.startswith("THPeligible"))
        assert eligible.split()[-1] == "1", eligible
    finally:
        log.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux's")
@pytest.mark.parametrize("lossless", [False, True])
def test_keeping_up_the_writer_stands_back(tmp_path: Path, lossless: bool) -> None:
    """Keeping up, the stream comes first: the writer thread runs 10 nice levels below
    the process; lossless, the stream waits for it, and it runs as the others."""
    log = ByteLog(path=str(tmp_path / "data.bin"), lossless=lossless)
    try:
        log.append(b"x" * 4096)
        assert log.flush()  # the writer has run, so it has set its priority
        writer = log._writer  # this log's (other tests' writers may still be idling)
        assert writer is not None and writer.native_id is not None
        base = os.getpriority(os.PRIO_PROCESS, os.getpid())
        behind = os.getpriority(os.PRIO_PROCESS, writer.native_id) - base
        if lossless:
            assert behind == 0
        else:
            assert behind == min(WRITER_NICE, 19 - base) > 0
    finally:
        log.close()
