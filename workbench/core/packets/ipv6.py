"""IPv6 headers: built (fixed header only) and decoded with their extension headers:
hop-by-hop options, routing, fragment and destination options (RFC 8200)."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from workbench.core.packets.checksum import address_bytes
from workbench.core.packets.field import Field, Reader, Short, bit_field, layer
from workbench.core.packets.layers import NEXT_BY_PROTO, Context, Decoded, proto_name

HEADER = 40
HOP_BY_HOP, ROUTING, FRAGMENT, DEST_OPTS, AH, NO_NEXT = 0, 43, 44, 60, 51, 59
EXTENSIONS = {HOP_BY_HOP: "hop-by-hop options", ROUTING: "routing", FRAGMENT: "fragment",
              DEST_OPTS: "destination options", AH: "authentication header"}
OPTION_NAMES = {0: "Pad1", 1: "PadN", 5: "router alert", 0xC2: "jumbo payload",
                0x04: "tunnel encapsulation limit", 0x63: "RPL option", 0xC9: "home address"}
MAX_EXTENSIONS = 16  # a crafted chain of empty headers stops here


@dataclass(frozen=True)
class IPv6Header:
    src: str = "::1"
    dst: str = "::1"
    next_header: int = 17
    hop_limit: int = 64
    traffic_class: int = 0
    flow_label: int = 0
    payload_length: int | None = None  # None: computed


def build(h: IPv6Header, payload: bytes = b"") -> bytes:
    """The fixed header and `payload` (which may start with extension headers)."""
    length = h.payload_length if h.payload_length is not None else len(payload)
    first = 6 << 28 | (h.traffic_class & 0xFF) << 20 | h.flow_label & 0xFFFFF
    return struct.pack("!IHBB16s16s", first, length, h.next_header, h.hop_limit,
                       address_bytes(h.src), address_bytes(h.dst)) + payload


def addr_text(raw: bytes) -> str:
    return str(ipaddress.IPv6Address(raw))


def _fixed(r: Reader, start: int, ctx: Context) -> tuple[int, int, str]:
    word = r.peek(4)
    r.take("version", 4)
    version, tclass, flow = word >> 28, word >> 20 & 0xFF, word & 0xFFFFF
    r.add("version", version, f"version: {version}" + ("" if version == 6 else " (not 6)"),
          start, 1, bits=(0, 4))
    kids = [bit_field("dscp", tclass >> 2, f"DSCP: {tclass >> 2}", start, 2, 4, 6),
            bit_field("ecn", tclass & 3, f"ECN: {tclass & 3}", start + 1, 1, 2, 2)]
    r.add("traffic_class", tclass, f"traffic class: 0x{tclass:02x}", start, 2, kids, (4, 8))
    r.add("flow_label", flow, f"flow label: 0x{flow:05x}", start + 1, 3, bits=(4, 20))
    length = r.uint("payload_length", 2, "payload length")
    nh = r.uint("next_header", 1, "next header", proto_name)
    r.uint("hop_limit", 1, "hop limit")
    src = r.shown("src", 16, "source", addr_text)
    dst = r.shown("dst", 16, "destination", addr_text)
    ctx.src, ctx.dst = r.data[start + 8 : start + 24], r.data[start + 24 : start + 40]
    return length, nh, f"IPv6 {src} → {dst}"


def tlv_options(data: bytes, at: int, end: int) -> list[Field]:
    """Hop-by-hop or destination options: Pad1, then type-length-value; bad lengths stop."""
    nodes: list[Field] = []
    while at < end:
        kind = data[at]
        if kind == 0:
            nodes.append(Field("pad1", 0, "Pad1", at, 1))
            at += 1
            continue
        length = data[at + 1] + 2 if at + 1 < end else 0
        if length < 2 or at + length > end:
            nodes.append(Field("malformed", data[at:end], f"malformed option {kind}", at,
                               end - at))
            break
        body = data[at + 2 : at + length]
        name = OPTION_NAMES.get(kind, f"option 0x{kind:02x}")
        action = ("skip", "discard", "discard, send ICMP", "discard, ICMP unless multicast")
        kids = [bit_field("action", kind >> 6, f"if unknown: {action[kind >> 6]}", at, 1, 0, 2),
                bit_field("change", kind >> 5 & 1, f"may change en route: {kind >> 5 & 1}",
                          at, 1, 2, 1),
                Field("length", length - 2, f"length: {length - 2}", at + 1, 1)]
        if body and kind != 1:
            value = int.from_bytes(body, "big") if len(body) <= 4 else body.hex()
            kids.append(Field("value", value, f"value: {value}", at + 2, len(body)))
        nodes.append(Field(name.replace(" ", "_").lower(), kind,
                           f"{name} (0x{kind:02x}), {length} bytes", at, length, tuple(kids)))
        at += length
    return nodes


ROUTING_TYPES = {0: "source route", 2: "mobility", 3: "RPL", 4: "segment routing"}


def _routing(r: Reader) -> None:
    r.uint("routing_type", 1, "routing type",
           lambda v: f"{v} ({ROUTING_TYPES.get(v, 'unknown')})")
    r.uint("segments_left", 1, "segments left")
    if r.data[r.pos - 2] in (0, 2, 4):
        r.raw("reserved", 4, "type-specific data")
        i = 0
        while r.left >= 16:
            r.shown(f"address{i}", 16, "address", addr_text)
            i += 1
    r.rest("data", "type-specific data")


def final_destination(routing: Field) -> bytes | None:
    """The address a transport checksum is summed over when a routing header still has
    segments to visit (RFC 8200 8.1): the last hop of type 0, the home address of type
    2, the first listed segment of segment routing (type 4)."""
    kind, left = routing.child("routing_type"), routing.child("segments_left")
    hops = [c.value for c in routing.children if c.name.startswith("address")]
    if kind is None or left is None or not left.value or not hops:
        return None
    pick = {0: hops[-1], 2: hops[0], 4: hops[0]}.get(kind.value)
    return ipaddress.IPv6Address(pick).packed if pick else None


def _fragment(r: Reader, at: int) -> int:
    r.raw("reserved", 1, "reserved")
    word = r.peek(2)
    r.take("fragment offset", 2)
    offset, more = word >> 3, word & 1
    r.add("frag_offset", offset, f"fragment offset: {offset} ({offset * 8} bytes)", at + 2, 2,
          bits=(0, 13))
    r.add("mf", bool(more), f"more fragments: {'yes' if more else 'no'}", at + 3, 1, bits=(7, 1))
    r.uint("ident", 4, "identification", lambda v: f"0x{v:08x}")
    return offset or more


def _extension(data: bytes, at: int, end: int, kind: int) -> tuple[Field, int, int, bool]:
    """One extension header: its node, next header, length and whether it fragments."""
    name = EXTENSIONS[kind]
    r = Reader(data, at, end)
    frag = False
    try:
        nh = r.uint("next_header", 1, "next header", proto_name)
        if kind == FRAGMENT:
            length = 8
            frag = bool(_fragment(r, at))
        else:
            units = r.peek(1)
            length = (units + 2) * 4 if kind == AH else (units + 1) * 8
            r.uint("length", 1, "header length", lambda v: f"{v} ({length} bytes)")
        if at + length > end:
            raise Short(name, length, end - at)
        r.end = at + length
        if kind in (HOP_BY_HOP, DEST_OPTS):
            opts = tlv_options(data, r.pos, r.end)
            r.add("options", len(opts), f"options: {r.left} bytes", r.pos, r.left, opts)
            r.pos = r.end
        elif kind == ROUTING:
            _routing(r)
        r.rest("data", "header data")
    except Short as short:
        r.truncated(f"IPv6 {short.what} header", short.need, short.have)
        return layer(name.replace(" ", "_").replace("-", "_"), name, at, r.pos, r.fields), \
            NO_NEXT, r.pos - at, False
    node = layer(name.replace(" ", "_").replace("-", "_"),
                 f"{name}, next header {proto_name(nh)}", at, r.end, r.fields)
    return node, nh, length, frag


def decode(data: bytes, start: int, end: int, ctx: Context) -> Decoded:
    r = Reader(data, start, end)
    title = "IPv6"
    try:
        length, nh, title = _fixed(r, start, ctx)
    except Short as short:
        r.truncated(f"IPv6 {short.what}", short.need, short.have)
        return Decoded(layer("ipv6", title, start, r.pos, r.fields))
    stop = min(end, r.pos + length) if length else end  # 0: a jumbogram, or unknown
    if r.pos + length > end:
        r.add("short", length, f"note: payload length {length}, {end - r.pos} bytes present",
              start + 4, 2)
    fragmented, count = False, 0
    while nh in EXTENSIONS and r.pos < stop and count < MAX_EXTENSIONS:
        node, nh_next, size, frag = _extension(data, r.pos, stop, nh)
        r.fields.append(node)
        r.pos += size
        fragmented |= frag
        count += 1
        if node.truncated:
            return Decoded(layer("ipv6", title, start, r.pos, r.fields))
        if nh == ROUTING:
            ctx.dst = final_destination(node) or ctx.dst
        nh = nh_next
    nxt = None if fragmented else NEXT_BY_PROTO.get(nh)
    if nxt is None and stop > r.pos:
        label = "fragment data" if fragmented else "data"
        r.add("data", data[r.pos : stop], f"{label}: {stop - r.pos} bytes", r.pos, stop - r.pos)
        r.pos = stop
    return Decoded(layer("ipv6", f"{title}, {proto_name(nh)}", start, r.pos, r.fields), nxt,
                   r.pos, stop)
