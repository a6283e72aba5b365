"""/proc/net/{tcp,udp,raw}{,6}: the table where the kernel has no sock_diag module for a
protocol (raw_diag is often missing; `ss` falls back the same way). Slower than netlink
and without cookies, so each row's cookie is the negative of its inode."""

from __future__ import annotations

import _socket  # not socket.py: its enums and selectors would be 2 ms of `workbench conns`
import sys

from workbench.core.conntable import KIND_RAW, KIND_TCP, KIND_UDP, RawRow, swap16

FILES = {KIND_TCP: "tcp", KIND_UDP: "udp", KIND_RAW: "raw"}
PROC_NET = "/proc/net"


def _host(text: str) -> bytes:
    """An address as /proc writes it: each 32-bit word in hex, in host byte order."""
    order = sys.byteorder
    words = [int(text[i:i + 8], 16).to_bytes(4, order) for i in range(0, len(text), 8)]
    return b"".join(words).ljust(16, b"\0")


def parse(text: str, kind: int, family: int) -> list[RawRow]:
    """Rows from the text of one /proc/net file (the header line is skipped)."""
    rows: list[RawRow] = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 10:
            continue
        local, lport = f[1].split(":")
        remote, rport = f[2].split(":")
        tx, rx = f[4].split(":")
        inode = int(f[9])
        rows.append((0, 20, 0, kind, 0, family, int(f[3], 16), 0, 0,
                     swap16(int(lport, 16)), swap16(int(rport, 16)), _host(local),
                     _host(remote), 0, -inode if inode else 0, 0, int(rx, 16), int(tx, 16),
                     int(f[7]), inode))
    return rows


def proc_rows(kind: int, family: int) -> list[RawRow]:
    name = FILES[kind] + ("6" if family == _socket.AF_INET6 else "")
    try:
        with open(f"{PROC_NET}/{name}", encoding="ascii", errors="replace") as f:
            return parse(f.read(), kind, family)
    except OSError:  # no such file (no IPv6): no rows
        return []
