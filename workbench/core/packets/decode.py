"""One entry point from bytes to a decode tree: `decode(data, link)`.

`link` says what the first byte is:
- "ethernet": a frame, as an AF_PACKET SOCK_RAW socket or a pcap of `lo` gives it;
- "ip": an IPv4 or IPv6 packet, told apart by its version (AF_PACKET SOCK_DGRAM, or a
  raw IPv4 socket, which receives the IP header);
- "ipv4", "ipv6": that header, whatever the version says;
- "icmp", "icmpv6", "udp", "tcp": the message alone (a ping socket, or a raw IPv6
  socket, which receives no IPv6 header).

The root is a "packet" node spanning all the bytes; its children are the layers in
order, then a "trailer" for bytes past the last layer (Ethernet padding). Nothing
raises on bad input: a layer cut short ends in a "truncated" node.
"""

from __future__ import annotations

from collections.abc import Callable

from workbench.core.packets import ethernet, icmp, ipv4, ipv6, tcp, udp
from workbench.core.packets.checksum import Address, address_bytes
from workbench.core.packets.field import TRUNCATED, Field
from workbench.core.packets.layers import MAX_DEPTH, Context, Decoded

Decoder = Callable[[bytes, int, int, Context], Decoded]
DECODERS: dict[str, Decoder] = {
    "ethernet": ethernet.decode, "ipv4": ipv4.decode, "ipv6": ipv6.decode,
    "icmp": icmp.decode, "icmpv6": icmp.decode6, "udp": udp.decode, "tcp": tcp.decode,
}
LINKS = ("ethernet", "ip", *[k for k in DECODERS if k != "ethernet"])


def _ip_version(data: bytes, start: int) -> str:
    return "ipv6" if start < len(data) and data[start] >> 4 == 6 else "ipv4"


def chain(link: str, data: bytes, start: int, end: int, ctx: Context) -> list[Field]:
    """The layers from `start` to `end`, each decoded by what the one before names."""
    nodes: list[Field] = []
    current: str | None = link
    while current is not None:
        if ctx.depth > MAX_DEPTH:
            nodes.append(Field("data", data[start:end], f"data: {end - start} bytes (nested"
                               " too deep to decode)", start, end - start))
            break
        if start >= end:
            nodes.append(Field(TRUNCATED, 1, f"truncated: no bytes for {current}", start, 0))
            break
        if current == "ip":
            current = _ip_version(data, start)
        found = DECODERS[current](data, start, end, ctx)
        nodes.append(found.node)
        if found.next is None:
            break
        current, start, end = found.next, found.start, found.end
    return nodes


def decode(data: bytes, link: str = "ethernet", src: Address | None = None,
           dst: Address | None = None) -> Field:
    """The decode tree of one packet. `src` and `dst` are the IP addresses to verify a
    transport checksum against when the packet has no IP header (raw ICMPv6 sockets)."""
    if link not in LINKS:
        raise ValueError(f"unknown link {link!r}: use one of {', '.join(LINKS)}")
    data = bytes(data)
    ctx = Context(chain)
    if src is not None and dst is not None:
        ctx.src, ctx.dst = address_bytes(src), address_bytes(dst)
    layers = chain(link, data, 0, len(data), ctx)
    covered = max((n.end for n in layers), default=0)
    if covered < len(data):
        layers.append(Field("trailer", data[covered:], f"trailer: {len(data) - covered} bytes",
                            covered, len(data) - covered))
    names = " / ".join(n.name for n in layers if n.name not in (TRUNCATED, "trailer", "data"))
    cut = " (truncated)" if any(n.name == TRUNCATED for layer in layers for n in layer.walk()) \
        else ""
    return Field("packet", link, f"{len(data)} bytes: {names or 'nothing'}{cut}", 0, len(data),
                 tuple(layers))


def summary(root: Field) -> str:
    """One line for a packet: the innermost layer's title, e.g. "UDP 5000 → 6000, …"."""
    titled = [n for n in root.children if n.name not in (TRUNCATED, "trailer", "data")]
    return titled[-1].text if titled else root.text
