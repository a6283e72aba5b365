"""Catalog of socket options: levels, numbers, where they apply, and value parsing.

Only integer options for now (kind "bool" or "int"); structured options
("struct", "bytes") get their own codecs later. An option is listed only when this
platform defines its constant, with Linux numbers for a few that Python lacks.
"""

from __future__ import annotations

import difflib
import re
import socket
import sys
from dataclasses import dataclass
from functools import cache

from workbench.core.errors import InputError

FAMILIES = ("inet", "inet6", "unix")
SOCK_TYPES = ("stream", "dgram", "seqpacket", "raw")


@dataclass(frozen=True)
class OptionSpec:
    name: str  # "SO_REUSEADDR"
    level_name: str  # "SOL_SOCKET" | "IPPROTO_TCP" | "IPPROTO_IP" | "IPPROTO_IPV6"
    level: int
    optname: int
    kind: str  # "bool" | "int"
    families: tuple[str, ...]  # of FAMILIES
    types: tuple[str, ...]  # of SOCK_TYPES
    readonly: bool
    summary: str  # one line


# Linux values for constants some Python builds do not export.
_LINUX_NUMBERS = {
    "SO_MARK": 36,
    "SO_BUSY_POLL": 46,
    "SO_INCOMING_CPU": 49,
    "TCP_USER_TIMEOUT": 18,
    "TCP_NOTSENT_LOWAT": 25,
    "IP_FREEBIND": 15,
    "IP_BIND_ADDRESS_NO_PORT": 24,
}

_IP = ("inet", "inet6")
_ALL = FAMILIES
_STREAM = ("stream",)
_DGRAM = ("dgram", "raw")
_IP_TYPES = ("stream", "dgram")
_ANY = SOCK_TYPES
_CONN = ("stream", "seqpacket")

# (name, kind, families, types, readonly, summary), grouped by level.
_Row = tuple[str, str, tuple[str, ...], tuple[str, ...], bool, str]
_CATALOG: dict[str, tuple[_Row, ...]] = {
    "SOL_SOCKET": (
        ("SO_REUSEADDR", "bool", _IP, _IP_TYPES, False,
         "bind even while old connections on the port linger in TIME_WAIT"),
        ("SO_REUSEPORT", "bool", _IP, _IP_TYPES, False,
         "let several sockets bind the same port; the kernel spreads load among them"),
        ("SO_KEEPALIVE", "bool", _IP, _STREAM, False,
         "probe an idle connection so a vanished peer is noticed"),
        ("SO_BROADCAST", "bool", ("inet",), _DGRAM, False,
         "allow sending to broadcast addresses"),
        ("SO_RCVBUF", "int", _ALL, _ANY, False,
         "receive buffer size in bytes; the kernel doubles the value set"),
        ("SO_SNDBUF", "int", _ALL, _ANY, False,
         "send buffer size in bytes; the kernel doubles the value set"),
        ("SO_RCVLOWAT", "int", _ALL, _STREAM, False,
         "bytes that must be queued before the socket reads as readable"),
        ("SO_SNDLOWAT", "int", _ALL, _STREAM, True,
         "send low-water mark; fixed at 1 on Linux, which refuses to set it"),
        ("SO_DONTROUTE", "bool", _IP, _ANY, False,
         "send only to hosts on directly connected networks, bypassing routes"),
        ("SO_OOBINLINE", "bool", _IP, _STREAM, False,
         "deliver urgent (out-of-band) data inline with normal data"),
        ("SO_PRIORITY", "int", _ALL, _ANY, False,
         "queueing priority of outgoing packets; above 6 needs CAP_NET_ADMIN"),
        ("SO_MARK", "int", _IP, _ANY, False,
         "firewall mark on outgoing packets for policy routing; needs CAP_NET_ADMIN"),
        ("SO_ERROR", "int", _ALL, _ANY, True,
         "pending error, cleared by reading; result of a non-blocking connect"),
        ("SO_TYPE", "int", _ALL, _ANY, True, "socket type (SOCK_STREAM, SOCK_DGRAM, ...)"),
        ("SO_ACCEPTCONN", "bool", _ALL, _CONN, True, "whether the socket is listening"),
        ("SO_PROTOCOL", "int", _ALL, _ANY, True, "protocol number (IPPROTO_TCP, ...)"),
        ("SO_DOMAIN", "int", _ALL, _ANY, True, "address family (AF_INET, ...)"),
        ("SO_PASSCRED", "bool", ("unix",), ("stream", "dgram", "seqpacket"), False,
         "receive the sender's pid, uid and gid as SCM_CREDENTIALS"),
        ("SO_BUSY_POLL", "int", _IP, _IP_TYPES, False,
         "microseconds to busy-poll the device on a blocking receive"),
        ("SO_INCOMING_CPU", "int", _IP, _IP_TYPES, False,
         "CPU that handles this socket's packets; steers SO_REUSEPORT groups"),
    ),
    "IPPROTO_TCP": (
        ("TCP_NODELAY", "bool", _IP, _STREAM, False,
         "send small segments at once instead of waiting (disable Nagle)"),
        ("TCP_MAXSEG", "int", _IP, _STREAM, False, "maximum segment size for outgoing data"),
        ("TCP_CORK", "bool", _IP, _STREAM, False,
         "hold partial segments until uncorked or full (at most 200 ms)"),
        ("TCP_KEEPIDLE", "int", _IP, _STREAM, False,
         "idle seconds before the first keepalive probe"),
        ("TCP_KEEPINTVL", "int", _IP, _STREAM, False, "seconds between keepalive probes"),
        ("TCP_KEEPCNT", "int", _IP, _STREAM, False,
         "unanswered keepalive probes before the connection is dropped"),
        ("TCP_SYNCNT", "int", _IP, _STREAM, False,
         "SYN retransmissions before connect gives up"),
        ("TCP_LINGER2", "int", _IP, _STREAM, False,
         "seconds an orphaned socket stays in FIN_WAIT2"),
        ("TCP_DEFER_ACCEPT", "int", _IP, _STREAM, False,
         "seconds a listener waits for data before waking accept"),
        ("TCP_WINDOW_CLAMP", "int", _IP, _STREAM, False,
         "upper bound on the advertised receive window"),
        ("TCP_QUICKACK", "bool", _IP, _STREAM, False,
         "acknowledge at once instead of delaying; the kernel may turn it off again"),
        ("TCP_USER_TIMEOUT", "int", _IP, _STREAM, False,
         "milliseconds unacknowledged data may wait before the connection is dropped"),
        ("TCP_NOTSENT_LOWAT", "int", _IP, _STREAM, False,
         "unsent bytes allowed in the send queue before the socket stops being writable"),
        ("TCP_FASTOPEN", "int", _IP, _STREAM, False,
         "queue length for TCP Fast Open requests on a listener (0 disables)"),
    ),
    "IPPROTO_IP": (
        ("IP_TTL", "int", ("inet",), _ANY, False, "time to live of outgoing unicast packets"),
        ("IP_TOS", "int", ("inet",), _ANY, False,
         "type-of-service (DSCP and ECN) byte of outgoing packets"),
        ("IP_MULTICAST_TTL", "int", ("inet",), _DGRAM, False,
         "time to live of outgoing multicast packets"),
        ("IP_MULTICAST_LOOP", "bool", ("inet",), _DGRAM, False,
         "loop outgoing multicast back to local listeners"),
        ("IP_RECVTOS", "bool", ("inet",), _ANY, False,
         "receive the TOS byte of incoming packets as ancillary data"),
        ("IP_FREEBIND", "bool", ("inet",), _ANY, False,
         "bind to an address not (yet) assigned to any interface"),
        ("IP_TRANSPARENT", "bool", ("inet",), _ANY, False,
         "act for foreign addresses (transparent proxy); needs CAP_NET_ADMIN"),
        ("IP_BIND_ADDRESS_NO_PORT", "bool", ("inet",), _ANY, False,
         "on bind with port 0, defer the port choice to connect"),
    ),
    "IPPROTO_IPV6": (
        ("IPV6_V6ONLY", "bool", ("inet6",), _ANY, False,
         "refuse IPv4-mapped traffic; set before bind"),
        ("IPV6_UNICAST_HOPS", "int", ("inet6",), _ANY, False,
         "hop limit of outgoing unicast packets (-1 for the route default)"),
        ("IPV6_MULTICAST_HOPS", "int", ("inet6",), _DGRAM, False,
         "hop limit of outgoing multicast packets"),
        ("IPV6_MULTICAST_LOOP", "bool", ("inet6",), _DGRAM, False,
         "loop outgoing multicast back to local listeners"),
        ("IPV6_RECVTCLASS", "bool", ("inet6",), _ANY, False,
         "receive the traffic class of incoming packets as ancillary data"),
        ("IPV6_TCLASS", "int", ("inet6",), _ANY, False, "traffic class byte of outgoing packets"),
    ),
}

_LEVEL_DEFAULTS = {"SOL_SOCKET": 1, "IPPROTO_TCP": 6, "IPPROTO_IP": 0, "IPPROTO_IPV6": 41}


def _constant(name: str) -> int | None:
    value = getattr(socket, name, None)
    if value is None and sys.platform.startswith("linux"):
        value = _LINUX_NUMBERS.get(name)
    return value


def _spec(level_name: str, level: int, row: _Row) -> OptionSpec | None:
    name, kind, families, types, readonly, summary = row
    optname = _constant(name)
    if optname is None:
        return None
    return OptionSpec(name, level_name, level, optname, kind, families, types, readonly, summary)


@cache
def all_options() -> tuple[OptionSpec, ...]:
    """Every option this platform defines, in catalog order."""
    specs = []
    for level_name, rows in _CATALOG.items():
        level = getattr(socket, level_name, _LEVEL_DEFAULTS[level_name])
        specs += [s for row in rows if (s := _spec(level_name, level, row)) is not None]
    return tuple(specs)


@cache
def _by_name() -> dict[str, OptionSpec]:
    return {spec.name: spec for spec in all_options()}


def lookup_option(name: str) -> OptionSpec:
    """Find an option by its exact name, any case."""
    key = name.strip().upper()
    spec = _by_name().get(key)
    if spec is not None:
        return spec
    close = difflib.get_close_matches(key, list(_by_name()), n=3, cutoff=0.6)
    tip = f"did you mean {', '.join(close)}?" if close else "try e.g. SO_REUSEADDR or TCP_NODELAY"
    raise InputError(f"unknown socket option {name.strip()!r}; {tip}")


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"unknown socket {what} {value!r}; use one of {', '.join(choices)}")


def options_for(family: str, sock_type: str) -> list[OptionSpec]:
    """The options that apply to a socket of this family ("inet") and type ("stream")."""
    _check_choice("family", family, FAMILIES)
    _check_choice("type", sock_type, SOCK_TYPES)
    return [s for s in all_options() if family in s.families and sock_type in s.types]


_TRUE = ("1", "on", "true", "yes")
_FALSE = ("0", "off", "false", "no")
_INT_RE = re.compile(r"([+-]?)(0x[0-9a-f]+|\d+)([km]?)")
_SUFFIX = {"": 1, "k": 1024, "m": 1024 * 1024}
_C_INT = (-(2**31), 2**31 - 1)


def _parse_bool(spec: OptionSpec, text: str) -> int:
    word = text.lower()
    if word in _TRUE:
        return 1
    if word in _FALSE:
        return 0
    raise InputError(f"{spec.name} takes on or off (1/0, true/false, yes/no), not {text!r}")


def _parse_int(spec: OptionSpec, text: str) -> int:
    match = _INT_RE.fullmatch(text.lower())
    if match is None:
        raise InputError(f"{spec.name} takes an integer such as 4096, 64k or 0x10, not {text!r}")
    sign, digits, suffix = match.groups()
    magnitude = int(digits, 16) if digits.startswith("0x") else int(digits)
    value = magnitude * _SUFFIX[suffix] * (-1 if sign == "-" else 1)
    low, high = _C_INT
    if not low <= value <= high:
        raise InputError(f"{spec.name} value {text!r} does not fit a C int ({low}..{high})")
    return value


def parse_option_value(spec: OptionSpec, text: str) -> int:
    """Turn what the user typed into the integer setsockopt takes."""
    if spec.readonly:
        raise InputError(f"{spec.name} is read-only: it can be read with getsockopt, not set")
    value = text.strip()
    if spec.kind == "bool":
        return _parse_bool(spec, value)
    return _parse_int(spec, value)
