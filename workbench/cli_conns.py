"""`workbench conns`: the machine's connection table, printed like `ss`, or as JSON.

Kept light on purpose: it imports the netlink source and the core's table code only
when it runs (no textual, no numpy), so as a whole process it stays close to `ss`.
"""

from __future__ import annotations

import argparse
import json
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
    conns.set_defaults(run=cmd_conns, buffered=True)


def cmd_conns(args: argparse.Namespace) -> int:
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


def _fetch(args: argparse.Namespace, flt: Any) -> Any:
    from workbench.core.conntable import KIND_UNIX, UNIX_KINDS
    from workbench.core.errors import InputError
    from workbench.io.conns.source import ALL_KINDS, WANT_INFO, WANT_SKMEM, default_source

    kinds = tuple(k for k in ALL_KINDS if not flt.kinds or k in flt.kinds
                  or (k == KIND_UNIX and flt.kinds & set(UNIX_KINDS)))
    want = (WANT_INFO if {"rtt", "cwnd", "retrans"} & set(args.columns) else 0) | (
        WANT_SKMEM if "skmem" in args.columns else 0)
    source = default_source()
    try:
        return source.fetch(kinds, want, owners=args.processes or flt.needs_owners
                            or args.sort == "process")
    except PermissionError as exc:
        raise InputError(f"cannot read the socket table: {exc.strerror}; run where "
                         "netlink sock_diag is allowed") from None
    finally:
        source.close()


def _print_table(rows: list[Any], snap: Any, args: argparse.Namespace) -> None:
    import sys

    from workbench.core.conn_format import BASE, Context, render

    columns = [*BASE, *args.columns] + (["process"] if args.processes else [])
    ctx = Context(snap.owners, snap.extras, snap.ifnames)
    lines = render(rows, columns, ctx, header=not args.no_header)
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
    if args.summary:
        print(_summary(snap.rows).line())
        for line in _summary(snap.rows).trouble_lines():
            print(f"  {line}")


def _summary(rows: list[Any]) -> Any:
    from workbench.core.conn_summary import summarize
    from workbench.io.conns import summary

    return summarize(rows, summary.sockstat(), summary.netstat(), summary.port_range())


def _print_json(rows: list[Any], snap: Any, args: argparse.Namespace) -> None:
    from workbench.core.conn_rows import view

    out: dict[str, Any] = {"source": snap.source, "at": round(snap.at, 3),
                           "rows": [view(r, snap.owners, (), snap.extras,
                                         snap.ifnames).to_json() for r in rows]}
    if args.summary:
        s = _summary(snap.rows)
        out["summary"] = {"line": s.line(), "by_netid": dict(s.by_netid),
                          "tcp_states": dict(s.tcp_states), "orphans": s.orphans,
                          "ephemeral_used": s.ephemeral_used, "trouble": s.trouble}
    print(json.dumps(out, indent=1))
