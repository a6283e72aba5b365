"""IPv4 headers: built for IP_HDRINCL with every field editable, and decoded with options.

With IP_HDRINCL, Linux fills in the total length and the header checksum whatever they
hold, the identification when it is 0 and the source when it is 0.0.0.0; what `build`
computes is what the kernel would, so a capture of the sent packet matches it.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from workbench.core.packets.checksum import address_bytes, checksum, put_checksum
from workbench.core.packets.field import Field, Reader, Short, bit_field, flag_nodes, layer
from workbench.core.packets.layers import NEXT_BY_PROTO, Context, Decoded, checksum_text, proto_name

OPTION_NAMES = {0: "end of options", 1: "no operation", 7: "record route", 68: "timestamp",
                130: "security", 131: "loose source route", 137: "strict source route",
                136: "stream id", 148: "router alert"}
ROUTES = (7, 131, 137)
HEADER = 20


@dataclass(frozen=True)
class IPv4Header:
    """The fields of an IPv4 header; None for a length or checksum means computed."""

    src: str = "127.0.0.1"
    dst: str = "127.0.0.1"
    proto: int = 17
    ttl: int = 64
    tos: int = 0  # DSCP (6 bits) and ECN (2 bits)
    ident: int = 0
    reserved: bool = False  # the "evil bit"
    df: bool = False
    mf: bool = False
    frag_offset: int = 0  # in units of 8 bytes
    options: bytes = b""  # padded with end-of-options bytes to a multiple of 4
    version: int = 4
    ihl: int | None = None  # header length in 32-bit words
    total_length: int | None = None
    checksum: int | None = None


def build(h: IPv4Header, payload: bytes = b"") -> bytes:
    """The header followed by `payload`, checksum and lengths filled where None."""
    options = h.options + b"\0" * (-len(h.options) % 4)
    ihl = h.ihl if h.ihl is not None else 5 + len(options) // 4
    total = h.total_length if h.total_length is not None else 20 + len(options) + len(payload)
    flags = h.reserved << 2 | h.df << 1 | h.mf
    header = struct.pack("!BBHHHBBH4s4s", (h.version & 0xF) << 4 | ihl & 0xF, h.tos, total,
                         h.ident, flags << 13 | h.frag_offset & 0x1FFF, h.ttl, h.proto, 0,
                         address_bytes(h.src), address_bytes(h.dst)) + options
    value = h.checksum if h.checksum is not None else checksum(header)
    return put_checksum(header, 10, value) + payload


def addr_text(raw: bytes) -> str:
    return str(ipaddress.IPv4Address(raw))


def _route(r: Reader, at: int, length: int) -> list[Field]:
    kids = [Field("pointer", r.data[at + 2], f"pointer: {r.data[at + 2]}", at + 2, 1)]
    for i, pos in enumerate(range(at + 3, at + length - 3, 4)):
        hop = addr_text(r.data[pos : pos + 4])
        kids.append(Field(f"address{i}", hop, f"address: {hop}", pos, 4))
    return kids


def _timestamp(r: Reader, at: int, length: int) -> list[Field]:
    oflw_flg = r.data[at + 3]
    kids = [Field("pointer", r.data[at + 2], f"pointer: {r.data[at + 2]}", at + 2, 1),
            bit_field("overflow", oflw_flg >> 4, f"overflow: {oflw_flg >> 4}", at + 3, 1, 0, 4),
            bit_field("flag", oflw_flg & 0xF, f"flag: {oflw_flg & 0xF}", at + 3, 1, 4, 4)]
    for i, pos in enumerate(range(at + 4, at + length - 3, 4)):
        word = int.from_bytes(r.data[pos : pos + 4], "big")
        kids.append(Field(f"word{i}", word, f"timestamp or address: {word}", pos, 4))
    return kids


def option_node(r: Reader, kind: int, at: int, length: int) -> Field:
    name = OPTION_NAMES.get(kind, f"option {kind}")
    kids = [bit_field("copied", kind >> 7, f"copied: {kind >> 7}", at, 1, 0, 1),
            bit_field("class", kind >> 5 & 3, f"class: {kind >> 5 & 3}", at, 1, 1, 2),
            bit_field("number", kind & 31, f"number: {kind & 31}", at, 1, 3, 5),
            Field("length", length, f"length: {length}", at + 1, 1)]
    if kind in ROUTES and length >= 3:
        kids += _route(r, at, length)
    elif kind == 68 and length >= 4:
        kids += _timestamp(r, at, length)
    elif kind == 148 and length == 4:
        value = int.from_bytes(r.data[at + 2 : at + 4], "big")
        kids.append(Field("value", value, f"value: {value}", at + 2, 2))
    elif length > 2:
        body = r.data[at + 2 : at + length]
        kids.append(Field("data", body, f"data: {body.hex()}", at + 2, length - 2))
    return Field(name.replace(" ", "_"), kind, f"{name} ({kind}), {length} bytes", at, length,
                 tuple(kids))


def options(r: Reader) -> list[Field]:
    """The options in r's span: EOL, NOP and type-length-value; a bad length stops them."""
    nodes: list[Field] = []
    while r.left:
        at, kind = r.pos, r.data[r.pos]
        if kind in (0, 1):
            r.take("option", 1)
            nodes.append(Field("eol" if kind == 0 else "nop", kind,
                               f"{OPTION_NAMES[kind]} ({kind})", at, 1))
            if kind == 0:
                if r.left:
                    nodes.append(Field("padding", r.data[r.pos : r.end],
                                       f"padding: {r.left} bytes", r.pos, r.left))
                    r.pos = r.end
                break
            continue
        length = r.data[at + 1] if r.left >= 2 else 0
        if length < 2 or length > r.left:
            nodes.append(Field("malformed", r.data[at : r.end],
                               f"malformed option {kind}: length {length} with {r.left} bytes"
                               " left", at, r.left))
            r.pos = r.end
            break
        r.take("option", length)
        nodes.append(option_node(r, kind, at, length))
    return nodes


def _first_word(r: Reader, start: int) -> tuple[int, int]:
    vihl = r.peek(1)
    r.take("version", 1)
    version, ihl = vihl >> 4, vihl & 0xF
    r.add("version", version, f"version: {version}" + ("" if version == 4 else " (not 4)"),
          start, 1, bits=(0, 4))
    r.add("ihl", ihl, f"header length: {ihl * 4} bytes ({ihl})", start, 1, bits=(4, 4))
    tos = r.peek(1)
    r.take("type of service", 1)
    kids = [bit_field("dscp", tos >> 2, f"DSCP: {tos >> 2}", start + 1, 1, 0, 6),
            bit_field("ecn", tos & 3, f"ECN: {tos & 3}", start + 1, 1, 6, 2)]
    r.add("tos", tos, f"type of service: 0x{tos:02x}", start + 1, 1, kids)
    return version, ihl


def _flags(r: Reader, start: int) -> tuple[int, int]:
    word = r.peek(2)
    r.take("flags", 2)
    flags, offset = word >> 13, word & 0x1FFF
    names = [n for n, bit in (("RF", 4), ("DF", 2), ("MF", 1)) if flags & bit]
    kids = flag_nodes(flags, ("reserved", "DF", "MF"), start + 6, 1, 0)
    r.add("flags", flags, f"flags: 0x{flags:x} [{' '.join(names) or 'none'}]", start + 6, 1,
          kids, bits=(0, 3))
    r.add("frag_offset", offset, f"fragment offset: {offset} ({offset * 8} bytes)", start + 6, 2,
          bits=(3, 13))
    return flags, offset


def _fixed(r: Reader, start: int, ctx: Context) -> tuple[int, int, int, int, str]:
    """The 20 fixed bytes; returns ihl, total length, flags, fragment offset and a title."""
    _, ihl = _first_word(r, start)
    total = r.uint("total_length", 2, "total length")
    r.uint("ident", 2, "identification", lambda v: f"{v} (0x{v:04x})")
    flags, frag = _flags(r, start)
    r.uint("ttl", 1, "time to live")
    proto = r.uint("proto", 1, "protocol", proto_name)
    at = r.pos
    value = r.peek(2)
    r.take("checksum", 2)
    expected = None
    if ihl >= 5 and start + ihl * 4 <= r.end:
        expected = checksum(put_checksum(r.data[start : start + ihl * 4], 10, 0))
    r.add("checksum", value, checksum_text("header checksum", value, expected), at, 2)
    src = r.shown("src", 4, "source", addr_text)
    dst = r.shown("dst", 4, "destination", addr_text)
    ctx.src, ctx.dst = r.data[start + 12 : start + 16], r.data[start + 16 : start + 20]
    return ihl, total, flags, frag, f"IPv4 {src} → {dst}, {proto_name(proto)}"


def decode(data: bytes, start: int, end: int, ctx: Context) -> Decoded:
    r = Reader(data, start, end)
    title = "IPv4"
    try:
        ihl, total, flags, frag, title = _fixed(r, start, ctx)
    except Short as short:
        r.truncated(f"IPv4 {short.what}", short.need, short.have)
        return Decoded(layer("ipv4", title, start, r.pos, r.fields))
    hlen = ihl * 4
    if hlen < HEADER:
        r.add("malformed", hlen, f"malformed: header length {hlen} is under 20 bytes", start, 1)
        r.rest()
        return Decoded(layer("ipv4", title, start, r.pos, r.fields))
    if start + hlen > end:
        r.truncated("IPv4 options", hlen - HEADER, end - r.pos)
        return Decoded(layer("ipv4", title, start, r.pos, r.fields))
    if hlen > HEADER:
        opts = options(Reader(data, r.pos, start + hlen))
        r.add("options", len(opts), f"options: {hlen - HEADER} bytes", r.pos, hlen - HEADER, opts)
        r.pos = start + hlen
    stop = min(end, start + total) if total >= hlen else end
    if start + total > end:
        r.add("short", total, f"note: total length {total}, {end - start} bytes present",
              start + 2, 2)
    proto = data[start + 9]
    nxt = NEXT_BY_PROTO.get(proto) if frag == 0 and not flags & 1 else None
    if nxt is None and stop > r.pos:
        label = "fragment data" if frag or flags & 1 else "data"
        r.add("data", data[r.pos : stop], f"{label}: {stop - r.pos} bytes", r.pos, stop - r.pos)
        r.pos = stop
    return Decoded(layer("ipv4", title, start, r.pos, r.fields), nxt, r.pos, stop)
