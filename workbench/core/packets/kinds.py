"""Raw, packet and ping sockets as steps name them, checked and turned into the numbers
socket() takes.

A step says {"family": "inet", "type": "raw", "proto": 1}. Families: "inet", "inet6",
"packet" (Linux AF_PACKET). Types: "raw", "dgram". The protocol is an IP protocol
number (or a name: icmp, tcp, udp, icmpv6, raw) for inet and inet6, and an ethertype
(or a name: all, ipv4, ipv6, arp) for packet, which socket() takes in network byte
order. Bad combinations are an InputError: one line, what is wrong, what to use.
"""

from __future__ import annotations

import socket

from workbench.core.errors import InputError

AF_PACKET = getattr(socket, "AF_PACKET", 17)
FAMILIES = {"inet": socket.AF_INET, "inet6": socket.AF_INET6, "packet": AF_PACKET}
TYPES = {"raw": socket.SOCK_RAW, "dgram": socket.SOCK_DGRAM}
IP_PROTO_NAMES = {"icmp": 1, "tcp": 6, "udp": 17, "icmpv6": 58, "raw": 255}
ETHERTYPE_NAMES = {"all": 0x0003, "ipv4": 0x0800, "ipv6": 0x86DD, "arp": 0x0806}
PING = {"inet": 1, "inet6": 58}


def proto_number(family: str, proto: int | str) -> int:
    """A protocol given by number or name, for that family."""
    names = ETHERTYPE_NAMES if family == "packet" else IP_PROTO_NAMES
    high = 0xFFFF if family == "packet" else 255
    if isinstance(proto, str):
        key = proto.strip().lower()
        if key in names:
            return names[key]
        try:
            proto = int(key, 0)
        except ValueError:
            raise InputError(f"protocol {proto!r} not known for {family}: use a number or "
                             f"one of {', '.join(names)}") from None
    if isinstance(proto, bool) or not 0 <= proto <= high:
        raise InputError(f"protocol {proto!r} is out of range for {family}: use 0 to {high}")
    return proto


def check(family: str, sock_type: str, proto: int | str) -> int:
    """The protocol number, once the combination is one this workbench creates."""
    if family not in FAMILIES:
        raise InputError(f"unknown family {family!r} for a raw socket: use inet, inet6 or "
                         "packet")
    if sock_type not in TYPES:
        raise InputError(f"type {sock_type!r} is not raw: use raw, or dgram for ping and "
                         "cooked packet sockets")
    number = proto_number(family, proto)
    if family == "packet":
        return number
    if sock_type == "dgram" and number != PING[family]:
        raise InputError(f"a dgram {family} socket here is a ping socket: use protocol "
                         f"{PING[family]} ({'icmp' if family == 'inet' else 'icmpv6'})")
    if sock_type == "raw" and number == 0:
        raise InputError(f"a raw {family} socket needs a protocol (the kernel refuses 0): "
                         "use e.g. icmp, icmpv6, udp or raw")
    return number


def socket_args(family: str, sock_type: str, proto: int | str) -> tuple[int, int, int]:
    """What socket() takes: packet sockets want the ethertype in network byte order."""
    number = check(family, sock_type, proto)
    wire = socket.htons(number) if family == "packet" else number
    return FAMILIES[family], TYPES[sock_type], wire
