"""The summary line of the connection table, like `ss -s`, and the kernel counters
behind it (`/proc/net/sockstat`, `/proc/net/netstat`), parsed from their text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from workbench.core.conntable import (
    AF_INET,
    AF_INET6,
    F_FAMILY,
    F_KIND,
    F_SPORT,
    F_STATE,
    KIND_TCP,
    NETIDS,
    STATE_NAMES,
    TIME_WAIT,
    RawRow,
    swap16,
)

# Counters of /proc/net/netstat worth a word when they are not zero, and what they mean.
TROUBLE = {
    "ListenOverflows": "accept queue full: connections dropped (the listener accepts too "
                       "slowly or its backlog is small)",
    "ListenDrops": "SYNs dropped at a listener",
    "TCPAbortOnTimeout": "connections given up after retransmits timed out",
    "TCPAbortOnMemory": "connections aborted: TCP ran out of memory",
    "TCPAbortOnData": "connections reset: data arrived after close",
    "TCPAbortOnClose": "connections reset: closed with unread data",
    "TCPTimeWaitOverflow": "TIME_WAIT sockets not kept: tcp_max_tw_buckets reached",
    "TCPBacklogDrop": "segments dropped: socket backlog full",
    "TCPReqQFullDrop": "SYNs dropped: request queue full (no syncookies)",
    "TCPReqQFullDoCookies": "SYN cookies sent: request queue full",
}


def parse_sockstat(text: str) -> dict[str, dict[str, int]]:
    """`TCP: inuse 5 orphan 0 tw 1 …` lines -> {"TCP": {"inuse": 5, …}}."""
    out: dict[str, dict[str, int]] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        words = rest.split()
        values = {}
        for key, value in zip(words[::2], words[1::2], strict=False):
            if value.lstrip("-").isdecimal():
                values[key] = int(value)
        if name.strip():
            out[name.strip()] = values
    return out


def parse_netstat(text: str) -> dict[str, int]:
    """/proc/net/netstat (or snmp): pairs of header and value lines -> {"ListenDrops": 0}."""
    out: dict[str, int] = {}
    lines = text.splitlines()
    for head, values in zip(lines[::2], lines[1::2], strict=False):
        keys, nums = head.split()[1:], values.split()[1:]
        for key, value in zip(keys, nums, strict=False):
            if value.lstrip("-").isdecimal():
                out[key] = int(value)
    return out


@dataclass
class Summary:
    total: int = 0
    by_netid: Counter[str] = field(default_factory=Counter)
    tcp_states: Counter[str] = field(default_factory=Counter)
    by_family: Counter[int] = field(default_factory=Counter)
    ephemeral_used: int = 0
    port_range: tuple[int, int] | None = None
    orphans: int | None = None
    trouble: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        """One line: totals by protocol and TCP state, orphans, ephemeral ports used."""
        tcp = sum(self.tcp_states.values())
        states = ", ".join(f"{n.lower()} {c}" for n, c in sorted(
            self.tcp_states.items(), key=lambda kv: -kv[1]))
        parts = [f"{self.total} sockets"]
        parts.append(f"TCP {tcp}" + (f" ({states})" if states else ""))
        parts += [f"{n} {c}" for n, c in sorted(self.by_netid.items()) if n != "tcp" and c]
        if self.orphans:
            parts.append(f"orphans {self.orphans}")
        if self.port_range is not None:
            low, high = self.port_range
            size = high - low + 1
            parts.append(f"ephemeral ports {self.ephemeral_used}/{size}"
                         f" ({100 * self.ephemeral_used / max(size, 1):.0f}%)")
        return "; ".join(parts)

    def trouble_lines(self) -> list[str]:
        return [f"{key} {value}: {TROUBLE[key]}" for key, value in self.trouble.items()]


def summarize(rows: Iterable[RawRow], sockstat: Mapping[str, Mapping[str, int]] | None = None,
              netstat: Mapping[str, int] | None = None,
              port_range: tuple[int, int] | None = None) -> Summary:
    s = Summary(port_range=port_range)
    low, high = port_range or (1, 0)
    ports: set[int] = set()
    kinds: Counter[int] = Counter()
    states: Counter[int] = Counter()
    for r in rows:
        kinds[r[F_KIND]] += 1
        s.by_family[r[F_FAMILY]] += 1
        if r[F_KIND] == KIND_TCP:
            states[r[F_STATE]] += 1
            if r[F_FAMILY] in (AF_INET, AF_INET6):
                port = swap16(r[F_SPORT])
                if low <= port <= high:
                    ports.add(port)
    s.total = sum(kinds.values())
    for kind, count in kinds.items():
        s.by_netid[NETIDS.get(kind, "?")] += count
    for state, count in states.items():
        s.tcp_states[STATE_NAMES.get(state, "UNKNOWN")] += count
    s.ephemeral_used = len(ports)
    if sockstat:
        s.orphans = sockstat.get("TCP", {}).get("orphan")
    if netstat:
        s.trouble = {k: netstat[k] for k in TROUBLE if netstat.get(k)}
    return s


def time_wait_count(rows: Iterable[RawRow]) -> int:
    return sum(1 for r in rows if r[F_STATE] == TIME_WAIT and r[F_KIND] == KIND_TCP)
