"""The connection table as text, the way `ss` lays it out: columns sized to their content.

Columns are named; each has a header, an alignment and a cell function of a raw row.
The base columns are those of `ss -an` (Netid, State, Recv-Q, Send-Q, Local, Peer)
plus Process; rtt, cwnd, retrans, timer, uid, inode and skmem are optional.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from itertools import islice
from operator import itemgetter
from typing import Any, NamedTuple

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
Halves = Callable[[Sequence[RawRow], Context], tuple[list[str], list[str]]]


class Column:
    """A column: the word that names it, its header, a cell function, its alignment, and
    optionally a function filling the whole column at once (the headless path)."""

    __slots__ = ("bulk", "cell", "field", "halves", "header", "name", "right")

    def __init__(self, name: str, header: str, cell: Cell, right: bool = False,
                 bulk: Bulk | None = None, field: int | None = None,
                 halves: Halves | None = None) -> None:
        self.name, self.header, self.cell, self.right = name, header, cell, right
        self.bulk, self.field = bulk, field  # field: a count read straight off the row
        # halves: an address as `ss` aligns it, the host (and its `:`) to the right of
        # its half and the port to the left of the other
        self.halves = halves


COLUMNS: dict[str, Column] = {c.name: c for c in (
    Column("netid", "Netid", lambda r, c: NETIDS.get(r[F_KIND], "?"),
           bulk=lambda rows, c: list(map(_NETIDS.__getitem__, map(itemgetter(F_KIND), rows)))),
    Column("state", "State", lambda r, c: STATE_NAMES.get(r[F_STATE], "UNKNOWN"),
           bulk=lambda rows, c: list(map(_STATES.__getitem__, map(itemgetter(F_STATE), rows)))),
    Column("recv-q", "Recv-Q", lambda r, c: str(r[F_RQ]), field=F_RQ),
    Column("send-q", "Send-Q", lambda r, c: str(r[F_WQ]), field=F_WQ),
    Column("local", "Local Address:Port", lambda r, c: address(r, True, c.ifnames), True,
           halves=lambda rows, c: address_column(rows, True, c.ifnames)),
    Column("peer", "Peer Address:Port", lambda r, c: address(r, False, c.ifnames),
           halves=lambda rows, c: address_column(rows, False, c.ifnames)),
    Column("queues", "Rq/Sq", lambda r, c: f"{r[F_RQ]}/{r[F_WQ]}"),
    Column("process", "Process", _process),
    Column("rtt", "rtt/var ms", _rtt, True),
    Column("cwnd", "cwnd", _cwnd, True),
    Column("retrans", "retrans", _retrans, True),
    Column("timer", "Timer", lambda r, c: timer_text(r)),
    Column("uid", "uid", lambda r, c: str(r[F_UID]), True, field=F_UID),
    Column("inode", "inode", lambda r, c: str(r[F_INODE]), True, field=F_INODE),
    Column("skmem", "skmem", _skmem),
)}
BASE = ("netid", "state", "recv-q", "send-q", "local", "peer")
OPTIONAL = ("process", "rtt", "cwnd", "retrans", "timer", "uid", "inode", "skmem")
NEEDS_INFO = frozenset({"rtt", "cwnd", "retrans"})


def cells(rows: Sequence[RawRow], columns: Sequence[str], ctx: Context) -> list[list[Any]]:
    """The cells, a list per column filled in one pass; a count column's cells stay
    ints (formatted with the line), an address column gives two lists (host, port)."""
    out: list[list[Any]] = []
    for name in columns:
        col = COLUMNS[name]
        if col.field is not None:
            out.append(list(map(itemgetter(col.field), rows)))
        elif col.halves is not None:
            out.extend(col.halves(rows, ctx))
        elif col.bulk is not None:
            out.append(col.bulk(rows, ctx))
        else:
            cell = col.cell
            out.append([cell(r, ctx) for r in rows])
    return out


def render(rows: Sequence[RawRow], columns: Sequence[str], ctx: Context,
           header: bool = True) -> list[str]:
    """Lines as `ss` prints them: columns as wide as their widest cell, one space apart."""
    return lay_out(cells(rows, columns, ctx), columns, header)


class Gathered:
    """Cells gathered a batch of rows at a time (while a dump is still arriving), laid
    out once the last batch is in: the same lines `render` makes of all the rows."""

    def __init__(self, columns: Sequence[str], ctx: Context) -> None:
        self.columns, self.ctx = columns, ctx
        self.cols: list[list[Any]] = []

    def add(self, rows: Sequence[RawRow]) -> None:
        new = cells(rows, self.columns, self.ctx)
        if not self.cols:
            self.cols = new
            return
        for col, more in zip(self.cols, new, strict=True):
            col.extend(more)

    def blocks(self, header: bool = True) -> Iterator[str]:
        if not self.cols:
            self.cols = cells((), self.columns, self.ctx)
        return blocks(self.cols, self.columns, header)


def _width(values: list[Any], head: str, number: bool) -> int:
    if not values:
        return len(head)
    if number:  # ints: the widest is the largest or the most negative
        return max(len(head), len(str(max(values))), len(str(min(values))))
    return max(len(head), max(map(len, values)))


class _Field(NamedTuple):
    head: str
    width: int
    form: str  # a `%` conversion, `{}` where its width goes
    joined: bool = False  # no space before it: a port after its host


def _fields(cols: list[list[Any]], columns: Sequence[str], header: bool) -> list[_Field]:
    """Each field of a line; an address column is two, its header cut after the colon."""
    fields = []
    values = iter(cols)
    for at, name in enumerate(columns):
        col = COLUMNS[name]
        last = at == len(columns) - 1
        if col.halves is not None:
            host, colon, port = col.header.rpartition(":")
            host, port = (host + colon, port) if header else ("", "")
            fields.append(_Field(host, _width(next(values), host, False), "%{}s"))
            fields.append(_Field(port, _width(next(values), port, False),
                                 "%s" if last else "%-{}s", joined=True))
            continue
        number = col.field is not None
        head = col.header if header else ""
        conversion = "d" if number else "s"
        if last and not col.right:  # the last column is not padded: no trailing blanks
            form = "%" + conversion
        else:
            form = "%" + ("" if col.right else "-") + "{}" + conversion
        fields.append(_Field(head, _width(next(values), head, number), form))
    return fields


def _template(cols: list[list[Any]], columns: Sequence[str], header: bool) -> tuple[str, str]:
    """The `%` format of a line and the header line, from the widths of the cells."""
    fmt = head = ""
    for at, field in enumerate(_fields(cols, columns, header)):
        glue = "" if at == 0 or field.joined else " "
        fmt += glue + field.form.format(field.width)
        left = field.form.startswith("%-") or "{" not in field.form
        head += glue + (field.head.ljust(field.width) if left else field.head.rjust(field.width))
    return fmt, head.rstrip()


def _formatted(fmt: str, rows: Iterator[tuple[Any, ...]], columns: Sequence[str]
               ) -> Iterator[str]:
    joined = map(fmt.__mod__, rows)
    # a last column that may be empty (Process) would leave the padding before it
    return map(str.rstrip, joined) if columns[-1] not in BASE else joined


def lay_out(cols: list[list[Any]], columns: Sequence[str], header: bool = True) -> list[str]:
    """Lines of cells made by `cells`: each line is one `%` format of its cells (60,000
    lines in a few milliseconds)."""
    fmt, head = _template(cols, columns, header)
    lines = [head] if header else []
    lines.extend(_formatted(fmt, zip(*cols, strict=True), columns))
    return lines


BLOCK = 2048  # lines a block of text holds


def blocks(cols: list[list[Any]], columns: Sequence[str], header: bool = True
           ) -> Iterator[str]:
    """The lines of `lay_out` as blocks of text, each ending in a newline: written one
    at a time, a table of 60,000 rows is never held whole as lines and as text again."""
    fmt, head = _template(cols, columns, header)
    if header:
        yield head + "\n"
    rows = zip(*cols, strict=True)
    while block := "\n".join(_formatted(fmt, islice(rows, BLOCK), columns)):
        yield block + "\n"
