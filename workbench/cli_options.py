"""`workbench options [--json] [FILTER]`: the socket option catalog with this machine's
availability and the values a fresh TCP and UDP socket start with.

Light on purpose: the catalog and a few sockets, nothing from textual.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

LEVEL_WORDS = {"socket": "SOL_SOCKET", "ip": "IPPROTO_IP", "ipv6": "IPPROTO_IPV6",
               "tcp": "IPPROTO_TCP", "udp": "IPPROTO_UDP"}
SHORT_LEVEL = {v: k for k, v in LEVEL_WORDS.items()}
FILTER_HELP = ("a level (socket, ip, ipv6, tcp, udp) or part of an option's name "
               "(keep, MULTICAST, so_rcvbuf); one option shows in full")
WIDTHS = (25, 2, 14, 17, 17)  # name, access, type, tcp, udp: 79 columns with the gaps


def add_options_parser(sub: Any) -> None:
    options = sub.add_parser(
        "options", help="the socket option catalog: availability here and defaults",
        description="Print every socket option the workbench knows: its level, value type, "
                    "whether it can be read and written, whether this machine has it, and "
                    "its value on a fresh TCP and UDP socket (IPv6 options on IPv6 ones). "
                    "FILTER is " + FILTER_HELP + "; a filter that matches nothing is exit 2.")
    options.add_argument("filter", nargs="?", default="", metavar="FILTER",
                         help=FILTER_HELP)
    options.add_argument("--json", action="store_true", help="print JSON")
    options.set_defaults(run=cmd_options, buffered=True)


def select(text: str) -> list[Any]:
    """The options a filter names; a one-line InputError when it names none."""
    from workbench.core.errors import InputError
    from workbench.core.options import all_options

    word = text.strip()
    if not word:
        return list(all_options())
    level = LEVEL_WORDS.get(word.lower())
    if level is not None:
        return [s for s in all_options() if s.level_name == level]
    chosen = [s for s in all_options() if word.upper() in s.name]
    exact = [s for s in chosen if s.name == word.upper()]
    if exact or chosen:
        return exact or chosen
    shown = word if len(word) <= 30 else word[:27] + "..."
    raise InputError(f"no socket option matches {shown!r}: give {FILTER_HELP}")


def cmd_options(args: argparse.Namespace) -> int:
    from workbench.io.inspectors import available
    from workbench.io.option_limits import read_limits

    specs = select(args.filter)
    defaults = _defaults()
    rows = [(spec, available(spec)) for spec in specs]
    if args.json:
        items = [_json_row(spec, avail, defaults) for spec, avail in rows]
        print(json.dumps({"options": items, "limits": read_limits()}, indent=2))
    elif len(rows) == 1:
        _print_one(*rows[0], defaults)
    else:
        _print_table(rows, defaults)
    return 0


def _defaults() -> dict[tuple[str, str], dict[str, Any]]:
    """Option values on fresh sockets: (family, type) -> name -> value or Unreadable."""
    from workbench.io.inspectors import fresh_values

    out: dict[tuple[str, str], dict[str, Any]] = {}
    for family in ("inet", "inet6"):
        for sock_type in ("stream", "dgram"):
            try:
                out[family, sock_type] = fresh_values(family, sock_type)
            except OSError:  # no IPv6 here
                out[family, sock_type] = {}
    return out


def _family_of(spec: Any) -> str:
    return "inet6" if spec.families == ("inet6",) else "inet"


def _default(spec: Any, sock_type: str, defaults: dict[tuple[str, str], dict[str, Any]]
             ) -> tuple[str, Any]:
    """("value", v), ("errno", name), ("write-only", None) or ("n/a", None)."""
    from workbench.core.options import Unreadable

    if sock_type not in spec.types:
        return "n/a", None
    if spec.writeonly:
        return "write-only", None
    value = defaults.get((_family_of(spec), sock_type), {}).get(spec.name)
    if value is None:
        return "n/a", None
    if isinstance(value, Unreadable):
        return "errno", value.errno
    return "value", value


def _access(spec: Any) -> str:
    return "ro" if spec.readonly else "wo" if spec.writeonly else "rw"


def _json_row(spec: Any, avail: bool | None, defaults: dict[tuple[str, str], dict[str, Any]]
              ) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": spec.name, "level": spec.level_name, "level_number": spec.level,
        "number": spec.optname, "codec": spec.codec, "kind": spec.kind,
        "access": _access(spec), "families": list(spec.families), "types": list(spec.types),
        "states": spec.states, "unit": spec.unit, "low": spec.low, "high": spec.high,
        "available": avail, "summary": spec.summary, "when": spec.when,
        "pitfalls": spec.pitfalls, "example": spec.example,
        "c": {"level": spec.c_level, "name": spec.c_name, "type": spec.c_type},
        "python": spec.py, "defaults": {},
    }
    for label, sock_type in (("tcp", "stream"), ("udp", "dgram")):
        what, value = _default(spec, sock_type, defaults)
        if what == "value":
            out["defaults"][label] = value
        elif what == "errno":
            out["defaults"][label] = {"errno": value}
    return out


def _cell(spec: Any, sock_type: str, defaults: dict[tuple[str, str], dict[str, Any]]) -> str:
    from workbench.core.options import format_option_value
    from workbench.core.tcp_info import format_tcp_info

    what, value = _default(spec, sock_type, defaults)
    if what == "value":
        return format_tcp_info(None, value) if spec.codec == "tcp_info" else \
            format_option_value(spec, value)
    if what == "errno":
        return value
    return "-" if what == "n/a" else what


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _line(cells: tuple[str, ...]) -> str:
    return " ".join(_fit(c, w).ljust(w) for c, w in zip(cells, WIDTHS, strict=True)).rstrip()


def _print_table(rows: list[tuple[Any, bool | None]],
                 defaults: dict[tuple[str, str], dict[str, Any]]) -> None:
    print(_line(("OPTION", "RW", "TYPE", "FRESH TCP", "FRESH UDP")))
    level = ""
    missing = 0
    for spec, avail in rows:
        if spec.level_name != level:
            level = spec.level_name
            print(f"-- {level}")
        name = spec.name if avail is not False else f"{spec.name} (missing)"
        missing += avail is False
        print(_line((name, _access(spec), spec.codec, _cell(spec, "stream", defaults),
                     _cell(spec, "dgram", defaults))))
    print(f"{len(rows)} options, {len(rows) - missing} on this machine; IPV6_* read on IPv6 "
          "sockets; - does not apply")


def _print_one(spec: Any, avail: bool | None,
               defaults: dict[tuple[str, str], dict[str, Any]]) -> None:
    from workbench.core.options import value_form

    here = {True: "yes", False: "no (the kernel does not know it)", None: "unknown"}[avail]
    rng = "" if spec.low is None and spec.high is None else \
        f", range {spec.low if spec.low is not None else 'C int'}.." \
        f"{spec.high if spec.high is not None else 'C int'}"
    lines = [
        f"{spec.name} ({spec.level_name}, {spec.optname}): {spec.summary}",
        f"  value:    {spec.codec} ({value_form(spec)}){rng}"
        + (f", in {spec.unit}" if spec.unit else ""),
        f"  access:   {_access(spec)}, set {spec.states}; available here: {here}",
        f"  applies:  {'/'.join(spec.families)} {'/'.join(spec.types)}",
        f"  fresh:    TCP {_cell(spec, 'stream', defaults)}, "
        f"UDP {_cell(spec, 'dgram', defaults)}",
        f"  when:     {spec.when}",
        f"  pitfalls: {spec.pitfalls}",
        f"  C:        setsockopt(fd, {spec.c_level}, {spec.c_name}, &v, sizeof v) "
        f"/* {spec.c_type} */",
        f"  Python:   sock.setsockopt({spec.py}, v)",
    ]
    print("\n".join(lines))
