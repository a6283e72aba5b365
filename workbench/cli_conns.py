"""`workbench conns`: the machine's connection table, printed like `ss`, or as JSON.

Kept light on purpose: it imports the netlink source and the core's table code only
when it runs (no textual, no numpy), so as a whole process it stays close to `ss`.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

FILTER_HELP = ("Filter words: tcp udp raw unix v4 v6, a state (listen estab time-wait "
               "close-wait …, or connected), :PORT or :LOW-HIGH, sport:PORT dport:PORT, an "
               "address or CIDR (src:/dst: for one side), proc:NAME pid:N; words of one kind "
               "widen, kinds narrow (tcp listen :22)")
COLUMN_WORDS = "rtt,cwnd,retrans,timer,uid,inode,skmem"


def _columns(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in COLUMN_WORDS.split(",")]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown column {(bad or [text])[0][:30]!r}: choose from {COLUMN_WORDS}")
    return names


def add_conns_parser(sub: Any) -> None:
    conns = sub.add_parser(
        "conns", help="print the connection table (TCP, UDP, raw, Unix) like ss",
        description="Print the machine's sockets from netlink sock_diag, the way `ss -an` "
                    "does, optionally with owning processes, TCP_INFO and memory. "
                    + FILTER_HELP + ". A word it does not know is exit 2.")
    conns.add_argument("filter", nargs="*", metavar="WORD", help="filter words (see above)")
    conns.add_argument("-p", "--processes", action="store_true",
                       help="show the processes holding each socket (scans /proc)")
    conns.add_argument("-o", "--columns", type=_columns, default=[], metavar="LIST",
                       help=f"more columns, comma-separated: {COLUMN_WORDS}")
    conns.add_argument("--sort", default="", metavar="COLUMN",
                       help="sort by netid, state, recv-q, send-q, local, peer, process, "
                            "inode, uid or timer (default: the kernel's order)")
    conns.add_argument("-r", "--reverse", action="store_true", help="sort descending")
    conns.add_argument("-s", "--summary", action="store_true",
                       help="print a summary like ss -s after the table")
    conns.add_argument("-H", "--no-header", action="store_true", help="leave the header out")
    conns.add_argument("--json", action="store_true", help="print JSON rows")
    conns.add_argument("--from", dest="saved", metavar="FILE",
                       help="read saved output of ss (-tan, -tanp, -uanp, -xan, -tuxanp) or "
                            "netstat (-an, -tanp) instead of this machine's table; - reads "
                            "stdin")
    conns.set_defaults(run=cmd_conns, streamed=True, fast_exit=True)


def cmd_conns(args: argparse.Namespace) -> int:
    """The command. The collector is off while the table is made: tens of thousands
    of rows with no cycles among them, which it would only walk again and again; it is
    back on once they are gone (when `_conns` returns), so a caller in-process keeps it."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        return _conns(args)
    finally:
        if was:
            gc.enable()


def _conns(args: argparse.Namespace) -> int:
    from workbench.core.conn_filter import parse_filter
    from workbench.core.conntable import SORT_KEYS
    from workbench.core.errors import InputError

    flt = parse_filter(" ".join(args.filter))
    if flt.mine:
        raise InputError("filter 'mine' means the workbench's own sockets: it works in the "
                         "Conns pane; here use proc:NAME or pid:N")
    if args.sort and args.sort not in (*SORT_KEYS, "process"):
        raise InputError(f"cannot sort by {args.sort[:30]!r}: choose from "
                         f"{', '.join((*SORT_KEYS, 'process'))}")
    if args.saved:
        snap = _read_saved(args.saved)
    elif _streams(args, flt):
        return _stream_table(args, flt)
    else:
        snap = _fetch(args, flt)
    owners = snap.owners
    rows = flt.apply(snap.rows, owners)
    if args.sort:
        from workbench.core.conntable import sort_rows

        rows = sort_rows(rows, args.sort, args.reverse, owners)
    if args.json:
        _print_json(rows, snap, args)
    else:
        _print_table(rows, snap, args)
    return 0


def _streams(args: argparse.Namespace, flt: Any) -> bool:
    """Whether the table can be made while the dump arrives: printed in the kernel's
    order, with no column or filter that needs the owners or the extras, and no
    summary (it needs the rows, which a streamed table does not keep)."""
    return not (args.json or args.sort or args.processes or flt.needs_owners
                or args.summary or _want(args))


def _stream_table(args: argparse.Namespace, flt: Any) -> int:
    """The table as `_print_table` prints it, its cells made a datagram at a time while
    the kernel is still walking its table (the dump's other half runs meanwhile)."""
    import sys

    from workbench.core.conn_format import BASE, Context, Gathered

    # the reader thread waits for the interpreter's lock after each datagram while this
    # one formats: a short switch interval keeps the kernel's walk going (5 ms would
    # stall it once a datagram)
    was = sys.getswitchinterval()
    sys.setswitchinterval(0.0001)
    try:
        source = _source()
        table = Gathered([*BASE, *args.columns], Context(ifnames=source.ifnames))
        snap = _fetch(args, flt, source, lambda rows: table.add(flt.apply(rows)))
    finally:  # to the microsecond it is kept in: set as read, it would lose one
        sys.setswitchinterval(round(was, 6))
    _write(table.blocks(header=not args.no_header), snap, args)
    return 0


def _want(args: argparse.Namespace) -> int:
    """What the columns asked need besides the rows: TCP_INFO, skmem (WANT_* bits)."""
    from workbench.core.conn_format import NEEDS_INFO
    from workbench.io.conns.source import WANT_INFO, WANT_SKMEM

    return (WANT_INFO if NEEDS_INFO & set(args.columns) else 0) | (
        WANT_SKMEM if "skmem" in args.columns else 0)


def _source() -> Any:
    from workbench.io.conns.source import default_source

    return default_source()


def _fetch(args: argparse.Namespace, flt: Any, source: Any = None, each: Any = None) -> Any:
    from workbench.core.conntable import KIND_UNIX, UNIX_KINDS
    from workbench.core.errors import InputError
    from workbench.io.conns.source import ALL_KINDS

    kinds = tuple(k for k in ALL_KINDS if not flt.kinds or k in flt.kinds
                  or (k == KIND_UNIX and flt.kinds & set(UNIX_KINDS)))
    want = _want(args)
    source = _source() if source is None else source
    try:
        return source.fetch(kinds, want, owners=args.processes or flt.needs_owners
                            or args.sort == "process", each=each)
    except PermissionError as exc:
        raise InputError(f"cannot read the socket table: {exc.strerror}; run where "
                         "netlink sock_diag is allowed") from None
    finally:
        source.close()


SAVED_LIMIT = 64 << 20


def _read_saved(path: str) -> Any:
    """A Snapshot of saved ss or netstat output; lines it cannot read are said on stderr."""
    import os
    import stat
    import sys

    from workbench.cli_output import say
    from workbench.core.conn_parse import parse_table
    from workbench.core.errors import InputError
    from workbench.io.conns.source import Snapshot

    try:
        if path == "-":
            data = sys.stdin.buffer.read(SAVED_LIMIT + 1)
        else:
            if not stat.S_ISREG(os.stat(path).st_mode):
                raise InputError(f"{path}: not a regular file; give a file saved from ss or "
                                 "netstat, or - for stdin")
            with open(path, "rb") as f:
                data = f.read(SAVED_LIMIT + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}; give a file saved from ss "
                         "or netstat, or - for stdin") from None
    if len(data) > SAVED_LIMIT:
        raise InputError(f"{path}: over {SAVED_LIMIT >> 20} MiB; give a smaller file")
    parsed = parse_table(data.decode("utf-8", "replace"))
    if parsed.skipped:
        say(f"workbench: {len(parsed.skipped)} line(s) of {path} not read (first: line "
            f"{parsed.skipped[0]}); netstat needs --wide for long IPv6 addresses")
    return Snapshot(parsed.rows, 0.0, 0.0, {}, parsed.owners, parsed.ifnames,
                    f"{parsed.tool} output")


def _print_table(rows: list[Any], snap: Any, args: argparse.Namespace) -> None:
    from workbench.core.conn_format import BASE, Context, blocks, cells

    columns = [*BASE, *args.columns] + (["process"] if args.processes else [])
    ctx = Context(snap.owners, snap.extras, snap.ifnames)
    _write(blocks(cells(rows, columns, ctx), columns, not args.no_header), snap, args)


def _write(text: Iterable[str], snap: Any, args: argparse.Namespace) -> None:
    """The table's text a block at a time, then with --summary the summary and what
    piles up."""
    import sys

    for block in text:
        sys.stdout.write(block)
    if args.summary:
        from workbench.core.conn_trouble import pileups

        found = _summary(snap)
        print(found.line())
        for line in [*pileups(snap.rows, found.tcp_states, snap.owners, found.port_range),
                     *found.trouble_lines()]:
            print(f"  {line}")


def _summary(snap: Any) -> Any:
    """Like ss -s; the kernel's counters only for this machine's table, not a file's."""
    from workbench.core.conn_summary import summarize
    from workbench.io.conns import summary

    if snap.source != "netlink" and snap.source != "psutil":
        return summarize(snap.rows)
    return summarize(snap.rows, summary.sockstat(), summary.netstat(), summary.port_range())


def _print_json(rows: list[Any], snap: Any, args: argparse.Namespace) -> None:
    import json

    from workbench.core.conn_rows import view

    out: dict[str, Any] = {"source": snap.source, "at": round(snap.at, 3) if snap.at else None,
                           "rows": [view(r, snap.owners, (), snap.extras,
                                         snap.ifnames).to_json() for r in rows]}
    if args.summary:
        from workbench.core.conn_trouble import pileups

        s = _summary(snap)
        out["summary"] = {"line": s.line(), "by_netid": dict(s.by_netid),
                          "tcp_states": dict(s.tcp_states), "orphans": s.orphans,
                          "ephemeral_used": s.ephemeral_used, "trouble": s.trouble,
                          "pileups": pileups(snap.rows, s.tcp_states, snap.owners,
                                             s.port_range)}
    print(json.dumps(out, indent=1))
