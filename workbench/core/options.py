"""The socket option catalog: levels, numbers, where each option applies, its typed
value (codec), and what the kernel does to a value set.

An option is listed only when this platform defines its constant, with Linux
numbers for those Python lacks (see `option_catalog`). Values have a normal form
(what steps and session files hold) and codecs between it, the text a person types,
the int or bytes setsockopt takes, and short display text (see `option_codecs`).
"""

from __future__ import annotations

import difflib
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from workbench.core.errors import InputError
from workbench.core.option_catalog import LEVEL_NUMBERS, LINUX_NUMBERS, ROWS, Row
from workbench.core.option_codecs import CODECS, Codec
from workbench.core.option_docs import DOCS
from workbench.core.option_raw import RAW_CODECS
from workbench.core.option_structs import STRUCT_CODECS
from workbench.core.tcp_info import TCP_INFO_CODEC

FAMILIES = ("inet", "inet6", "unix", "packet")
SOCK_TYPES = ("stream", "dgram", "seqpacket", "raw")
ALL_CODECS: dict[str, Codec] = {**CODECS, **STRUCT_CODECS, "tcp_info": TCP_INFO_CODEC,
                                 **RAW_CODECS}
_KINDS = {"int": "int", "bool": "bool", "string": "string", "bytes": "bytes"}
_C_TYPES = {"int": "int", "bool": "int", "linger": "struct linger",
            "timeval": "struct timeval", "string": "char[16]", "in_addr": "struct in_addr",
            "ip_mreqn": "struct ip_mreqn", "ip_mreq_source": "struct ip_mreq_source",
            "ipv6_mreq": "struct ipv6_mreq", "ucred": "struct ucred",
            "tcp_info": "struct tcp_info", "bytes": "unsigned char[40]",
            "bpf": "struct sock_fprog", "icmp6_filter": "struct icmp6_filter"}
_FAMILY_WORDS = {"inet": "IPv4", "inet6": "IPv6", "unix": "Unix", "packet": "packet"}
# Options the sweep of all options leaves out, and why (read them one at a time).
NOT_SWEPT = {"SO_ERROR": "reading clears the pending error; read it with getsockopt"}
_TYPE_WORDS = {"stream": "stream", "dgram": "datagram", "seqpacket": "seqpacket", "raw": "raw"}


@dataclass(frozen=True)
class OptionSpec:
    name: str  # "SO_REUSEADDR"
    level_name: str  # "SOL_SOCKET" | "IPPROTO_TCP" | "IPPROTO_IP" | "IPPROTO_IPV6" | ...
    level: int
    optname: int
    kind: str  # "bool" | "int" | "string" | "bytes" | "struct"
    families: tuple[str, ...]  # of FAMILIES
    types: tuple[str, ...]  # of SOCK_TYPES
    readonly: bool
    summary: str  # one line: what it does
    codec: str = "int"  # a key of ALL_CODECS
    low: int | None = None  # int range (None: a C int's)
    high: int | None = None  # int range; for strings and bytes, the longest
    writeonly: bool = False  # requests (joining a group): set, never read
    when: str = ""  # when to use it
    pitfalls: str = ""
    states: str = "any"  # "before bind", "before listen", "connected", "any", ...
    unit: str = ""  # "bytes", "seconds", "ms", "us" or ""
    adjusts: str = ""  # why the value read back may differ from the one set
    example: str = ""  # a valid value as typed ("" for read-only)
    c_name: str = ""  # for code export: "SO_LINGER"
    c_level: str = ""  # "SOL_SOCKET"
    c_type: str = "int"  # "struct linger"
    py: str = ""  # "socket.SOL_SOCKET, socket.SO_LINGER"; a number where Python lacks it


@dataclass(frozen=True)
class Unreadable:
    """An option whose read failed: the errno name (e.g. "ENOPROTOOPT")."""

    errno: str


def _constant(name: str) -> int | None:
    value = getattr(socket, name, None)
    if value is None and sys.platform.startswith("linux"):
        value = LINUX_NUMBERS.get(name)
    return value


def _py(level_name: str, name: str, optname: int) -> str:
    level = f"socket.{level_name}"
    return f"{level}, socket.{name}" if hasattr(socket, name) else f"{level}, {optname}"


def _spec(level_name: str, level: int, row: Row) -> OptionSpec | None:
    optname = _constant(row.name)
    if optname is None:
        return None
    doc = DOCS[row.name]
    return OptionSpec(
        row.name, level_name, level, optname, _KINDS.get(row.codec, "struct"), row.families,
        row.types, row.access == "ro", doc.summary, row.codec, row.low, row.high,
        row.access == "wo", doc.when, doc.pitfalls, row.states, row.unit, doc.adjusts,
        row.example, row.name, level_name, _C_TYPES[row.codec],
        _py(level_name, row.name, optname))


@cache
def all_options() -> tuple[OptionSpec, ...]:
    """Every option this platform defines, in catalog order."""
    specs = []
    for level_name, rows in ROWS.items():
        level = getattr(socket, level_name, LEVEL_NUMBERS[level_name])
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


def applies(spec: OptionSpec, family: str, sock_type: str) -> str | None:
    """None if the option applies to such a socket, else a short reason why not."""
    if family not in spec.families:
        fams = " and ".join(_FAMILY_WORDS[f] for f in spec.families)
        return f"{fams} sockets only; this one is {_FAMILY_WORDS.get(family, family)}"
    if sock_type not in spec.types:
        if spec.level_name == "IPPROTO_TCP":
            return "TCP only; this socket is not TCP"
        if spec.level_name == "IPPROTO_UDP":
            return "UDP only; this socket is not UDP"
        kinds = ", ".join(_TYPE_WORDS[t] for t in spec.types)
        return f"{kinds} sockets only; this one is {_TYPE_WORDS.get(sock_type, sock_type)}"
    return None


# When an option takes effect, by its `states`: the socket states it still helps in.
_IN_TIME = {
    "before bind": ("new",),
    "before bind or connect": ("new", "bound"),
    "before listen": ("new", "bound"),
    "before connect": ("new", "bound"),
    "before connect or listen": ("new", "bound"),
}
_CONNECTED = ("connected", "shut-rd", "shut-wr", "shut", "peer-closed")


def state_note(spec: OptionSpec, state: str) -> str | None:
    """Advice when the socket's state (sockstate's names: "new", "bound", ...) makes
    setting or reading the option pointless now; None when it does not. The kernel
    mostly still accepts the call: this is a note, not a refusal."""
    if spec.states in _IN_TIME and state not in _IN_TIME[spec.states]:
        return f"takes effect only {spec.states}; this socket is {state}"
    if spec.states == "connected" and state not in _CONNECTED:
        return f"reads need a connected socket; this one is {state}"
    return None


def codec_of(spec: OptionSpec) -> Codec:
    return ALL_CODECS[spec.codec]


# -- values --------------------------------------------------------------------------------


def parse_option_value(spec: OptionSpec, text: str) -> Any:
    """Turn what a person typed into the option's normal value (one-line InputError)."""
    if spec.readonly:
        raise InputError(f"{spec.name} is read-only: it can be read with getsockopt, not set")
    return codec_of(spec).parse(spec, text.strip())


def check_option_value(spec: OptionSpec, value: Any) -> Any:
    """A value from a step or file: the normal value, or text parsed as typed."""
    if spec.readonly:
        raise InputError(f"{spec.name} is read-only: it can be read with getsockopt, not set")
    if isinstance(value, str):  # text as typed (for names and addresses, also the normal form)
        return parse_option_value(spec, value)
    return codec_of(spec).check(spec, value)


def format_option_value(spec: OptionSpec, value: Any) -> str:
    """Short display text: "on", "212992 (208 KiB)", "on, 0 s", "ENOTCONN"."""
    if isinstance(value, Unreadable):
        return value.errno
    return codec_of(spec).fmt(spec, value)


def encode_option(spec: OptionSpec, value: Any) -> int | bytes:
    """What setsockopt takes for this normal value."""
    return codec_of(spec).encode(spec, value)


def decode_option(spec: OptionSpec, raw: int | bytes) -> Any:
    """What getsockopt gave back, as the normal value."""
    return codec_of(spec).decode(spec, raw)


def getsockopt_size(spec: OptionSpec) -> int | None:
    """The buffer length for getsockopt; None for a plain int."""
    return codec_of(spec).size


def value_form(spec: OptionSpec) -> str:
    """What a person types for this option, for hints: "on or off", ..."""
    return codec_of(spec).form


# -- what the kernel did -------------------------------------------------------------------

_BUFFERS = {"SO_RCVBUF": "net.core.rmem_max", "SO_SNDBUF": "net.core.wmem_max"}
GENERIC_WHY = "the kernel stored a different value"


def effective_why(spec: OptionSpec, requested: Any, effective: Any,
                  limits: Mapping[str, int] | None = None) -> str | None:
    """Why the value read back differs from the one set; None when it does not.

    `limits` holds sysctls by name ("net.core.rmem_max": 212992), as io reads them.
    """
    if _same_value(spec, requested, effective):
        return None
    if spec.name in _BUFFERS and isinstance(requested, int) and isinstance(effective, int):
        return _buffer_why(_BUFFERS[spec.name], requested, effective, limits or {})
    if spec.name == "TCP_LINGER2" and isinstance(requested, int) and requested > 0:
        return f"capped at {effective} s, the longest FIN_WAIT2 the kernel allows"
    if spec.name == "TCP_LINGER2" and requested == 0 and limits:
        fin = limits.get("net.ipv4.tcp_fin_timeout")
        return f"0 means the system default (net.ipv4.tcp_fin_timeout = {fin})"
    return spec.adjusts or GENERIC_WHY


def _same_value(spec: OptionSpec, requested: Any, effective: Any) -> bool:
    if spec.codec == "bool":
        return bool(requested) == bool(effective)
    return bool(requested == effective)


def _buffer_why(sysctl: str, requested: int, effective: int, limits: Mapping[str, int]) -> str:
    cap = limits.get(sysctl)
    asked = requested if requested >= 0 else 2**32 + requested  # the kernel reads a u32
    if cap is not None and asked > cap and effective == 2 * cap:
        neg = f"{requested} reads as {asked} unsigned; " if requested < 0 else ""
        return f"{neg}clamped to {sysctl} ({cap}), then doubled for bookkeeping"
    if effective == 2 * asked:
        return "doubled: the kernel keeps half for its own bookkeeping"
    if effective > 2 * asked:
        return f"raised to the minimum buffer ({effective})"
    return GENERIC_WHY
