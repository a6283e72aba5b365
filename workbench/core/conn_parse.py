"""Saved output of `ss` and `netstat` read into the connection table's raw rows.

`ss -tan`, `ss -tanp`, `ss -uanp`, `ss -xan`, `ss -tuxanp` (with or without -H) and
`netstat -an`, `netstat -tanp` (Internet and Unix sections) become rows shaped like the
netlink source's, so the same filters, sorting, formatting and summary apply. A file
has no socket cookies and `ss` prints no inodes for TCP and UDP, so each row gets a
stand-in (negative) inode and cookie, by which its processes are found. Lines that
cannot be read (netstat cuts long IPv6 addresses unless --wide) are counted, not fatal.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from workbench.core.conntable import (
    AF_INET,
    AF_INET6,
    AF_UNIX,
    CLOSE,
    ESTABLISHED,
    KIND_RAW,
    KIND_TCP,
    KIND_UDP,
    KIND_UNIX,
    KIND_UNIX_DGRAM,
    KIND_UNIX_SEQ,
    NETIDS,
    STATE_NAMES,
    SYN_SENT,
    Owner,
    RawRow,
    swap16,
)
from workbench.core.errors import InputError

SS_STATES = {name: number for number, name in STATE_NAMES.items() if number != 12}
NETSTAT_STATES = {"ESTABLISHED": 1, "SYN_SENT": 2, "SYN_RECV": 3, "FIN_WAIT1": 4,
                  "FIN_WAIT2": 5, "TIME_WAIT": 6, "CLOSE": 7, "CLOSE_WAIT": 8, "LAST_ACK": 9,
                  "LISTEN": 10, "CLOSING": 11}
SS_KINDS = {name: kind for kind, name in NETIDS.items()}
NETSTAT_KINDS = {"tcp": KIND_TCP, "tcp6": KIND_TCP, "udp": KIND_UDP, "udp6": KIND_UDP,
                 "raw": KIND_RAW, "raw6": KIND_RAW}
UNIX_TYPES = {"STREAM": KIND_UNIX, "DGRAM": KIND_UNIX_DGRAM, "SEQPACKET": KIND_UNIX_SEQ}
UNIX_STATES = {"LISTENING": 10, "CONNECTED": ESTABLISHED, "CONNECTING": SYN_SENT, "": CLOSE}
USERS = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+)')
NETSTAT_UNIX = re.compile(
    r"^unix\s+\d+\s+\[[^\]]*\]\s+(\w+)\s+(?:(LISTENING|CONNECTED|CONNECTING|DISCONNECTING|FREE)"
    r"\s+)?(\d+)\s*(.*)$")
PID_PROGRAM = re.compile(r"^(?:(\d+)/(\S+)|-)\s*(.*)$")


@dataclass
class Parsed:
    rows: list[RawRow] = field(default_factory=list)
    owners: dict[int, tuple[Owner, ...]] = field(default_factory=dict)
    ifnames: dict[int, str] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)  # line numbers not read
    tool: str = ""


class _Reader:
    def __init__(self) -> None:
        self.out = Parsed()
        self._ids = 0
        self._ifindex: dict[str, int] = {}

    def stand_in(self) -> int:
        self._ids += 1
        return -self._ids

    def address(self, text: str, v6_hint: bool = False) -> tuple[int, bytes, int, int]:
        """(family, 16 address bytes, port in network order read natively, ifindex)."""
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError(text)
        port = 0 if port_text == "*" else int(port_text)
        ifindex = 0
        if "%" in host:  # 127.0.0.53%lo, [fe80::1]%eth0 or [fe80::1%eth0]
            host, _, name = host.replace("]", "").partition("%")
            host += "]" if host.startswith("[") else ""
            ifindex = self._ifindex.setdefault(name, len(self._ifindex) + 1)
            self.out.ifnames[ifindex] = name
        host = host.strip("[]")
        if host == "*":
            host = "::" if v6_hint else "0.0.0.0"
        family = AF_INET6 if ":" in host else AF_INET
        af = socket.AF_INET6 if family == AF_INET6 else socket.AF_INET
        raw = socket.inet_pton(af, host).ljust(16, b"\0")
        if not 0 <= port <= 65535:
            raise ValueError(text)
        return family, raw, swap16(port), ifindex

    def inet(self, kind: int, state: int, rq: int, wq: int, local: str, peer: str,
             owners: tuple[Owner, ...]) -> None:
        family, src, sport, ifindex = self.address(local)
        _, dst, dport, _ = self.address(peer, family == AF_INET6)
        inode = self.stand_in()
        self.out.rows.append((0, 20, 0, kind, 0, family, state, 0, 0, sport, dport, src, dst,
                              ifindex, inode, 0, rq, wq, 0, inode))
        if owners:
            self.out.owners[inode] = owners

    def unix(self, kind: int, state: int, rq: int, wq: int, name: str, inode: int,
             peer: int, owners: tuple[Owner, ...]) -> None:
        raw = b"" if name in ("*", "") else (
            b"\0" + name[1:].encode() if name.startswith("@") else name.encode())
        key = inode or self.stand_in()
        self.out.rows.append((0, 20, 0, kind, 0, AF_UNIX, state, 0, 0, 0, 0, raw, b"", peer,
                              self.stand_in(), 0, rq, wq, 0, key))
        if owners:
            self.out.owners[key] = owners


def _users(text: str) -> tuple[Owner, ...]:
    return tuple(Owner(int(pid), name.replace('\\"', '"')) for name, pid in USERS.findall(text))


def _ss_line(r: _Reader, line: str, netid: bool, default_kind: int) -> None:
    words = line.split(None, 1)
    kind = default_kind
    if netid:
        if words[0] not in SS_KINDS:
            raise ValueError(words[0])  # nl, p_raw, mptcp…: not in this table
        kind, line = SS_KINDS[words[0]], words[1]
    if kind in (KIND_UNIX, KIND_UNIX_DGRAM, KIND_UNIX_SEQ):
        state, rq, wq, name, inode, _, peer, *rest = line.split(None, 7)
        r.unix(kind, SS_STATES[state], int(rq), int(wq), name, int(inode), int(peer),
               _users(rest[0] if rest else ""))
        return
    state, rq, wq, local, peer, *rest = line.split(None, 5)
    r.inet(kind, SS_STATES[state], int(rq), int(wq), local, peer,
           _users(rest[0] if rest else ""))


def _ss_kind(lines: list[str], netid: bool) -> int:
    """Without a Netid column the file is of one protocol: UDP when it has UNCONN rows
    and no TCP-only state, else TCP (as `ss -tan` prints most often)."""
    if netid:
        return KIND_TCP
    states = {line.split(None, 1)[0] for line in lines if line.strip()}
    return KIND_UDP if "UNCONN" in states and states <= {"UNCONN", "ESTAB", "State"} \
        else KIND_TCP


def _netstat_line(r: _Reader, line: str, with_pid: bool) -> None:
    words = line.split()
    if words[0] == "unix":
        _netstat_unix(r, line, with_pid)
        return
    kind = NETSTAT_KINDS[words[0]]
    rq, wq, local, peer, rest = int(words[1]), int(words[2]), words[3], words[4], words[5:]
    state = CLOSE if kind != KIND_TCP else 0
    if rest and rest[0] in NETSTAT_STATES:
        state = NETSTAT_STATES[rest.pop(0)]
    if not state:
        raise ValueError(line)
    owners: tuple[Owner, ...] = ()
    if with_pid and rest and "/" in rest[0]:
        pid, _, name = rest[0].partition("/")
        owners = (Owner(int(pid), name),)
    r.inet(kind, state, rq, wq, local, peer, owners)


def _netstat_unix(r: _Reader, line: str, with_pid: bool) -> None:
    match = NETSTAT_UNIX.match(line.rstrip())
    if match is None or match.group(1) not in UNIX_TYPES:
        raise ValueError(line)
    stype, state, inode, rest = match.groups()
    owners: tuple[Owner, ...] = ()
    if with_pid:
        found = PID_PROGRAM.match(rest)
        if found is not None:
            pid, name, rest = found.groups()
            owners = (Owner(int(pid), name),) if pid else ()
    r.unix(UNIX_TYPES[stype], UNIX_STATES.get(state or "", CLOSE), 0, 0, rest.strip(),
           int(inode), 0, owners)


def parse_table(text: str) -> Parsed:
    """Rows from saved `ss` or `netstat` output; InputError when it is neither."""
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    words = first.split()
    r = _Reader()
    if first.startswith(("Active ", "Proto ")) or ((words and words[0] in NETSTAT_KINDS)
                                                   or words[:1] == ["unix"]):
        r.out.tool = "netstat"
        with_pid = False
        for number, line in enumerate(lines, 1):
            if line.startswith(("Active ", "Proto ")) or not line.strip():
                with_pid = "PID/Program" in line if line.startswith("Proto ") else with_pid
                continue
            _read(r, number, lambda line=line, p=with_pid: _netstat_line(r, line, p))
        return r.out
    netid = words[:1] == ["Netid"] or (bool(words) and words[0] in SS_KINDS)
    if not words or not (words[0] in ("State", "Netid") or words[0] in SS_STATES or netid):
        raise InputError("not the output of ss or netstat: expected a header starting with "
                         "State, Netid or Proto (as ss -tanp or netstat -tanp print it)")
    r.out.tool = "ss"
    kind = _ss_kind(lines, netid)
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.split(None, 1)[0] in ("State", "Netid"):
            continue
        _read(r, number, lambda line=line: _ss_line(r, line, netid, kind))
    return r.out


def _read(r: _Reader, number: int, read: Callable[[], None]) -> None:
    try:
        read()
    except (ValueError, KeyError, OSError, IndexError):
        r.out.skipped.append(number)
