"""The connection table as text, the way `ss` lays it out: columns sized to their content.

Columns are named; each has a header, an alignment and a cell function of a raw row.
The base columns are those of `ss -an` (Netid, State, Recv-Q, Send-Q, Local, Peer)
plus Process; rtt, cwnd, retrans, timer, uid, inode and skmem are optional.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from itertools import repeat
from operator import itemgetter

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
    address_column,
    timer_text,
)


class _Names(dict[int, str]):
    """A name table that answers for numbers it does not know (C-speed lookups)."""

    def __init__(self, names: Mapping[int, str], unknown: str) -> None:
        super().__init__(names)
        self.unknown = unknown

    def __missing__(self, key: int) -> str:
        return self.unknown


_NETIDS = _Names(NETIDS, "?")
_STATES = _Names(STATE_NAMES, "UNKNOWN")


class Context:
    """What cells may need beyond the row."""

    __slots__ = ("extras", "ifnames", "mine", "owners")

    def __init__(self, owners: Owners | None = None, extras: Mapping[int, Extras] | None = None,
                 ifnames: Mapping[int, str] | None = None,
                 mine: Collection[int] = frozenset()) -> None:
        self.owners: Owners = owners if owners is not None else {}
        self.extras: Mapping[int, Extras] = extras if extras is not None else {}
        self.ifnames: Mapping[int, str] = ifnames if ifnames is not None else {}
        self.mine = mine


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


Bulk = Callable[[Sequence[RawRow], Context], list[str]]


class Column:
    """A column: the word that names it, its header, a cell function, its alignment, and
    optionally a function filling the whole column at once (the headless path)."""

    __slots__ = ("bulk", "cell", "header", "name", "right")

    def __init__(self, name: str, header: str, cell: Cell, right: bool = False,
                 bulk: Bulk | None = None) -> None:
        self.name, self.header, self.cell, self.right = name, header, cell, right
        self.bulk = bulk


COLUMNS: dict[str, Column] = {c.name: c for c in (
    Column("netid", "Netid", lambda r, c: NETIDS.get(r[F_KIND], "?"),
           bulk=lambda rows, c: list(map(_NETIDS.__getitem__, map(itemgetter(F_KIND), rows)))),
    Column("state", "State", lambda r, c: STATE_NAMES.get(r[F_STATE], "UNKNOWN"),
           bulk=lambda rows, c: list(map(_STATES.__getitem__, map(itemgetter(F_STATE), rows)))),
    Column("recv-q", "Recv-Q", lambda r, c: str(r[F_RQ]),
           bulk=lambda rows, c: list(map(str, map(itemgetter(F_RQ), rows)))),
    Column("send-q", "Send-Q", lambda r, c: str(r[F_WQ]),
           bulk=lambda rows, c: list(map(str, map(itemgetter(F_WQ), rows)))),
    Column("local", "Local Address:Port", lambda r, c: address(r, True, c.ifnames), True,
           bulk=lambda rows, c: address_column(rows, True, c.ifnames)),
    Column("peer", "Peer Address:Port", lambda r, c: address(r, False, c.ifnames),
           bulk=lambda rows, c: address_column(rows, False, c.ifnames)),
    Column("queues", "Rq/Sq", lambda r, c: f"{r[F_RQ]}/{r[F_WQ]}"),
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
        col = COLUMNS[name]
        if col.bulk is not None:
            out.append(col.bulk(rows, ctx))
        else:
            cell = col.cell
            out.append([cell(r, ctx) for r in rows])
    return out


def render(rows: Sequence[RawRow], columns: Sequence[str], ctx: Context,
           header: bool = True) -> list[str]:
    """Lines as `ss` prints them: columns as wide as their widest cell, one space apart."""
    cols = cells(rows, columns, ctx)
    heads = [COLUMNS[n].header for n in columns]
    widths = [max(len(h) if header else 0, max(map(len, c), default=0))
              for h, c in zip(heads, cols, strict=True)]
    padded = []
    for at, (name, width, col) in enumerate(zip(columns, widths, cols, strict=True)):
        if at == len(columns) - 1 and not COLUMNS[name].right:
            padded.append(col)  # the last column is not padded: no trailing blanks
        else:
            pad = str.rjust if COLUMNS[name].right else str.ljust
            padded.append(list(map(pad, col, repeat(width))))
    lines = [" ".join(h.rjust(w) if COLUMNS[n].right else h.ljust(w)
                      for n, h, w in zip(columns, heads, widths, strict=True)).rstrip()
             ] if header else []
    joined = map(" ".join, zip(*padded, strict=True))
    # a last column that may be empty (Process) would leave the padding before it
    lines.extend(map(str.rstrip, joined) if columns[-1] not in BASE else joined)
    return lines
