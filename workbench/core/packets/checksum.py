"""The internet checksum (RFC 1071) and the pseudo-headers UDP, TCP and ICMPv6 sum over."""

from __future__ import annotations

import ipaddress
import struct

Address = str | bytes | ipaddress.IPv4Address | ipaddress.IPv6Address


def ones_sum(data: bytes, start: int = 0) -> int:
    """The 16-bit one's complement sum of `data` (an odd last byte is padded with zero),
    added to `start` and folded."""
    if len(data) % 2:
        data += b"\0"
    total = start + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def checksum(data: bytes, start: int = 0) -> int:
    """The internet checksum: the complement of the one's complement sum.

    Data that holds its own correct checksum sums to 0xFFFF, so this returns 0."""
    return ~ones_sum(data, start) & 0xFFFF


def address_bytes(address: Address) -> bytes:
    """An IPv4 or IPv6 address as its 4 or 16 network-order bytes."""
    if isinstance(address, bytes):
        if len(address) not in (4, 16):
            raise ValueError(f"an address is 4 or 16 bytes, not {len(address)}")
        return address
    return ipaddress.ip_address(address).packed


def pseudo_header_v4(src: Address, dst: Address, proto: int, length: int) -> bytes:
    """RFC 768/793: source, destination, zero, protocol, upper-layer length."""
    return address_bytes(src) + address_bytes(dst) + struct.pack("!BBH", 0, proto, length)


def pseudo_header_v6(src: Address, dst: Address, next_header: int, length: int) -> bytes:
    """RFC 8200 8.1: source, destination, 32-bit length, three zeros, next header."""
    return address_bytes(src) + address_bytes(dst) + struct.pack("!I3xB", length, next_header)


def pseudo_header(src: Address, dst: Address, proto: int, length: int) -> bytes:
    """The IPv4 or IPv6 pseudo-header, chosen by the addresses' size."""
    s, d = address_bytes(src), address_bytes(dst)
    if len(s) != len(d):
        raise ValueError("source and destination are of different families")
    make = pseudo_header_v4 if len(s) == 4 else pseudo_header_v6
    return make(s, d, proto, length)


def transport_checksum(src: Address, dst: Address, proto: int, segment: bytes) -> int:
    """The checksum of a UDP, TCP or ICMPv6 message (its checksum field zeroed or not:
    a segment holding its correct checksum gives 0)."""
    return checksum(segment, ones_sum(pseudo_header(src, dst, proto, len(segment))))


def put_checksum(packet: bytes, at: int, value: int) -> bytes:
    """`packet` with the 16-bit field at `at` set to `value`."""
    return packet[:at] + struct.pack("!H", value) + packet[at + 2 :]
