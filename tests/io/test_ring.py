"""The byte log's ring: its pages made resident ahead of a flood, its bytes untouched."""

from __future__ import annotations

import os
import socket

import pytest
from support import ok

from workbench.io.capture import ByteLog
from workbench.io.engine import Engine
from workbench.io.ring import make_ring, populate

SIZE = 16 << 20


def resident(ring_start: int, size: int) -> int:
    """Pages of [ring_start, +size) in memory, from /proc/self/smaps."""
    with open("/proc/self/smaps") as f:
        lines = f.read().splitlines()
    for at, line in enumerate(lines):
        if "-" in line.split(" ", 1)[0] and int(line.split("-", 1)[0], 16) == ring_start:
            rss = next(x for x in lines[at + 1:] if x.startswith("Rss:"))
            return int(rss.split()[1]) * 1024 // 4096
    raise AssertionError("the ring is not mapped")


def start_of(ring: object) -> int:
    import ctypes

    anchor = ctypes.c_char.from_buffer(ring)  # type: ignore[arg-type]
    try:
        return ctypes.addressof(anchor)
    finally:
        del anchor


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="needs /proc smaps")
@pytest.mark.parametrize("huge", [False, True])
def test_populate_makes_every_page_resident_and_keeps_the_bytes(huge: bool) -> None:
    ring = make_ring(SIZE, huge)
    try:
        ring[5], ring[SIZE - 1] = 7, 9
        start = start_of(ring)
        assert resident(start, SIZE) < SIZE // 4096  # untouched pages are not there yet
        if not populate(ring):
            pytest.skip("this kernel has no MADV_POPULATE_WRITE (Linux 5.14)")
        assert resident(start, SIZE) == SIZE // 4096
        assert (ring[5], ring[SIZE - 1], ring[6]) == (7, 9, 0)
    finally:
        ring.close()


def test_a_closed_ring_is_not_populated() -> None:
    ring = make_ring(SIZE, False)
    ring.close()
    assert populate(ring) is False


def test_an_engine_asked_readies_the_ring_at_its_first_socket_and_close_waits() -> None:
    log = ByteLog()
    engine = Engine(log=log, ready_ring=True)
    try:
        assert log._ring is None  # no socket, no ring: a session without sockets pays nothing
        engine.call("socket", type="dgram", auto=False)
        assert log._ring is not None and log._preparing is not None
        ring = log._ring
        log.prepare()  # once only
        assert log._ring is ring
        ok(engine.call("bind", 1, address="127.0.0.1:0"))
        port = int(engine.socket_info(1).local.rsplit(":", 1)[1])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            peer.sendto(b"into a ready ring", ("127.0.0.1", port))
        assert ok(engine.call("recv", 1, size=100)).data == b"into a ready ring"
    finally:
        engine.shutdown()
        log.close()
    assert not log._preparing.is_alive()


def test_an_engine_not_asked_makes_the_ring_when_bytes_come() -> None:
    log = ByteLog()
    engine = Engine(log=log)
    try:
        engine.call("socket", type="dgram")
        assert log._ring is None
        engine.call("send", 1, data=b"x")  # not connected: it fails, and needs no ring
        log.append(b"kept")
        assert log._ring is not None and log._preparing is None
    finally:
        engine.shutdown()
        log.close()


def test_the_workspace_readies_its_ring() -> None:
    from workbench.io.workspace import Workspace

    ws = Workspace(journal=False)
    try:
        ws.call("socket", type="stream")
        assert ws.engine.log._preparing is not None
    finally:
        ws.close()


def test_a_ring_there_is_no_memory_for_is_left_to_the_first_bytes() -> None:
    """Readying the ring is an optimisation: where the memory is refused, the socket
    that asked is not refused with it (the first bytes to keep ask again)."""
    log = ByteLog(ring_size=1 << 60)  # an exbibyte: past any address space
    try:
        log.prepare()
        assert log._ring is None and log._preparing is None
    finally:
        log.close()
