"""Packet recipes: a packet described by a kind and named fields, as a form or a session
file holds it, checked and built into bytes.

    build({"ipv4": {"dst": "127.0.0.1", "ttl": 5,
                    "payload": {"udp": {"sport": 5000, "dport": 6000, "payload": "hi"}}}})

Every field has a default, so `{"icmp-echo": {}}` is a packet. A payload is bytes, text,
{"text": ...} or {"hex": ...}, or another recipe: nested inside "ipv4" or "ipv6", a
UDP, TCP or ICMPv6 recipe takes its checksum addresses from the header around it, and
the header takes its protocol from the recipe inside. Bad input is an InputError with
one line saying which field is wrong and what it accepts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workbench.core.errors import InputError
from workbench.core.packets import ethernet, icmp, ipv4, ipv6, tcp, udp
from workbench.core.payload import payload_from_json, payload_to_json


@dataclass(frozen=True)
class Param:
    """One field of a recipe: what a form shows and what it accepts."""

    name: str
    kind: str  # int, bool, address (4, 6: one version), mac, bytes, payload, tcp-flags,
    # tcp-options
    default: Any
    help: str
    high: int = 0  # the largest int accepted (from 0)


def _int(name: str, high: int, default: int, help: str) -> Param:
    return Param(name, "int", default, help, high)


U16, U32 = 0xFFFF, 0xFFFFFFFF
PAYLOAD = Param("payload", "payload", b"", "bytes after the header, or a packet recipe")
SRC = Param("src", "address", None, "source address for the checksum (none: left 0)")
DST = Param("dst", "address", None, "destination address for the checksum (none: left 0)")
PARAMS: dict[str, tuple[Param, ...]] = {
    "icmp-echo": (_int("ident", U16, 0, "identifier (a ping socket puts its port here)"),
                  _int("seq", U16, 1, "sequence number"),
                  Param("reply", "bool", False, "an echo reply instead of a request"), PAYLOAD),
    "icmpv6-echo": (_int("ident", U16, 0, "identifier"), _int("seq", U16, 1, "sequence number"),
                    Param("reply", "bool", False, "an echo reply instead of a request"), PAYLOAD,
                    Param("src", "address", None, "source for the checksum (none: a raw "
                          "ICMPv6 socket's kernel computes it)"),
                    Param("dst", "address", None, "destination for the checksum")),
    "udp": (_int("sport", U16, 0, "source port"), _int("dport", U16, 0, "destination port"),
            PAYLOAD, SRC, DST, _int("length", U16, -1, "length field (-1: computed)")),
    "tcp": (_int("sport", U16, 0, "source port"), _int("dport", U16, 0, "destination port"),
            _int("seq", U32, 0, "sequence number"), _int("ack", U32, 0, "acknowledgment number"),
            Param("flags", "tcp-flags", "SYN", "flag names, e.g. SYN,ACK"),
            _int("window", U16, 65535, "window"), _int("urgent", U16, 0, "urgent pointer"),
            Param("options", "tcp-options", "", "e.g. mss 1460,sackOK,TS val 1 ecr 0,nop,"
                  "wscale 7"), PAYLOAD, SRC, DST),
    "ipv4": (Param("src", "address4", "127.0.0.1", "source address (0.0.0.0: the kernel's)"),
             Param("dst", "address4", "127.0.0.1", "destination address"),
             _int("proto", 255, -1, "protocol (-1: from the payload recipe, else 255)"),
             _int("ttl", 255, 64, "time to live"), _int("tos", 255, 0, "DSCP and ECN byte"),
             _int("ident", U16, 0, "identification (0: the kernel picks one)"),
             Param("df", "bool", False, "don't fragment"),
             Param("mf", "bool", False, "more fragments"),
             Param("reserved", "bool", False, "the reserved flag bit"),
             _int("frag_offset", 0x1FFF, 0, "fragment offset in units of 8 bytes"),
             Param("options", "bytes", b"", "option bytes (padded to 4)"),
             _int("checksum", U16, -1, "header checksum (-1: computed)"),
             _int("total_length", U16, -1, "total length (-1: computed)"), PAYLOAD),
    "ipv6": (Param("src", "address6", "::1", "source address"),
             Param("dst", "address6", "::1", "destination address"),
             _int("next_header", 255, -1, "next header (-1: from the payload recipe, else 59)"),
             _int("hop_limit", 255, 64, "hop limit"),
             _int("traffic_class", 255, 0, "traffic class"),
             _int("flow_label", 0xFFFFF, 0, "flow label"), PAYLOAD),
    "ethernet": (Param("dst", "mac", "ff:ff:ff:ff:ff:ff", "destination MAC"),
                 Param("src", "mac", "00:00:00:00:00:00", "source MAC"),
                 _int("ethertype", U16, -1, "ethertype (-1: from the payload recipe)"),
                 _int("vlan", 0xFFF, 0, "802.1Q VLAN id (0: untagged)"), PAYLOAD),
}
KINDS = tuple(PARAMS)
PROTO_OF = {"icmp-echo": 1, "tcp": 6, "udp": 17, "icmpv6-echo": 58, "ipv4": 4, "ipv6": 41}
ETHERTYPE_OF = {"ipv4": 0x0800, "ipv6": 0x86DD}


def parse_tcp_options(text: str) -> list[tcp.Option]:
    """tcpdump's words for options, comma-separated: mss N, wscale N, sackOK,
    TS val A ecr B, sack A:B ..., nop, eol."""
    options: list[tcp.Option] = []
    for word in (w.strip() for w in text.split(",") if w.strip()):
        parts = word.replace("{", " ").replace("}", " ").split()
        name = parts[0].lower()
        try:
            numbers = [int(p) for p in parts[1:] if p.isdigit()]
            if name in ("nop", "eol", "sackok") and len(parts) == 1:
                options.append(({"nop": 1, "eol": 0, "sackok": 4}[name], None))
            elif name in ("mss", "wscale") and len(numbers) == 1 == len(parts) - 1:
                options.append((2 if name == "mss" else 3, numbers[0]))
            elif name == "ts" and [p.lower() for p in parts[1::2]] == ["val", "ecr"]:
                options.append((8, (int(parts[2]), int(parts[4]))))
            elif name == "sack" and parts[1:]:
                blocks = [p.split(":") for p in parts[1:] if ":" in p]
                options.append((5, tuple((int(a), int(b)) for a, b in blocks)))
            else:
                raise ValueError(word)
        except (ValueError, IndexError):
            raise InputError(f"TCP option {word!r} not understood: use mss N, wscale N, sackOK,"
                             " TS val A ecr B, sack A:B, nop or eol, separated by commas"
                             ) from None
    try:
        tcp.build(0, 0, options=options)
    except (ValueError, OverflowError, TypeError) as exc:
        raise InputError(f"TCP options {text!r}: {exc}") from None
    return options


def _flags(kind: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0x1FF:
        return value
    names = value.replace(",", " ").split() if isinstance(value, str) else value
    try:
        return tcp.flags_value([str(n) for n in names])
    except (KeyError, TypeError):
        raise InputError(f"{kind} flags {value!r} not understood: use names from "
                         f"{', '.join(tcp.FLAGS)}, e.g. SYN,ACK") from None


def _payload(kind: str, value: Any) -> bytes | dict[str, dict[str, Any]]:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, Mapping) and set(value) & {"text", "hex"}:
        return payload_from_json(dict(value))
    if isinstance(value, Mapping):
        return normalise(value)
    raise InputError(f"{kind} payload {value!r}: give bytes, text, {{\"hex\": ...}} or a "
                     "packet recipe")


def _address(kind: str, p: Param, value: Any) -> str | None:
    if value is None and p.default is None:
        return None
    version = {"address4": 4, "address6": 6}.get(p.kind)
    try:
        found = ipaddress.ip_address(value)
    except ValueError:
        found = None
    if found is None or (version and found.version != version):
        what = f"an IPv{version} address" if version else "an IP address"
        raise InputError(f"{kind} {p.name} {value!r} is not {what}")
    return str(found)


def _check(kind: str, p: Param, value: Any) -> Any:
    if p.kind == "int":
        low = -1 if p.default == -1 else 0
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= p.high:
            auto = " (-1: computed)" if low else ""
            raise InputError(f"{kind} {p.name} {value!r} is out of range: use {low} to "
                             f"{p.high}{auto}")
        return value
    if p.kind == "bool":
        if not isinstance(value, bool):
            raise InputError(f"{kind} {p.name} {value!r}: use true or false")
        return value
    if p.kind.startswith("address"):
        return _address(kind, p, value)
    if p.kind == "mac":
        try:
            return ethernet.mac_text(ethernet.mac_bytes(value))
        except (ValueError, TypeError):
            raise InputError(f"{kind} {p.name} {value!r} is not a MAC address: use six hex "
                             "pairs like 02:00:00:00:00:01") from None
    if p.kind == "tcp-flags":
        return _flags(kind, value)
    if p.kind == "tcp-options":
        parse_tcp_options(str(value))
        return str(value)
    found = _payload(kind, value)
    if p.kind == "bytes" and not isinstance(found, bytes):
        raise InputError(f"{kind} {p.name}: give bytes or {{\"hex\": ...}}, not a recipe")
    return found


def normalise(recipe: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The recipe checked, every field present (nested recipes too)."""
    if not isinstance(recipe, Mapping) or len(recipe) != 1:
        raise InputError('a packet recipe is one kind and its fields, e.g. {"udp": '
                         '{"dport": 53}}')
    kind, args = next(iter(recipe.items()))
    if kind not in PARAMS:
        raise InputError(f"unknown packet kind {kind!r}: use one of {', '.join(KINDS)}")
    if not isinstance(args, Mapping):
        raise InputError(f"{kind}: give its fields as names and values")
    params = {p.name: p for p in PARAMS[kind]}
    unknown = sorted(set(args) - set(params))
    if unknown:
        raise InputError(f"{kind} has no field {unknown[0]!r}: use {', '.join(params)}")
    return {kind: {name: _check(kind, p, args.get(name, p.default))
                   for name, p in params.items()}}


Args = dict[str, Any]


def _inner(a: Args, src: str | None, dst: str | None) -> tuple[bytes, str | None]:
    """The payload's bytes, and the kind of the recipe that made them (if one did)."""
    p = a["payload"]
    if isinstance(p, dict):
        kind = next(iter(p))
        return _BUILD[kind](p[kind], src, dst), kind
    return p, None


def _auto(value: int, computed: int | None) -> int | None:
    return computed if value == -1 else value


def _icmp_echo(a: Args, src: str | None, dst: str | None) -> bytes:
    return icmp.echo(a["ident"], a["seq"], _inner(a, src, dst)[0], a["reply"])


def _icmpv6_echo(a: Args, src: str | None, dst: str | None) -> bytes:
    return icmp.echo6(a["ident"], a["seq"], _inner(a, src, dst)[0], a["reply"],
                      a["src"] or src, a["dst"] or dst)


def _udp(a: Args, src: str | None, dst: str | None) -> bytes:
    return udp.build(a["sport"], a["dport"], _inner(a, src, dst)[0], a["src"] or src,
                     a["dst"] or dst, _auto(a["length"], None))


def _tcp(a: Args, src: str | None, dst: str | None) -> bytes:
    return tcp.build(a["sport"], a["dport"], a["seq"], a["ack"], a["flags"], a["window"],
                     parse_tcp_options(a["options"]), _inner(a, src, dst)[0], a["src"] or src,
                     a["dst"] or dst, a["urgent"])


def _ipv4(a: Args, src: str | None, dst: str | None) -> bytes:
    payload, kind = _inner(a, a["src"], a["dst"])
    header = ipv4.IPv4Header(
        src=a["src"], dst=a["dst"], proto=_auto(a["proto"], PROTO_OF.get(kind or "", 255)),
        ttl=a["ttl"], tos=a["tos"], ident=a["ident"], reserved=a["reserved"], df=a["df"],
        mf=a["mf"], frag_offset=a["frag_offset"], options=a["options"],
        checksum=_auto(a["checksum"], None), total_length=_auto(a["total_length"], None))
    if len(header.options) > 40:
        raise InputError(f"ipv4 options take {len(header.options)} bytes: at most 40 fit")
    return ipv4.build(header, payload)


def _ipv6(a: Args, src: str | None, dst: str | None) -> bytes:
    payload, kind = _inner(a, a["src"], a["dst"])
    header = ipv6.IPv6Header(
        src=a["src"], dst=a["dst"], next_header=_auto(a["next_header"],
                                                      PROTO_OF.get(kind or "", 59)),
        hop_limit=a["hop_limit"], traffic_class=a["traffic_class"], flow_label=a["flow_label"])
    return ipv6.build(header, payload)


def _ethernet(a: Args, src: str | None, dst: str | None) -> bytes:
    payload, kind = _inner(a, None, None)
    etype = _auto(a["ethertype"], ETHERTYPE_OF.get(kind or ""))
    if etype is None:
        raise InputError("ethernet ethertype: give one (-1 needs an ipv4 or ipv6 payload "
                         "recipe)")
    vlans = [(0x8100, a["vlan"])] if a["vlan"] else []
    return ethernet.build(a["dst"], a["src"], etype, payload, vlans)


_BUILD: dict[str, Callable[[Args, str | None, str | None], bytes]] = {
    "icmp-echo": _icmp_echo, "icmpv6-echo": _icmpv6_echo, "udp": _udp, "tcp": _tcp,
    "ipv4": _ipv4, "ipv6": _ipv6, "ethernet": _ethernet,
}


def to_json(recipe: Mapping[str, Any]) -> dict[str, Any]:
    """A normalised recipe as a session file holds it: bytes as {"text"} or {"hex"}."""
    def convert(value: Any) -> Any:
        if isinstance(value, bytes):
            return payload_to_json(value)
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value
    return convert(dict(normalise(recipe)))


def build(recipe: Mapping[str, Any]) -> bytes:
    """The bytes of a recipe (checked first: InputError for a bad field)."""
    checked = normalise(recipe)
    kind = next(iter(checked))
    return _BUILD[kind](checked[kind], None, None)
