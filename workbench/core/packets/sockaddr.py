"""Packet socket addresses as text: `iface:lo`, with what a received frame's address adds.

A packet socket binds to and sends through an interface: `iface:NAME`, optionally with
`ethertype=0x0800` (else the socket's protocol) and `mac=00:11:22:33:44:55` (the
link-layer destination a cooked, SOCK_DGRAM, socket sends to). What recvfrom gives
back reads the same way with the frame's packet type, e.g.
`iface:lo,ethertype=0x0800,pkttype=outgoing,mac=00:00:00:00:00:00`, so a recorded
`peer` says which decoder its bytes need (`receive_link`) and can be sent to again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from workbench.core.errors import InputError

PREFIX = "iface:"
PKTTYPES = {0: "host", 1: "broadcast", 2: "multicast", 3: "otherhost", 4: "outgoing",
            5: "loopback"}
_NAME = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")  # IFNAMSIZ - 1; no commas or spaces
_MAC = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){0,7}")
FORM = "write iface:NAME, e.g. iface:lo, optionally ,ethertype=0x0800 and ,mac=00:00:00:00:00:00"


@dataclass(frozen=True)
class PacketAddress:
    ifname: str
    ethertype: int | None = None
    pkttype: str = ""
    mac: bytes = b""

    def __str__(self) -> str:
        parts = [PREFIX + self.ifname]
        if self.ethertype is not None:
            parts.append(f"ethertype=0x{self.ethertype:04x}")
        if self.pkttype:
            parts.append(f"pkttype={self.pkttype}")
        if self.mac:
            parts.append("mac=" + ":".join(f"{b:02x}" for b in self.mac))
        return ",".join(parts)

    def sockaddr(self, socket_ethertype: int) -> tuple[Any, ...]:
        """What Python's socket module takes (it puts the ethertype in network order)."""
        proto = self.ethertype if self.ethertype is not None else socket_ethertype
        if self.mac:
            return (self.ifname, proto, 0, 0, self.mac)
        return (self.ifname, proto)


def is_packet_address(text: str) -> bool:
    return text.strip().lower().startswith(PREFIX)


def parse_packet_address(text: str) -> PacketAddress:
    """`iface:NAME[,ethertype=N][,pkttype=NAME][,mac=HEX:..]`; a one-line InputError else."""
    t = text.strip()
    if not is_packet_address(t):
        raise InputError(f"{t[:60]!r} is not a packet socket address: {FORM}")
    name, *rest = t[len(PREFIX):].split(",")
    if not _NAME.fullmatch(name):
        raise InputError(f"bad interface name {name[:20]!r}: {FORM}")
    fields: dict[str, Any] = {}
    for part in rest:
        key, sep, value = part.strip().partition("=")
        key = key.lower()
        if not sep or key not in ("ethertype", "pkttype", "mac") or key in fields:
            raise InputError(f"bad part {part[:30]!r} in {t[:60]!r}: {FORM}")
        fields[key] = _field(key, value.strip(), t)
    return PacketAddress(name, fields.get("ethertype"), fields.get("pkttype", ""),
                         fields.get("mac", b""))


def _field(key: str, value: str, whole: str) -> Any:
    if key == "ethertype":
        try:
            number = int(value, 0)
        except ValueError:
            number = -1
        if not 0 <= number <= 0xFFFF:
            raise InputError(f"ethertype {value[:20]!r} in {whole[:60]!r}: use 0 to 0xffff")
        return number
    if key == "mac":
        if not _MAC.fullmatch(value):
            raise InputError(f"mac {value[:30]!r} in {whole[:60]!r}: write hex pairs, "
                             "e.g. 00:11:22:33:44:55")
        return bytes.fromhex(value.replace(":", ""))
    if value.lower() not in PKTTYPES.values():
        raise InputError(f"pkttype {value[:20]!r}: use one of {', '.join(PKTTYPES.values())}")
    return value.lower()


def format_packet_sockaddr(addr: tuple[Any, ...]) -> str:
    """The text of an address from recvfrom or getsockname on a packet socket."""
    ifname = str(addr[0]) if addr else ""
    if not ifname:
        return ""  # not bound to an interface
    ethertype = int(addr[1]) if len(addr) > 1 else None
    pkttype = PKTTYPES.get(int(addr[2]), str(addr[2])) if len(addr) > 2 else ""
    mac = bytes(addr[4]) if len(addr) > 4 else b""
    return str(PacketAddress(ifname, ethertype, pkttype, mac))
