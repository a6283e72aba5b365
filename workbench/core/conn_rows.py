"""Readable rows of the connection table: for what is on screen, JSON and explanations.

The table itself stays raw (core.conntable); a `ConnRow` is made per row shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from workbench.core.conntable import (
    F_COOKIE,
    F_FAMILY,
    F_INODE,
    F_RQ,
    F_UID,
    F_WQ,
    SKMEM,
    TCP_INFO,
    Extras,
    Owner,
    Owners,
    RawRow,
    address,
    netid,
    state_name,
    timer_text,
)


@dataclass(frozen=True, slots=True)
class ConnRow:
    """One row made readable: for what is on screen, JSON and explanations."""

    netid: str
    state: str
    recv_q: int
    send_q: int
    local: str
    peer: str
    inode: int
    uid: int
    cookie: int
    timer: str
    family: int
    processes: tuple[Owner, ...] = ()
    mine: bool = False
    extras: Extras | None = None

    @property
    def process(self) -> str:
        return ",".join(str(o) for o in self.processes)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "netid": self.netid, "state": self.state, "recv_q": self.recv_q,
            "send_q": self.send_q, "local": self.local, "peer": self.peer,
            "uid": self.uid}
        if self.inode > 0:  # 0: TIME_WAIT and the like; below 0: a stand-in (saved output)
            out["inode"] = self.inode
        if self.timer:
            out["timer"] = self.timer
        if self.processes:
            out["processes"] = [{"pid": o.pid, "name": o.name} for o in self.processes]
        if self.mine:
            out["mine"] = True
        if self.extras is not None:
            out.update(extras_json(self.extras))
        return out


def extras_json(extras: Extras) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if extras.info is not None:
        out["tcp_info"] = dict(zip(TCP_INFO, extras.info, strict=False))
    if extras.skmem is not None:
        out["skmem"] = dict(zip(SKMEM, extras.skmem, strict=False))
    return out


def view(row: RawRow, owners: Owners | None = None, mine: Iterable[int] = (),
         extras: Mapping[int, Extras] | None = None,
         ifnames: Mapping[int, str] | None = None) -> ConnRow:
    inode = row[F_INODE]
    return ConnRow(
        netid(row), state_name(row), row[F_RQ], row[F_WQ], address(row, True, ifnames),
        address(row, False, ifnames), inode, row[F_UID], row[F_COOKIE], timer_text(row),
        row[F_FAMILY], owners.get(inode, ()) if owners and inode else (),
        bool(inode) and inode in mine,
        extras.get(row[F_COOKIE]) if extras else None)


