"""A fixed connection table for the Conns pane's Pilot tests and snapshots (the real
netlink source is tested against `ss` in tests/io)."""

from __future__ import annotations

import time

from conn_samples import inet
from conn_samples import unix as unix_row

from workbench.core.conntable import (
    CLOSE,
    CLOSE_WAIT,
    ESTABLISHED,
    KIND_TCP,
    KIND_UDP,
    KIND_UNIX,
    LISTEN,
    TIME_WAIT,
    Owner,
    RawRow,
)
from workbench.io.conns.source import Counters, Snapshot


def unix(state: int, name: bytes, inode: int, peer: int = 0) -> RawRow:
    return unix_row(KIND_UNIX, state, name, inode, peer)


ROWS: list[RawRow] = [
    inet(KIND_TCP, LISTEN, "127.0.0.1", 47007, wq=128, inode=101, rq=2),
    inet(KIND_TCP, ESTABLISHED, "127.0.0.1", 47007, "127.0.0.1", 51000, rq=5, inode=102),
    inet(KIND_TCP, ESTABLISHED, "127.0.0.1", 51000, "127.0.0.1", 47007, inode=103),
    inet(KIND_TCP, TIME_WAIT, "127.0.0.1", 51002, "127.0.0.1", 47007, cookie=900,
         timer=3, expires=42000),
    inet(KIND_TCP, CLOSE_WAIT, "127.0.0.1", 47007, "127.0.0.1", 51004, rq=0, inode=104),
    inet(KIND_TCP, LISTEN, "::1", 47107, wq=4096, inode=105),
    inet(KIND_TCP, TIME_WAIT, "::1", 51006, "::1", 47107, cookie=901, timer=3,
         expires=12345),
    inet(KIND_UDP, CLOSE, "0.0.0.0", 47209, inode=106),
    inet(KIND_UDP, ESTABLISHED, "::1", 51008, "::1", 47209, inode=107),
    unix(LISTEN, b"/run/demo.sock", 201),
    unix(ESTABLISHED, b"", 202, 203),
]
OWNERS = {101: (Owner(4242, "echo-server"),), 102: (Owner(4242, "echo-server"),),
          103: (Owner(4343, "client"),), 104: (Owner(4242, "echo-server"),),
          201: (Owner(77, "demo"),)}
COUNTERS: Counters = ({"TCP": {"inuse": 6, "orphan": 0, "tw": 2}},
                      {"ListenOverflows": 0, "ListenDrops": 0}, (32768, 60999))


class FakeSource:
    """The same table at every refresh, unless a test changes `rows`."""

    name = "fake"

    def __init__(self) -> None:
        self.rows = list(ROWS)
        self.fetches = 0

    def fetch(self, kinds: tuple[int, ...] = (), want: int = 0,
              owners: bool = False, scan: bool = True) -> Snapshot:
        self.fetches += 1
        return Snapshot(list(self.rows), time.time(), 0.0, {}, OWNERS if owners else {},
                        {}, "netlink")

    def scan_owners(self, force: bool = False) -> bool:
        return False

    def counters(self) -> Counters:
        return COUNTERS

    def close(self) -> None:
        pass
