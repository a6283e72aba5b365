"""The connection table as text, the way `ss` lays it out: columns sized to their content.

Columns are named; each has a header, an alignment and a cell function of a raw row.
The base columns are those of `ss -an` (Netid, State, Recv-Q, Send-Q, Local, Peer)
plus Process; rtt, cwnd, retrans, timer, uid, inode and skmem are optional.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from workbench.core.conntable import (
    F_COOKIE,
    F_INODE,
    F_KIND,
    F_RQ,
    F_STATE,
    F_UID,
    F_WQ,
    NETIDS,
    SKMEM,
    STATE_NAMES,
    TI_CWND,
    TI_RETRANS,
    TI_RTT,
    TI_RTTVAR,
    TI_TOTAL_RETRANS,
    Extras,
    Owners,
    RawRow,
    address,
    timer_text,
)


@dataclass
class Context:
    """What cells may need beyond the row."""

    owners: Owners = field(default_factory=dict)
    extras: Mapping[int, Extras] = field(default_factory=dict)
    ifnames: Mapping[int, str] = field(default_factory=dict)
    mine: Collection[int] = frozenset()


Cell = Callable[[RawRow, Context], str]


def _info(row: RawRow, ctx: Context) -> tuple[int, ...] | None:
    extras = ctx.extras.get(row[F_COOKIE])
    return extras.info if extras is not None else None


def _rtt(row: RawRow, ctx: Context) -> str:
    info = _info(row, ctx)
    return f"{info[TI_RTT] / 1000:g}/{info[TI_RTTVAR] / 1000:g}" if info else ""


def _cwnd(row: RawRow, ctx: Context) -> str:
    info = _info(row, ctx)
    return str(info[TI_CWND]) if info else ""


def _retrans(row: RawRow, ctx: Context) -> str:
    info = _info(row, ctx)
    return f"{info[TI_RETRANS]}/{info[TI_TOTAL_RETRANS]}" if info else ""


def _skmem(row: RawRow, ctx: Context) -> str:
    extras = ctx.extras.get(row[F_COOKIE])
    if extras is None or extras.skmem is None:
        return ""
    return "skmem:(" + ",".join(f"{k}{v}" for k, v in zip(SKMEM, extras.skmem,
                                                         strict=False)) + ")"


def _process(row: RawRow, ctx: Context) -> str:
    owners = ctx.owners.get(row[F_INODE], ())
    text = ",".join(f'("{o.name}",pid={o.pid})' for o in owners)
    if row[F_INODE] and row[F_INODE] in ctx.mine:
        text = "mine " + text if text else "mine"
    return text


@dataclass(frozen=True)
class Column:
    name: str  # the word to choose it (--columns, the pane's toggles)
    header: str
    cell: Cell
    right: bool = False


COLUMNS: dict[str, Column] = {c.name: c for c in (
    Column("netid", "Netid", lambda r, c: NETIDS.get(r[F_KIND], "?")),
    Column("state", "State", lambda r, c: STATE_NAMES.get(r[F_STATE], "UNKNOWN")),
    Column("recv-q", "Recv-Q", lambda r, c: str(r[F_RQ])),
    Column("send-q", "Send-Q", lambda r, c: str(r[F_WQ])),
    Column("local", "Local Address:Port", lambda r, c: address(r, True, c.ifnames), True),
    Column("peer", "Peer Address:Port", lambda r, c: address(r, False, c.ifnames)),
    Column("process", "Process", _process),
    Column("rtt", "rtt/var ms", _rtt, True),
    Column("cwnd", "cwnd", _cwnd, True),
    Column("retrans", "retrans", _retrans, True),
    Column("timer", "Timer", lambda r, c: timer_text(r)),
    Column("uid", "uid", lambda r, c: str(r[F_UID]), True),
    Column("inode", "inode", lambda r, c: str(r[F_INODE]), True),
    Column("skmem", "skmem", _skmem),
)}
BASE = ("netid", "state", "recv-q", "send-q", "local", "peer")
OPTIONAL = ("process", "rtt", "cwnd", "retrans", "timer", "uid", "inode", "skmem")
NEEDS_INFO = frozenset({"rtt", "cwnd", "retrans"})


def cells(rows: Sequence[RawRow], columns: Sequence[str], ctx: Context) -> list[list[str]]:
    """Each column's cells, column by column (a column is filled in one pass)."""
    out = []
    for name in columns:
        cell = COLUMNS[name].cell
        out.append([cell(r, ctx) for r in rows])
    return out


def render(rows: Sequence[RawRow], columns: Sequence[str], ctx: Context,
           header: bool = True) -> list[str]:
    """Lines as `ss` prints them: columns as wide as their widest cell, one space apart."""
    cols = cells(rows, columns, ctx)
    heads = [COLUMNS[n].header for n in columns]
    widths = [max(len(h) if header else 0, max(map(len, c), default=0))
              for h, c in zip(heads, cols, strict=True)]
    fmt = " ".join(f"{{:{'>' if COLUMNS[n].right else '<'}{w}}}"
                   for n, w in zip(columns, widths, strict=True))
    lines = [fmt.format(*heads).rstrip()] if header else []
    lines.extend(fmt.format(*cells_of).rstrip() for cells_of in zip(*cols, strict=True))
    return lines
