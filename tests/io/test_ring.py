"""The byte log's ring: its pages made resident ahead of a flood, its bytes untouched."""

from __future__ import annotations

import os
import socket

import pytest
from support import mapping_lines, ok

from workbench.io.capture import ByteLog
from workbench.io.engine import Engine
from workbench.io.ring import address_of, make_ring, populate

SIZE = 16 << 20


def resident(ring: object) -> int:
    """Pages of the ring's mapping in memory, from /proc/self/smaps."""
    lines = mapping_lines(address_of(ring))  # type: ignore[arg-type]
    assert lines, "the ring is mapped"
    rss = next(x for x in lines if x.startswith("Rss:"))
    return int(rss.split()[1]) * 1024 // 4096


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="needs /proc smaps")
@pytest.mark.parametrize("huge", [False, True])
def test_populate_makes_every_page_resident_and_keeps_the_bytes(huge: bool) -> None:
    ring = make_ring(SIZE, huge)
    try:
        ring[5], ring[SIZE - 1] = 7, 9
        assert resident(ring) < SIZE // 4096  # untouched pages are not there yet
        if not populate(ring):
            pytest.skip("this kernel has no MADV_POPULATE_WRITE (Linux 5.14)")
        assert resident(ring) == SIZE // 4096
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
