"""One entry point from bytes to a decode tree: `decode(data, link)`.

`link` says what the first byte is:
- "ethernet": a frame, as an AF_PACKET SOCK_RAW socket or a pcap of `lo` gives it;
- "ip": an IPv4 or IPv6 packet, told apart by its version (AF_PACKET SOCK_DGRAM, or a
  raw IPv4 socket, which receives the IP header);
- "ipv4", "ipv6": that header, whatever the version says;
- "icmp", "icmpv6", "udp", "tcp": the message alone (a ping socket, or a raw IPv6
  socket, which receives no IPv6 header);
- "arp": an ARP message; "data": bytes not decoded.
`receive_link` and `send_link` say which link a socket's packets start with.

The root is a "packet" node spanning all the bytes; its children are the layers in
order, then a "trailer" for bytes past the last layer (Ethernet padding). Nothing
raises on bad input: a layer cut short ends in a "truncated" node.
"""

from __future__ import annotations

from collections.abc import Callable

from workbench.core.packets import arp, ethernet, icmp, ipv4, ipv6, tcp, udp
from workbench.core.packets.checksum import Address, address_bytes
from workbench.core.packets.field import TRUNCATED, Field, layer
from workbench.core.packets.layers import MAX_DEPTH, NEXT_BY_PROTO, Context, Decoded


def _data(data: bytes, start: int, end: int, ctx: Context) -> Decoded:
    node = Field("data", data[start:end], f"data: {end - start} bytes", start, end - start)
    return Decoded(layer("data", f"{end - start} bytes not decoded", start, end, [node]))


Decoder = Callable[[bytes, int, int, Context], Decoded]
DECODERS: dict[str, Decoder] = {
    "ethernet": ethernet.decode, "ipv4": ipv4.decode, "ipv6": ipv6.decode,
    "icmp": icmp.decode, "icmpv6": icmp.decode6, "udp": udp.decode, "tcp": tcp.decode,
    "arp": arp.decode, "data": _data,
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
    """One line for a packet list: addresses with ports and the innermost layer, e.g.
    "127.0.0.1:5000 → 127.0.0.1:6000 UDP, 5 bytes of data"."""
    titled = [n for n in root.children if n.name not in (TRUNCATED, "trailer", "data")]
    if not titled:
        return root.text
    inner = titled[-1]
    ip = next((n for n in reversed(titled) if n.name in ("ipv4", "ipv6")), None)
    src, dst = (ip.child("src"), ip.child("dst")) if ip else (None, None)
    if ip is None or src is None or dst is None or inner is ip:
        return inner.text + (" (truncated)" if root.truncated else "")
    sport, dport = inner.child("sport"), inner.child("dport")
    a, b, text = str(src.value), str(dst.value), inner.text
    if sport is not None and dport is not None:
        wrap = "[{}]:{}" if ip.name == "ipv6" else "{}:{}"
        a, b = wrap.format(a, sport.value), wrap.format(b, dport.value)
        text = text.replace(f" {sport.value} → {dport.value}", "", 1)
    cut = " (truncated)" if root.truncated else ""
    return f"{a} → {b} {text}{cut}"


def _ping_or_raw(family: str, sock_type: str, proto: int) -> str:
    """The message a raw IP socket's payload or a ping socket's datagram holds."""
    if sock_type == "raw":
        return NEXT_BY_PROTO.get(proto, "data")
    ping = {"inet": 1, "inet6": 58}.get(family)
    return NEXT_BY_PROTO[proto] if sock_type == "dgram" and proto == ping else "data"


def receive_link(family: str, sock_type: str, proto: int, ethertype: int | None = None) -> str:
    """What a received packet starts with, for a socket of the session's family and type
    names; `ethertype` is the packet's protocol from an AF_PACKET SOCK_DGRAM address.
    Raw IPv4 sockets receive the IP header; raw IPv6 and ping sockets do not."""
    if family == "packet":
        if sock_type == "raw":
            return "ethernet"
        if ethertype is None:
            return "ip"
        return ethernet.NEXT_BY_ETHERTYPE.get(ethertype, "data")
    if family == "inet" and sock_type == "raw":
        return "ipv4"
    return _ping_or_raw(family, sock_type, proto) if family in ("inet", "inet6") else "data"


def send_link(family: str, sock_type: str, proto: int, hdrincl: bool = False) -> str:
    """What a sent buffer starts with: the IP header only with IP_HDRINCL, which raw
    protocol-255 sockets always have (IPv6 too, as IPV6_HDRINCL)."""
    if family == "packet":
        return "ethernet" if sock_type == "raw" else "data"
    if family not in ("inet", "inet6"):
        return "data"
    if sock_type == "raw" and (proto == 255 or (hdrincl and family == "inet")):
        return "ipv6" if family == "inet6" else "ipv4"
    return _ping_or_raw(family, sock_type, proto)
