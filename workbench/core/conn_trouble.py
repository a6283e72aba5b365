"""Trouble spotted in the connection table: pile-ups that usually mean a bug or a limit.

Each finding is one line saying what piles up, who holds it and what it usually means:
CLOSE-WAIT sockets a program never closes, a listener whose accept queue is full,
half-open connections at a listener, TIME-WAIT sockets eating the ephemeral ports.
States are looked at only when their count could reach a threshold, so a table of
60,000 sockets is read in a few passes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from workbench.core.conntable import (
    CLOSE_WAIT,
    F_INODE,
    F_KIND,
    F_RQ,
    F_SPORT,
    F_STATE,
    F_WQ,
    KIND_TCP,
    LISTEN,
    NEW_SYN_RECV,
    SYN_RECV,
    TIME_WAIT,
    Owners,
    RawRow,
    address,
    swap16,
)

CLOSE_WAIT_MANY = 10  # per process: one or two is a peer that just hung up
SYN_RECV_MANY = 100  # per listening port
TIME_WAIT_SHARE = 0.5  # of the ephemeral port range
QUEUE_FULL = 0.8  # of a listener's backlog


def _holder(row: RawRow, owners: Owners) -> str:
    found = owners.get(row[F_INODE], ())
    return str(found[0]) if found else ""


def _close_wait(rows: Sequence[RawRow], owners: Owners) -> list[str]:
    waiting = [r for r in rows if r[F_STATE] == CLOSE_WAIT and r[F_KIND] == KIND_TCP]
    by: Counter[str] = Counter(_holder(r, owners) or address(r, True).rpartition(":")[0]
                               for r in waiting)
    return [f"{count} CLOSE-WAIT held by {who}: a program that never closes sockets whose "
            "peer hung up (it must read to EOF and close)"
            for who, count in by.most_common(3) if count >= CLOSE_WAIT_MANY]


def _full_queues(rows: Sequence[RawRow], owners: Owners) -> list[str]:
    out = []
    for r in rows:
        if r[F_STATE] == LISTEN and r[F_KIND] == KIND_TCP and r[F_WQ] and \
                r[F_RQ] >= QUEUE_FULL * r[F_WQ]:
            who = _holder(r, owners)
            out.append(f"the accept queue of {address(r, True)} is "
                       f"{'full' if r[F_RQ] >= r[F_WQ] else 'filling'} ({r[F_RQ]} of "
                       f"{r[F_WQ]}): {who or 'its program'} accepts too slowly; new "
                       "connections are dropped when it is full")
    return out[:3]


def _half_open(rows: Sequence[RawRow]) -> list[str]:
    ports = Counter(swap16(r[F_SPORT]) for r in rows
                    if r[F_STATE] in (SYN_RECV, NEW_SYN_RECV) and r[F_KIND] == KIND_TCP)
    return [f"{count} half-open connections on port {port}: a SYN flood, or clients lost "
            "mid-handshake (SYN cookies help)"
            for port, count in ports.most_common(3) if count >= SYN_RECV_MANY]


def _ephemeral(rows: Sequence[RawRow], port_range: tuple[int, int] | None) -> list[str]:
    if port_range is None:
        return []
    low, high = port_range
    size = high - low + 1
    used = {swap16(r[F_SPORT]) for r in rows
            if r[F_STATE] == TIME_WAIT and r[F_KIND] == KIND_TCP}
    held = sum(1 for p in used if low <= p <= high)
    if held < TIME_WAIT_SHARE * size:
        return []
    return [f"TIME-WAIT holds {held} of the {size} ephemeral ports: new connections may "
            "fail with EADDRNOTAVAIL; reuse connections (keep-alive, pools)"]


def pileups(rows: Sequence[RawRow], states: Counter[str] | dict[str, int],
            owners: Owners | None = None,
            port_range: tuple[int, int] | None = None) -> list[str]:
    """Findings for the table; `states` are its TCP state counts (the summary's), which
    decide what is worth a pass over the rows."""
    owners = owners or {}
    out: list[str] = []
    if states.get("CLOSE-WAIT", 0) >= CLOSE_WAIT_MANY:
        out += _close_wait(rows, owners)
    if states.get("LISTEN", 0):
        out += _full_queues(rows, owners)
    if states.get("SYN-RECV", 0) >= SYN_RECV_MANY:
        out += _half_open(rows)
    if port_range is not None and \
            states.get("TIME-WAIT", 0) >= TIME_WAIT_SHARE * (port_range[1] - port_range[0]):
        out += _ephemeral(rows, port_range)
    return out
