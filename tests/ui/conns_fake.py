"""A fixed connection table for the Conns pane's Pilot tests and snapshots (the real
netlink source is tested against `ss` in tests/io)."""

from __future__ import annotations

import socket
import time

from workbench.core.conntable import (
    AF_INET,
    AF_INET6,
    AF_UNIX,
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
    swap16,
)
from workbench.io.conns.source import Counters, Snapshot


def inet(kind: int, state: int, src: str, sport: int, dst: str = "", dport: int = 0,
         rq: int = 0, wq: int = 0, inode: int = 0, cookie: int = 0, timer: int = 0,
         expires: int = 0) -> RawRow:
    family = AF_INET6 if ":" in src else AF_INET
    af = socket.AF_INET6 if family == AF_INET6 else socket.AF_INET

    def raw(host: str) -> bytes:
        return socket.inet_pton(af, host or ("::" if family == AF_INET6 else "0.0.0.0")
                                ).ljust(16, b"\0")

    return (88, 20, 2, kind, 0, family, state, timer, 0, swap16(sport), swap16(dport),
            raw(src), raw(dst), 0, cookie or inode, expires, rq, wq, 1000, inode)


def unix(state: int, name: bytes, inode: int, peer: int = 0) -> RawRow:
    return (40, 20, 2, KIND_UNIX, 0, AF_UNIX, state, 0, 0, 0, 0, name, b"", peer, inode, 0,
            0, 0, 1000, inode)


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
              owners: bool = False) -> Snapshot:
        self.fetches += 1
        return Snapshot(list(self.rows), time.time(), 0.0, {}, OWNERS if owners else {},
                        {}, "netlink")

    def counters(self) -> Counters:
        return COUNTERS

    def close(self) -> None:
        pass
