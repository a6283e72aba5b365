"""Raw rows of the connection table built by hand, shaped as the netlink source makes
them, for the core tests and the Conns pane's fake source."""

from __future__ import annotations

import socket

from workbench.core.conntable import AF_INET, AF_INET6, AF_UNIX, RawRow, swap16


def inet(kind: int, state: int, src: str, sport: int, dst: str = "", dport: int = 0,
         rq: int = 0, wq: int = 0, inode: int = 0, cookie: int = 0, ifindex: int = 0,
         timer: int = 0, expires: int = 0) -> RawRow:
    """A TCP, UDP or raw row; the cookie defaults to the inode, else the port."""
    family = AF_INET6 if ":" in src else AF_INET
    af = socket.AF_INET6 if family == AF_INET6 else socket.AF_INET

    def raw(host: str) -> bytes:
        return socket.inet_pton(af, host or ("::" if family == AF_INET6 else "0.0.0.0")
                                ).ljust(16, b"\0")

    return (88, 20, 2, kind, 0, family, state, timer, 0, swap16(sport), swap16(dport),
            raw(src), raw(dst), ifindex, cookie or inode or sport, expires, rq, wq, 1000,
            inode)


def unix(kind: int, state: int, name: bytes, inode: int, peer: int = 0) -> RawRow:
    return (40, 20, 2, kind, 0, AF_UNIX, state, 0, 0, 0, 0, name, b"", peer, inode, 0, 0, 0,
            1000, inode)
