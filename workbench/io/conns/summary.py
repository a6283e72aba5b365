"""The kernel's socket counters for the summary: sockstat, netstat, the ephemeral range."""

from __future__ import annotations

from workbench.core.conn_summary import parse_netstat, parse_sockstat

SOCKSTAT = "/proc/net/sockstat"
NETSTAT = "/proc/net/netstat"
PORT_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:  # not Linux, or not mounted: the summary goes without
        return ""


def sockstat() -> dict[str, dict[str, int]]:
    return parse_sockstat(_read(SOCKSTAT))


def netstat() -> dict[str, int]:
    return parse_netstat(_read(NETSTAT))


def port_range() -> tuple[int, int] | None:
    words = _read(PORT_RANGE).split()
    if len(words) == 2 and all(w.isdecimal() for w in words):
        return int(words[0]), int(words[1])
    return None
