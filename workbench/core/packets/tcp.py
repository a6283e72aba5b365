"""TCP segments (RFC 9293): built with options and the pseudo-header checksum, and
decoded with flags and options (MSS, window scale, SACK-permitted, SACK, timestamps,
NOP, end of options)."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from workbench.core.packets.checksum import Address, put_checksum, transport_checksum
from workbench.core.packets.field import Field, Reader, Short, flag_nodes, layer
from workbench.core.packets.layers import Context, Decoded, checksum_text

PROTO = 6
HEADER = 20
FLAGS = ("AE", "CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")  # top bit first
FLAG_BITS = {name: 1 << (len(FLAGS) - 1 - i) for i, name in enumerate(FLAGS)}
OPTION_NAMES = {0: "end of options", 1: "no operation", 2: "MSS", 3: "window scale",
                4: "SACK permitted", 5: "SACK", 8: "timestamps", 28: "user timeout",
                29: "TCP-AO", 30: "MPTCP", 34: "fast open cookie"}
# An option: (kind, value); value is None, an int, a (tsval, tsecr) pair, SACK blocks,
# or raw bytes for any other kind.
Option = tuple[int, object]


def flags_value(names: Sequence[str]) -> int:
    """"SYN", "ACK" ... to the 9-bit flags value."""
    return sum(FLAG_BITS[n.upper()] for n in names)


def option_bytes(kind: int, value: object = None) -> bytes:
    if kind in (0, 1):
        return bytes([kind])
    if kind == 2 and isinstance(value, int):
        body = struct.pack("!H", value)
    elif kind == 3 and isinstance(value, int):
        body = bytes([value])
    elif kind == 8 and isinstance(value, tuple):
        body = struct.pack("!II", *value)
    elif kind == 5 and isinstance(value, (list, tuple)):
        body = b"".join(struct.pack("!II", left, right) for left, right in value)
    else:
        body = bytes(value) if isinstance(value, (bytes, bytearray)) else b""
    return bytes([kind, len(body) + 2]) + body


def build(sport: int, dport: int, seq: int = 0, ack: int = 0, flags: int = 0x002,
          window: int = 65535, options: Sequence[Option] = (), payload: bytes = b"",
          src: Address | None = None, dst: Address | None = None, urgent: int = 0) -> bytes:
    """A TCP segment; options are padded with end-of-options to a multiple of 4. With both
    addresses the checksum is computed, else it is 0."""
    opts = b"".join(option_bytes(k, v) for k, v in options)
    opts += b"\0" * (-len(opts) % 4)
    if len(opts) > 40:
        raise ValueError(f"TCP options take {len(opts)} bytes; at most 40 fit in the header")
    offset = (HEADER + len(opts)) // 4
    segment = struct.pack("!HHIIHHHH", sport, dport, seq, ack, offset << 12 | flags & 0x1FF,
                          window, 0, urgent) + opts + payload
    if src is None or dst is None:
        return segment
    return put_checksum(segment, 16, transport_checksum(src, dst, PROTO, segment))


def _option_value(kind: int, body: bytes) -> tuple[object, str]:
    if kind == 2 and len(body) == 2:
        value: object = int.from_bytes(body, "big")
        return value, f"{value}"
    if kind == 3 and len(body) == 1:
        return body[0], f"shift {body[0]} (x{1 << min(body[0], 14)})"
    if kind == 8 and len(body) == 8:
        tsval, tsecr = struct.unpack("!II", body)
        return (tsval, tsecr), f"TSval {tsval}, TSecr {tsecr}"
    if kind == 5 and len(body) % 8 == 0:
        blocks = tuple(struct.unpack_from("!II", body, i) for i in range(0, len(body), 8))
        return blocks, " ".join(f"{a}-{b}" for a, b in blocks)
    return body, body.hex()


def option_node(data: bytes, kind: int, at: int, length: int) -> Field:
    name = OPTION_NAMES.get(kind, f"option {kind}")
    body = data[at + 2 : at + length]
    value, shown = _option_value(kind, body)
    kids = [Field("kind", kind, f"kind: {kind}", at, 1),
            Field("length", length, f"length: {length}", at + 1, 1)]
    if body:
        kids.append(Field("value", value, f"value: {shown}", at + 2, len(body)))
    key = name.lower().replace(" ", "_").replace("-", "_")
    return Field(key, value, f"{name}: {shown}" if body else name, at, length, tuple(kids))


def options(data: bytes, at: int, end: int) -> list[Field]:
    nodes: list[Field] = []
    while at < end:
        kind = data[at]
        if kind in (0, 1):
            nodes.append(Field("eol" if kind == 0 else "nop", kind, OPTION_NAMES[kind], at, 1))
            at += 1
            if kind == 0:
                if at < end:
                    nodes.append(Field("padding", data[at:end], f"padding: {end - at} bytes",
                                       at, end - at))
                break
            continue
        length = data[at + 1] if at + 1 < end else 0
        if length < 2 or at + length > end:
            nodes.append(Field("malformed", data[at:end],
                               f"malformed option {kind}: length {length} with {end - at} bytes"
                               " left", at, end - at))
            break
        nodes.append(option_node(data, kind, at, length))
        at += length
    return nodes


def _flags(r: Reader, start: int) -> int:
    word = r.peek(2)
    r.take("flags", 2)
    offset, flags = word >> 12, word & 0x1FF
    r.add("data_offset", offset, f"header length: {offset * 4} bytes ({offset})", start + 12, 1,
          bits=(0, 4))
    r.add("reserved", word >> 9 & 7, f"reserved: {word >> 9 & 7}", start + 12, 1, bits=(4, 3))
    names = [n for n in FLAGS if flags & FLAG_BITS[n]]
    kids = flag_nodes(flags, FLAGS, start + 12, 2, 7)
    r.add("flags", flags, f"flags: 0x{flags:03x} [{' '.join(names) or 'none'}]", start + 12, 2,
          kids, bits=(7, 9))
    return offset * 4


def _checksum(r: Reader, start: int, end: int, ctx: Context) -> None:
    value = r.peek(2)
    r.take("checksum", 2)
    expected = None
    if ctx.src is not None and ctx.dst is not None:
        expected = transport_checksum(ctx.src, ctx.dst, PROTO,
                                      put_checksum(r.data[start:end], 16, 0))
    r.add("checksum", value, checksum_text("checksum", value, expected), start + 16, 2)


def decode(data: bytes, start: int, end: int, ctx: Context) -> Decoded:
    r = Reader(data, start, end)
    title = "TCP"
    try:
        sport = r.uint("sport", 2, "source port")
        dport = r.uint("dport", 2, "destination port")
        title = f"TCP {sport} → {dport}"
        seq = r.uint("seq", 4, "sequence number")
        ack = r.uint("ack", 4, "acknowledgment number")
        hlen = _flags(r, start)
        flags = r.fields[-1].value
        names = [n for n in FLAGS if flags & FLAG_BITS[n]]
        title += f" [{' '.join(names) or 'none'}] seq {seq}" + (f" ack {ack}" if flags & 16 else "")
        r.uint("window", 2, "window")
        _checksum(r, start, end, ctx)
        r.uint("urgent", 2, "urgent pointer")
        if hlen < HEADER:
            r.add("malformed", hlen, f"malformed: header length {hlen} is under 20", start + 12, 1)
        elif start + hlen > end:
            raise Short("options", hlen - HEADER, end - r.pos)
        elif hlen > HEADER:
            opts = options(data, r.pos, start + hlen)
            r.add("options", len(opts), f"options: {hlen - HEADER} bytes", r.pos, hlen - HEADER,
                  opts)
            r.pos = start + hlen
        title += f", {r.left} bytes of data"
        r.rest("data", "data")
    except Short as short:
        r.truncated(f"TCP {short.what}", short.need, short.have)
    return Decoded(layer("tcp", title, start, r.pos, r.fields))
