"""What the layer decoders share: the context they decode in and what each returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from workbench.core.packets.field import Field

# Protocol numbers (IANA) the decoders know by name.
IP_PROTOCOLS = {0: "HOPOPT", 1: "ICMP", 2: "IGMP", 4: "IPv4", 6: "TCP", 17: "UDP",
                41: "IPv6", 43: "IPv6-Route", 44: "IPv6-Frag", 47: "GRE", 50: "ESP",
                51: "AH", 58: "ICMPv6", 59: "IPv6-NoNxt", 60: "IPv6-Opts", 89: "OSPF",
                103: "PIM", 112: "VRRP", 132: "SCTP", 255: "Raw"}
# The layer decoded after an IP header carrying this protocol.
NEXT_BY_PROTO = {1: "icmp", 4: "ipv4", 6: "tcp", 17: "udp", 41: "ipv6", 58: "icmpv6"}
MAX_DEPTH = 8  # tunnels and ICMP errors nest headers; a crafted packet cannot recurse far


def proto_name(proto: int) -> str:
    return f"{IP_PROTOCOLS.get(proto, 'unknown')} ({proto})"


@dataclass
class Context:
    """The IP addresses a transport checksum is verified against, and a way to decode
    headers nested inside a layer (ICMP errors quote the packet that caused them)."""

    inner: Callable[[str, bytes, int, int, Context], list[Field]]
    src: bytes | None = None
    dst: bytes | None = None
    depth: int = 0

    def nested(self) -> Context:
        return Context(self.inner, None, None, self.depth + 1)


@dataclass(frozen=True)
class Decoded:
    """One layer's node and where the next layer starts and ends (none: the end)."""

    node: Field
    next: str | None = None
    start: int = 0
    end: int = 0


def checksum_text(label: str, value: int, expected: int | None) -> str:
    """"checksum: 0x1c46 (correct)" or what it should have been; None: not checked."""
    text = f"{label}: 0x{value:04x}"
    if expected is None:
        return text + " (not verified)"
    if expected == value:
        return text + " (correct)"
    return text + f" (incorrect, should be 0x{expected:04x})"
