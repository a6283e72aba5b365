"""ICMP (RFC 792) and ICMPv6 (RFC 4443): echo request and reply built with the checksum
computed; every message decoded by type and code, with names, and error messages
decoded down into the packet they quote."""

from __future__ import annotations

import struct
from collections.abc import Iterable

from workbench.core.packets import ipv4, ipv6
from workbench.core.packets.checksum import Address, checksum, put_checksum, transport_checksum
from workbench.core.packets.field import Field, Reader, Short, layer
from workbench.core.packets.layers import Context, Decoded, checksum_text

ECHO_REQUEST, ECHO_REPLY = 8, 0
ECHO6_REQUEST, ECHO6_REPLY = 128, 129
PROTO_ICMPV6 = 58
ICMP6_FILTER = 1  # the socket option, at level IPPROTO_ICMPV6 (netinet/icmp6.h)

TYPES = {0: "echo reply", 3: "destination unreachable", 4: "source quench", 5: "redirect",
         8: "echo request", 9: "router advertisement", 10: "router solicitation",
         11: "time exceeded", 12: "parameter problem", 13: "timestamp",
         14: "timestamp reply", 17: "address mask request", 18: "address mask reply"}
CODES = {
    3: ("net unreachable", "host unreachable", "protocol unreachable", "port unreachable",
        "fragmentation needed and DF set", "source route failed", "network unknown",
        "host unknown", "source host isolated", "network administratively prohibited",
        "host administratively prohibited", "network unreachable for TOS",
        "host unreachable for TOS", "communication administratively prohibited",
        "host precedence violation", "precedence cutoff in effect"),
    5: ("for network", "for host", "for TOS and network", "for TOS and host"),
    11: ("TTL exceeded in transit", "fragment reassembly time exceeded"),
    12: ("pointer indicates the error", "missing a required option", "bad length"),
}
TYPES6 = {1: "destination unreachable", 2: "packet too big", 3: "time exceeded",
          4: "parameter problem", 128: "echo request", 129: "echo reply",
          130: "multicast listener query", 131: "multicast listener report",
          132: "multicast listener done", 133: "router solicitation",
          134: "router advertisement", 135: "neighbor solicitation",
          136: "neighbor advertisement", 137: "redirect", 143: "multicast listener report v2"}
CODES6 = {
    1: ("no route to destination", "administratively prohibited", "beyond scope of source",
        "address unreachable", "port unreachable", "source address failed policy",
        "reject route to destination", "error in source routing header"),
    3: ("hop limit exceeded in transit", "fragment reassembly time exceeded"),
    4: ("erroneous header field", "unrecognized next header", "unrecognized IPv6 option"),
}
ERRORS, ERRORS6 = (3, 4, 5, 11, 12), (1, 2, 3, 4)
ND_TARGET = (135, 136, 137)


def echo(ident: int, seq: int, payload: bytes = b"", reply: bool = False) -> bytes:
    """An ICMP echo request (or reply) with its checksum."""
    msg = struct.pack("!BBHHH", ECHO_REPLY if reply else ECHO_REQUEST, 0, 0, ident, seq) + payload
    return put_checksum(msg, 2, checksum(msg))


def echo6(ident: int, seq: int, payload: bytes = b"", reply: bool = False,
          src: Address | None = None, dst: Address | None = None) -> bytes:
    """An ICMPv6 echo request (or reply). Its checksum covers a pseudo-header: with both
    addresses it is computed, without it is 0 and a raw ICMPv6 socket's kernel fills it."""
    kind = ECHO6_REPLY if reply else ECHO6_REQUEST
    msg = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + payload
    if src is None or dst is None:
        return msg
    return put_checksum(msg, 2, transport_checksum(src, dst, PROTO_ICMPV6, msg))


def icmp6_filter(passing: Iterable[int]) -> bytes:
    """The ICMP6_FILTER value (struct icmp6_filter: 256 bits, a set bit blocks that type)
    that lets only the `passing` ICMPv6 types reach a raw ICMPv6 socket."""
    words = [0xFFFFFFFF] * 8
    for kind in passing:
        words[kind >> 5] &= ~(1 << (kind & 31)) & 0xFFFFFFFF
    return struct.pack("=8I", *words)


def icmp6_filter_passing(value: bytes) -> list[int]:
    """The ICMPv6 types an ICMP6_FILTER value (as getsockopt returns it) lets through."""
    words = struct.unpack("=8I", value[:32].ljust(32, b"\xff"))
    return [k for k in range(256) if not words[k >> 5] >> (k & 31) & 1]


def type_text(kind: int, v6: bool) -> str:
    return f"{kind} ({(TYPES6 if v6 else TYPES).get(kind, 'unknown')})"


def code_text(kind: int, code: int, v6: bool) -> str:
    names = (CODES6 if v6 else CODES).get(kind, ())
    return f"{code} ({names[code]})" if code < len(names) else str(code)


def _expected(r: Reader, start: int, ctx: Context, v6: bool) -> int | None:
    msg = put_checksum(r.data[start : r.end], 2, 0)
    if not v6:
        return checksum(msg)
    if ctx.src is None or ctx.dst is None:
        return None  # no IPv6 header (a raw ICMPv6 socket strips it): nothing to sum over
    return transport_checksum(ctx.src, ctx.dst, PROTO_ICMPV6, msg)


ND_OPTIONS = {1: "source link-layer address", 2: "target link-layer address",
              3: "prefix information", 4: "redirected header", 5: "MTU",
              14: "nonce", 25: "recursive DNS server"}


def _nd_options(r: Reader) -> None:
    """Neighbor discovery options: type, length in units of 8 bytes, body."""
    nodes: list[Field] = []
    start = r.pos
    while r.left >= 2:
        at, kind, units = r.pos, r.data[r.pos], r.data[r.pos + 1]
        if units == 0 or units * 8 > r.left:
            nodes.append(Field("malformed", r.data[at : r.end],
                               f"malformed option {kind}: length {units * 8}", at, r.left))
            r.pos = r.end
            break
        body = r.data[at + 2 : at + units * 8]
        name = ND_OPTIONS.get(kind, f"option {kind}")
        shown = body.hex(":") if kind in (1, 2) else body.hex()
        if kind == 3 and len(body) == 30:
            shown = f"{ipv6.addr_text(body[14:30])}/{body[0]}"
        kids = (Field("type", kind, f"type: {kind}", at, 1),
                Field("length", units, f"length: {units} ({units * 8} bytes)", at + 1, 1),
                Field("value", shown, f"value: {shown}", at + 2, len(body)))
        nodes.append(Field(name.replace(" ", "_").replace("-", "_"), kind, f"{name}: {shown}",
                           at, units * 8, kids))
        r.pos += units * 8
    if nodes:
        r.add("options", len(nodes), f"options: {r.pos - start} bytes", start, r.pos - start,
              nodes)


def _v6_body(r: Reader, kind: int) -> None:
    if kind == 2:
        r.uint("mtu", 4, "MTU")
    elif kind in (130, 131, 132):
        r.uint("max_delay", 2, "maximum response delay", lambda v: f"{v} ms")
        r.raw("reserved", 2, "reserved")
        r.shown("group", 16, "multicast address", ipv6.addr_text)
    elif kind == 4:
        r.uint("pointer", 4, "pointer")
    elif kind == 134:
        r.uint("cur_hop_limit", 1, "current hop limit")
        r.uint("flags", 1, "flags", lambda v: f"0x{v:02x} [{'M' if v & 128 else ''}"
                                              f"{'O' if v & 64 else ''}]")
        r.uint("router_lifetime", 2, "router lifetime")
        r.uint("reachable_time", 4, "reachable time")
        r.uint("retrans_timer", 4, "retransmission timer")
    elif kind == 136:
        r.uint("flags", 4, "flags", lambda v: f"0x{v >> 24:02x} [{'R' if v >> 31 else ''}"
                                              f"{'S' if v >> 30 & 1 else ''}"
                                              f"{'O' if v >> 29 & 1 else ''}]")
    else:
        r.raw("unused", 4, "reserved")
    if kind in ND_TARGET:
        r.shown("target", 16, "target address", ipv6.addr_text)
    if kind == 137:
        r.shown("destination", 16, "destination address", ipv6.addr_text)
    if kind in (133, 134, 135, 136, 137):
        _nd_options(r)


def _v4_body(r: Reader, kind: int) -> None:
    if kind == 3:
        r.raw("unused", 2, "unused")
        r.uint("mtu", 2, "next-hop MTU")
    elif kind == 5:
        r.shown("gateway", 4, "gateway", ipv4.addr_text)
    elif kind == 12:
        r.uint("pointer", 1, "pointer")
        r.raw("unused", 3, "unused")
    else:
        r.raw("unused", 4, "rest of header")


def _timestamps(r: Reader) -> None:
    for name in ("originate", "receive", "transmit"):
        r.uint(name, 4, f"{name} timestamp", lambda v: f"{v} ms since midnight UT")


def _body(r: Reader, kind: int, v6: bool, ctx: Context) -> str:
    """The fields after type, code and checksum; returns what the title adds."""
    if kind in ((ECHO6_REQUEST, ECHO6_REPLY) if v6 else (0, 8, 13, 14, 17, 18)):
        ident = r.uint("ident", 2, "identifier", lambda v: f"{v} (0x{v:04x})")
        seq = r.uint("seq", 2, "sequence number")
        if kind in (17, 18):
            r.raw("mask", 4, "address mask")
        elif kind in (13, 14):
            _timestamps(r)
        r.rest("data", "data")
        return f", id {ident}, seq {seq}"
    if v6:
        _v6_body(r, kind)
    else:
        _v4_body(r, kind)
    if kind in (ERRORS6 if v6 else ERRORS) and r.left:
        nested = ctx.inner("ipv6" if v6 else "ipv4", r.data, r.pos, r.end, ctx.nested())
        r.add("quoted", None, f"quoted packet: {r.left} bytes", r.pos, r.left, nested)
        r.pos = r.end
    r.rest("data", "data")
    return ""


def decode_any(data: bytes, start: int, end: int, ctx: Context, v6: bool) -> Decoded:
    name = "icmpv6" if v6 else "icmp"
    title = "ICMPv6" if v6 else "ICMP"
    r = Reader(data, start, end)
    try:
        kind = r.uint("type", 1, "type", lambda v: type_text(v, v6))
        r.uint("code", 1, "code", lambda v: code_text(kind, v, v6))
        value = r.peek(2)
        r.take("checksum", 2)
        r.add("checksum", value, checksum_text("checksum", value, _expected(r, start, ctx, v6)),
              start + 2, 2)
        title = f"{title} {type_text(kind, v6)}"
        names = (CODES6 if v6 else CODES).get(kind, ())
        if data[start + 1] < len(names):
            title += f": {names[data[start + 1]]}"
        title += _body(r, kind, v6, ctx)
    except Short as short:
        r.truncated(f"{title} {short.what}", short.need, short.have)
    return Decoded(layer(name, title, start, r.pos, r.fields))


def decode(data: bytes, start: int, end: int, ctx: Context) -> Decoded:
    return decode_any(data, start, end, ctx, False)


def decode6(data: bytes, start: int, end: int, ctx: Context) -> Decoded:
    return decode_any(data, start, end, ctx, True)
