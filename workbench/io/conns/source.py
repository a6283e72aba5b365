"""Where the connection table comes from: one interface, netlink on Linux, psutil elsewhere.

`ConnSource.fetch` is a blocking read: call it from a worker thread. Each source keeps
its own netlink socket and owner cache, so use one source per worker.
"""

from __future__ import annotations

import _socket  # not socket.py: its enums and selectors would be 2 ms of `workbench conns`
import contextlib
import sys
import time
import zlib
from collections.abc import Callable, Mapping
from typing import Protocol

from workbench.core.conntable import (
    INET_KINDS,
    KIND_RAW,
    KIND_TCP,
    KIND_UDP,
    KIND_UNIX,
    KIND_UNIX_DGRAM,
    KIND_UNIX_SEQ,
    UNIX_KINDS,
    Extras,
    Owner,
    Owners,
    RawRow,
    swap16,
)
from workbench.io.conns.owners import OwnerCache

Each = Callable[[list[RawRow]], None]  # takes rows as they are read, a batch at a time

ALL_KINDS = (*INET_KINDS, KIND_UNIX)
WANT_INFO, WANT_SKMEM = 1, 2


class Snapshot:
    """One refresh: rows in kernel order, extras by cookie, owners by inode."""

    __slots__ = ("at", "extras", "ifnames", "owners", "rows", "source", "took")

    def __init__(self, rows: list[RawRow], at: float, took: float,
                 extras: dict[int, Extras] | None = None, owners: Owners | None = None,
                 ifnames: Mapping[int, str] | None = None, source: str = "netlink") -> None:
        self.rows, self.at, self.took, self.source = rows, at, took, source
        self.extras: dict[int, Extras] = extras if extras is not None else {}
        self.owners: Owners = owners if owners is not None else {}
        self.ifnames: Mapping[int, str] = ifnames if ifnames is not None else {}


class ConnSource(Protocol):
    name: str

    def fetch(self, kinds: tuple[int, ...] = ALL_KINDS, want: int = 0,
              owners: bool = False, scan: bool = True, each: Each | None = None
              ) -> Snapshot:
        """The table; with `owners`, who holds each socket: scanned now when the last
        scan is stale and `scan`, else the last scan's (the pane scans after showing).
        `each` is given the rows as they are read, a batch at a time (without their
        extras or owners), and the snapshot then holds no rows: they are the caller's."""
        ...

    @property
    def ifnames(self) -> Mapping[int, str]:
        """Interface names by index, for addresses bound to one."""
        ...

    def scan_owners(self, force: bool = False) -> bool:
        """Rescan the owners if stale (or `force`); True when a scan ran."""
        ...

    def counters(self) -> Counters: ...

    def close(self) -> None: ...


Counters = tuple[dict[str, dict[str, int]], dict[str, int], tuple[int, int] | None]


def kernel_counters() -> Counters:
    """sockstat, netstat and the ephemeral port range, for the summary ({} off Linux)."""
    from workbench.io.conns import summary

    return summary.sockstat(), summary.netstat(), summary.port_range()


def _ifnames() -> dict[int, str]:
    with contextlib.suppress(OSError):
        return dict(_socket.if_nameindex())
    return {}


class NetlinkSource:
    """sock_diag dumps; owners from /proc when asked (cached, rescanned when stale)."""

    name = "netlink"

    def __init__(self, owner_age: float = 3.0) -> None:
        from workbench.io.conns.netlink import Dumper

        self._dumper = Dumper()
        try:  # a dump of no state at all: the kernel answers it, or says why not, at once
            self._dumper.inet(KIND_TCP, _socket.AF_UNSPEC, states=0)
        except OSError:
            self._dumper.close()
            raise
        self._owners = OwnerCache(owner_age)
        self._ifnames = _ifnames()

    @property
    def ifnames(self) -> Mapping[int, str]:
        return self._ifnames

    def fetch(self, kinds: tuple[int, ...] = ALL_KINDS, want: int = 0,
              owners: bool = False, scan: bool = True, each: Each | None = None
              ) -> Snapshot:
        from workbench.io.conns.netlink import EXT_INFO, EXT_SKMEM, dump

        started = time.perf_counter()
        ext = (EXT_INFO if want & WANT_INFO else 0) | (EXT_SKMEM if want & WANT_SKMEM else 0)
        extras: dict[int, Extras] = {}
        unix = KIND_UNIX if any(k in UNIX_KINDS for k in kinds) else None
        order = tuple(k for k in kinds if k in INET_KINDS) + ((unix,) if unix else ())
        rows = dump(order, ext, extra=extras, dumper=self._dumper, each=each)
        found = (self._owners.refresh() if scan else self._owners.get()) if owners else {}
        return Snapshot(rows, time.time(), time.perf_counter() - started, extras, found,
                        self._ifnames)

    def scan_owners(self, force: bool = False) -> bool:
        return self._owners.rescan(force)

    def counters(self) -> Counters:
        return kernel_counters()

    def close(self) -> None:
        self._dumper.close()


PSUTIL_KINDS = {(_socket.SOCK_STREAM, False): KIND_TCP, (_socket.SOCK_DGRAM, False): KIND_UDP,
                (_socket.SOCK_RAW, False): KIND_RAW, (_socket.SOCK_STREAM, True): KIND_UNIX,
                (_socket.SOCK_DGRAM, True): KIND_UNIX_DGRAM,
                (_socket.SOCK_SEQPACKET, True): KIND_UNIX_SEQ}
PSUTIL_STATES = {"ESTABLISHED": 1, "SYN_SENT": 2, "SYN_RECV": 3, "FIN_WAIT1": 4,
                 "FIN_WAIT2": 5, "TIME_WAIT": 6, "CLOSE": 7, "NONE": 7, "CLOSE_WAIT": 8,
                 "LAST_ACK": 9, "LISTEN": 10, "CLOSING": 11}


class PsutilSource:
    """psutil.net_connections: no queues, no inodes, slower; for systems without netlink.

    Each row gets a stand-in inode (negative, from the row's addresses and pid) so
    owners and the appeared/vanished marks work the same way."""

    name = "psutil"

    ifnames: Mapping[int, str] = {}

    def fetch(self, kinds: tuple[int, ...] = ALL_KINDS, want: int = 0,
              owners: bool = False, scan: bool = True, each: Each | None = None
              ) -> Snapshot:
        import psutil

        started = time.perf_counter()
        rows: list[RawRow] = []
        found: dict[int, tuple[Owner, ...]] = {}
        names: dict[int, str] = {}
        for c in psutil.net_connections(kind="all"):
            row = _psutil_row(c)
            if row is None or row[3] not in kinds:
                continue
            rows.append(row)
            if c.pid and owners:
                if c.pid not in names:
                    names[c.pid] = _pid_name(psutil, c.pid)
                found[row[19]] = (Owner(c.pid, names[c.pid]),)
        if each is not None and rows:
            each(rows)
            rows = []
        return Snapshot(rows, time.time(), time.perf_counter() - started, {}, found, {},
                        self.name)

    def scan_owners(self, force: bool = False) -> bool:
        return False  # each fetch names the owners

    def counters(self) -> Counters:
        return kernel_counters()

    def close(self) -> None:
        pass


def _pid_name(psutil: object, pid: int) -> str:
    try:
        return psutil.Process(pid).name()  # type: ignore[attr-defined,no-any-return]
    except Exception:
        return "?"


def _psutil_row(c: object) -> RawRow | None:
    family, stype = c.family, c.type  # type: ignore[attr-defined]
    unix = family == _socket.AF_UNIX
    kind = PSUTIL_KINDS.get((stype, unix))
    if kind is None:
        return None
    state = PSUTIL_STATES.get(c.status, 7)  # type: ignore[attr-defined]
    if unix:
        name = (c.laddr or "").encode()  # type: ignore[attr-defined]
        src, dst, sport, dport = name, b"", 0, 0
    else:
        src, sport = _inet(family, c.laddr)  # type: ignore[attr-defined]
        dst, dport = _inet(family, c.raddr)  # type: ignore[attr-defined]
    ident = zlib.crc32(repr((kind, src, sport, dst, dport, c.pid, c.fd)).encode())  # type: ignore[attr-defined]
    inode = -(ident or 1)
    return (0, 20, 0, kind, 0, int(family), state, 0, 0, sport, dport, src, dst, 0,
            ident, 0, 0, 0, 0, inode)


def _inet(family: int, addr: object) -> tuple[bytes, int]:
    if not addr:
        return b"\0" * 16, 0
    ip, port = addr[0], addr[1]  # type: ignore[index]
    raw = _socket.inet_pton(family, ip)
    return raw.ljust(16, b"\0"), swap16(port)


def default_source() -> ConnSource:
    """Netlink where it answers (Linux, where sock_diag is allowed), psutil elsewhere."""
    if sys.platform.startswith("linux"):
        try:
            return NetlinkSource()
        except OSError:
            pass
    return PsutilSource()


def bind_warning(address: str, transport: str = "tcp",
                 source: ConnSource | None = None) -> str | None:
    """Before a bind: one line saying `address` is already held (by which process, or
    only by TIME_WAIT), or None. A fresh dump of that protocol only; the owners are
    scanned only when something holds it. Blocking: call it off the UI's loop."""
    from workbench.core.conn_states import port_check

    kinds = (KIND_UNIX,) if address.startswith("unix:") else (
        (KIND_UDP,) if transport == "udp" else (KIND_TCP,))
    own = source is None
    src = default_source() if source is None else source
    try:
        rows = src.fetch(kinds).rows
        if port_check(address, rows, None, transport) is None:
            return None
        return port_check(address, rows, src.fetch(kinds, owners=True).owners, transport)
    finally:
        if own:
            src.close()
