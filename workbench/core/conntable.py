"""The connection table, pure: raw rows as the kernel's sock_diag sends them, shown as `ss`.

A raw row is the tuple one `struct.unpack_from` gives for a netlink message (header,
then `inet_diag_msg`); the `F_*` constants name its fields. Unix rows are built in the
same shape: the name stands where the source address goes and the peer's inode where
the interface index goes. Rows stay raw for speed (60,000 of them refresh in tens of
milliseconds); `ConnRow` is the readable view, made only for what is shown or printed.
Ports stay in network order as read natively (`swap16` turns them round).
"""

from __future__ import annotations

import _socket  # not socket.py: its enums and selectors would be 2 ms of `workbench conns`
import sys
from array import array
from collections.abc import Callable, Mapping, Sequence
from itertools import compress, repeat
from operator import contains, itemgetter, not_
from typing import Any, NamedTuple

RawRow = tuple[Any, ...]

# Fields of a raw row.
F_LEN, F_TYPE, F_FLAGS, F_KIND, F_PID = range(5)
F_FAMILY, F_STATE, F_TIMER, F_RETRANS, F_SPORT, F_DPORT, F_SRC, F_DST = range(5, 13)
F_IF, F_COOKIE, F_EXPIRES, F_RQ, F_WQ, F_UID, F_INODE = range(13, 20)
F_PEER_INODE = F_IF  # Unix rows: the peer's inode

KIND_TCP, KIND_UDP, KIND_RAW, KIND_UNIX, KIND_UNIX_DGRAM, KIND_UNIX_SEQ = 1, 2, 3, 4, 5, 6
NETIDS = {KIND_TCP: "tcp", KIND_UDP: "udp", KIND_RAW: "raw", KIND_UNIX: "u_str",
          KIND_UNIX_DGRAM: "u_dgr", KIND_UNIX_SEQ: "u_seq"}
INET_KINDS = (KIND_TCP, KIND_UDP, KIND_RAW)
UNIX_KINDS = (KIND_UNIX, KIND_UNIX_DGRAM, KIND_UNIX_SEQ)
AF_INET, AF_INET6, AF_UNIX = 2, 10, 1

# Kernel TCP states (include/net/tcp_states.h) and the names `ss` prints.
ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT = 1, 2, 3, 4, 5, 6
CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING, NEW_SYN_RECV = 7, 8, 9, 10, 11, 12
STATE_NAMES = {ESTABLISHED: "ESTAB", SYN_SENT: "SYN-SENT", SYN_RECV: "SYN-RECV",
               FIN_WAIT1: "FIN-WAIT-1", FIN_WAIT2: "FIN-WAIT-2", TIME_WAIT: "TIME-WAIT",
               CLOSE: "UNCONN", CLOSE_WAIT: "CLOSE-WAIT", LAST_ACK: "LAST-ACK",
               LISTEN: "LISTEN", CLOSING: "CLOSING", NEW_SYN_RECV: "SYN-RECV"}
TIMERS = {0: "", 1: "on", 2: "keepalive", 3: "timewait", 4: "persist"}

TCP_INFO = ("state", "ca_state", "retransmits", "probes", "backoff", "options", "wscale",
            "flags", "rto", "ato", "snd_mss", "rcv_mss", "unacked", "sacked", "lost",
            "retrans", "fackets", "last_data_sent", "last_ack_sent", "last_data_recv",
            "last_ack_recv", "pmtu", "rcv_ssthresh", "rtt", "rttvar", "snd_ssthresh",
            "snd_cwnd", "advmss", "reordering", "rcv_rtt", "rcv_space", "total_retrans")
TI_RTT, TI_RTTVAR, TI_CWND = TCP_INFO.index("rtt"), TCP_INFO.index("rttvar"), TCP_INFO.index(
    "snd_cwnd")
TI_RETRANS, TI_TOTAL_RETRANS = TCP_INFO.index("retransmits"), TCP_INFO.index("total_retrans")
SKMEM = ("r", "rb", "t", "tb", "f", "w", "o", "bl", "d")  # ss -m's letters, kernel order


class Extras(NamedTuple):
    """What is asked for only when shown: TCP_INFO's leading fields, skmem."""

    info: tuple[int, ...] | None
    skmem: tuple[int, ...] | None


LITTLE = sys.byteorder == "little"


def swap16(port: int) -> int:
    """A port read natively from network order, turned into its number."""
    return ((port & 0xFF) << 8) | (port >> 8) if LITTLE else port


def netid(row: RawRow) -> str:
    return NETIDS.get(row[F_KIND], "?")


def state_name(row: RawRow) -> str:
    return STATE_NAMES.get(row[F_STATE], "UNKNOWN")


_V4: dict[bytes, str] = {}
_V6: dict[bytes, str] = {}
V4_MAPPED = b"\0" * 10 + b"\xff\xff"
INET = frozenset({AF_INET, AF_INET6})


def host_text(family: int, raw: bytes) -> str:
    """The address as `ss -n` writes it (cached: tables repeat few addresses)."""
    if family == AF_INET:
        text = _V4.get(raw)
        if text is None:
            text = _V4[raw] = _socket.inet_ntop(_socket.AF_INET, raw[:4])
        return text
    text = _V6.get(raw)
    if text is None:
        text = _V6[raw] = _socket.inet_ntop(_socket.AF_INET6, raw)
    return text


def unix_name(raw: bytes) -> str:
    if not raw:
        return "*"
    if raw[:1] == b"\0":
        return "@" + raw[1:].decode("utf-8", "backslashreplace").replace("\0", "@")
    return raw.rstrip(b"\0").decode("utf-8", "backslashreplace")


def address(row: RawRow, local: bool, ifnames: Mapping[int, str] | None = None) -> str:
    """The Local or Peer column as `ss -n` prints it."""
    family = row[F_FAMILY]
    if family == AF_UNIX:
        if local:
            return f"{unix_name(row[F_SRC])} {row[F_INODE]}"
        return f"* {row[F_PEER_INODE]}"
    raw, port = (row[F_SRC], row[F_SPORT]) if local else (row[F_DST], row[F_DPORT])
    host = host_text(family, raw)
    if row[F_IF] and ifnames is not None:
        host += "%" + ifnames.get(row[F_IF], str(row[F_IF]))
    if family == AF_INET6:
        host = f"[{host}]"
    return f"{host}:{swap16(port) if port else '*'}"


def address_column(rows: Sequence[RawRow], local: bool,
                   ifnames: Mapping[int, str] | None = None) -> tuple[list[str], list[str]]:
    """`address` for many rows at once, in two halves as `ss` aligns them: the host with
    its separator (`127.0.0.1:`, `[::1]:`, a Unix name and a space) and the port (or
    inode). Done in C but for a few rows: hosts looked up once per distinct address,
    ports byte-swapped as one array, and the rows that need more found by C-level
    passes: Unix rows, rows bound to an interface, and bytes that read as an address of
    either family (0.0.0.0 and [::])."""
    a, p = (F_SRC, F_SPORT) if local else (F_DST, F_DPORT)
    families = list(map(itemgetter(F_FAMILY), rows))
    raws = list(map(itemgetter(a), rows))
    hosts: dict[bytes, str] = {}
    both: set[bytes] = set()  # bytes seen as IPv4 and as IPv6: looked at row by row
    one = families[0] if families and families.count(families[0]) == len(families) else None
    distinct = zip(set(raws), repeat(one)) if one is not None else set(
        zip(raws, families, strict=True))  # one family (the usual batch): addresses only
    for raw, family in distinct:
        if family == AF_INET:
            text = host_text(family, raw) + ":"
        elif family == AF_INET6:
            text = f"[{host_text(family, raw)}]:"
        else:
            continue  # Unix rows: row by row, below
        if hosts.setdefault(raw, text) != text:
            both.add(raw)
    ports = array("H", map(itemgetter(p), rows))
    if LITTLE:
        ports.byteswap()
    left = list(map(hosts.get, raws, repeat("")))
    right = list(map(str, ports))
    for at in compress(range(len(ports)), map(not_, ports)):
        right[at] = "*"
    for at in _odd_rows(rows, families, raws, both):
        text = address(rows[at], local, ifnames)
        host, sep, port = text.rpartition(" " if families[at] == AF_UNIX else ":")
        left[at], right[at] = host + sep, port
    return left, right


def _odd_rows(rows: Sequence[RawRow], families: list[int], raws: list[bytes],
              both: set[bytes]) -> set[int]:
    """Where `address_column` must ask `address`: Unix rows, rows bound to an
    interface (the index is nonzero: Unix rows too), and rows whose bytes read both ways."""
    odd: set[int] = set()
    every = range(len(rows))
    ifs = list(map(itemgetter(F_IF), rows))
    if any(ifs):
        odd.update(compress(every, ifs))
    if families.count(AF_INET) + families.count(AF_INET6) != len(families):
        odd.update(compress(every, map(not_, map(contains, repeat(INET), families))))
    if both:
        odd.update(compress(every, map(contains, repeat(both), raws)))
    return odd


def ms_text(ms: int) -> str:
    """A timer's time left as `ss -o` writes it: 53sec, 1min, 5.123ms… (its rounding)."""
    secs, msecs = ms // 1000, ms % 1000
    minutes, secs = secs // 60, secs % 60
    out = ""
    if minutes:
        msecs = 0
        out = f"{minutes}min"
        if minutes > 9:
            secs = 0
    if secs:
        if secs > 9:
            msecs = 0
        out += f"{secs}{'.' if msecs else 'sec'}"
    if msecs:
        out += f"{msecs:03d}ms"
    return out


def timer_text(row: RawRow) -> str:
    """`ss -o`'s timer:(name,when,retransmits), or "" when no timer runs."""
    name = TIMERS.get(row[F_TIMER], "")
    if not name or row[F_FAMILY] == AF_UNIX:
        return ""
    return f"timer:({name},{ms_text(row[F_EXPIRES])},{row[F_RETRANS]})"


class Owner:
    """A process holding a socket (a plain class: the headless path imports this)."""

    __slots__ = ("name", "pid")

    def __init__(self, pid: int, name: str) -> None:
        self.pid, self.name = pid, name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Owner) and (self.pid, self.name) == (other.pid, other.name)

    def __hash__(self) -> int:
        return hash((self.pid, self.name))

    def __repr__(self) -> str:
        return f"Owner(pid={self.pid}, name={self.name!r})"

    def __str__(self) -> str:
        return f'("{self.name}",pid={self.pid})'


Owners = Mapping[int, tuple[Owner, ...]]


# -- sorting and diffing ------------------------------------------------------------------

def _addr_key(local: bool) -> Callable[[RawRow], tuple[Any, ...]]:
    a, p = (F_SRC, F_SPORT) if local else (F_DST, F_DPORT)

    def key(row: RawRow) -> tuple[Any, ...]:
        return (row[F_FAMILY], row[a], swap16(row[p]), row[F_INODE])

    return key


SORT_KEYS: dict[str, Callable[[RawRow], Any]] = {
    "netid": lambda r: r[F_KIND],
    "state": lambda r: STATE_NAMES.get(r[F_STATE], ""),
    "recv-q": lambda r: r[F_RQ],
    "send-q": lambda r: r[F_WQ],
    "local": _addr_key(True),
    "peer": _addr_key(False),
    "inode": lambda r: r[F_INODE],
    "uid": lambda r: r[F_UID],
    "timer": lambda r: (r[F_TIMER], r[F_EXPIRES]),
}


def sort_rows(rows: list[RawRow], column: str, reverse: bool = False,
              owners: Owners | None = None) -> list[RawRow]:
    """Rows sorted by a column (`SORT_KEYS`, or "process"); "" keeps the kernel's order."""
    if not column:
        return rows[::-1] if reverse else rows
    if column == "process":
        table = owners or {}

        def by_process(r: RawRow) -> tuple[str, int]:
            found = table.get(r[F_INODE], ())
            return (found[0].name, found[0].pid) if found else ("\uffff", 0)

        return sorted(rows, key=by_process, reverse=reverse)
    return sorted(rows, key=SORT_KEYS[column], reverse=reverse)


class Diff:
    """What changed between two refreshes: cookies that appeared, rows that vanished."""

    __slots__ = ("appeared", "vanished")

    def __init__(self, appeared: frozenset[int], vanished: tuple[RawRow, ...]) -> None:
        self.appeared, self.vanished = appeared, vanished


def cookies(rows: Sequence[RawRow]) -> set[int]:
    """The socket cookies of a table: what `diff` compares (keep them for the next)."""
    return set(map(itemgetter(F_COOKIE), rows))


def diff(before: Sequence[RawRow], after: Sequence[RawRow], old: set[int] | None = None,
         new: set[int] | None = None) -> Diff:
    """Sockets that appeared and vanished between two refreshes, by socket cookie;
    `old` and `new` are the tables' `cookies` when the caller has them already."""
    old = cookies(before) if old is None else old
    new = cookies(after) if new is None else new
    gone = old - new
    vanished = tuple(compress(before, map(gone.__contains__, map(itemgetter(F_COOKIE),
                                                                    before)))) if gone else ()
    return Diff(frozenset(new - old), vanished)
