"""UDP datagrams (RFC 768): built with the pseudo-header checksum, and decoded."""

from __future__ import annotations

import struct

from workbench.core.packets.checksum import Address, put_checksum, transport_checksum
from workbench.core.packets.field import Reader, Short, layer
from workbench.core.packets.layers import Context, Decoded, checksum_text

PROTO = 17
HEADER = 8


def build(sport: int, dport: int, payload: bytes = b"", src: Address | None = None,
          dst: Address | None = None, length: int | None = None) -> bytes:
    """A UDP header and payload. With both addresses the checksum is computed (a sum of 0
    is sent as 0xffff); without, it is 0, which IPv4 reads as "no checksum"."""
    size = length if length is not None else HEADER + len(payload)
    datagram = struct.pack("!HHHH", sport, dport, size, 0) + payload
    if src is None or dst is None:
        return datagram
    return put_checksum(datagram, 6, transport_checksum(src, dst, PROTO, datagram) or 0xFFFF)


def _expected(data: bytes, start: int, end: int, ctx: Context, value: int) -> int | None:
    if ctx.src is None or ctx.dst is None or (value == 0 and len(ctx.src) == 4):
        return None  # no addresses to sum over, or IPv4's "no checksum"
    expected = transport_checksum(ctx.src, ctx.dst, PROTO, put_checksum(data[start:end], 6, 0))
    return expected or 0xFFFF


def decode(data: bytes, start: int, end: int, ctx: Context) -> Decoded:
    r = Reader(data, start, end)
    title = "UDP"
    try:
        sport = r.uint("sport", 2, "source port")
        dport = r.uint("dport", 2, "destination port")
        title = f"UDP {sport} → {dport}"
        length = r.uint("length", 2, "length")
        value = r.peek(2)
        r.take("checksum", 2)
        stop = start + length if HEADER <= length <= end - start else end
        expected = _expected(data, start, stop, ctx, value) if stop - start == length else None
        text = checksum_text("checksum", value, expected)
        if value == 0 and expected is None and ctx.src is not None and len(ctx.src) == 4:
            text = "checksum: 0x0000 (none)"
        r.add("checksum", value, text, start + 6, 2)
        if length < HEADER:
            r.add("malformed", length, f"malformed: length {length} is under 8", start + 4, 2)
        elif length > end - start:
            r.add("short", length, f"note: length {length}, {end - start} bytes present",
                  start + 4, 2)
        r.end = stop
        title += f", {stop - r.pos} bytes of data"
        r.rest("data", "data")
    except Short as short:
        r.truncated(f"UDP {short.what}", short.need, short.have)
    return Decoded(layer("udp", title, start, r.pos, r.fields))
