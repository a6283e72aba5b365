"""Ethernet II frames with 802.1Q / 802.1ad VLAN tags: build and decode."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from workbench.core.packets.field import Reader, Short, bit_field, layer
from workbench.core.packets.layers import Context, Decoded

ETHERTYPES = {0x0800: "IPv4", 0x0806: "ARP", 0x86DD: "IPv6", 0x8100: "802.1Q",
              0x88A8: "802.1ad", 0x8847: "MPLS", 0x88CC: "LLDP", 0x9100: "802.1Q (old QinQ)"}
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
NEXT_BY_ETHERTYPE = {0x0800: "ipv4", 0x86DD: "ipv6", 0x0806: "arp"}
HEADER = 14


def mac_bytes(mac: str | bytes) -> bytes:
    if isinstance(mac, bytes):
        if len(mac) != 6:
            raise ValueError("a MAC address is 6 bytes")
        return mac
    parts = mac.replace("-", ":").split(":")
    if len(parts) != 6:
        raise ValueError(f"not a MAC address: {mac!r} (use six hex pairs like 02:00:00:00:00:01)")
    return bytes(int(p, 16) for p in parts)


def mac_text(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def ethertype_text(value: int) -> str:
    if value <= 1500:  # IEEE 802.3: a length, and an LLC header follows
        return f"{value} (802.3 length)"
    return f"0x{value:04x} ({ETHERTYPES.get(value, 'unknown')})"


def build(dst: str | bytes, src: str | bytes, ethertype: int, payload: bytes = b"",
          vlans: Sequence[tuple[int, int]] = ()) -> bytes:
    """A frame; `vlans` are (TPID, TCI) tags from the outside in."""
    tags = b"".join(struct.pack("!HH", tpid, tci) for tpid, tci in vlans)
    return mac_bytes(dst) + mac_bytes(src) + tags + struct.pack("!H", ethertype) + payload


def _vlan(r: Reader, index: int) -> None:
    at = r.pos
    tpid = r.peek(2)
    tci = r.peek(2, at + 2, "VLAN tag")
    r.take("VLAN tag", 4)
    pcp, dei, vid = tci >> 13, tci >> 12 & 1, tci & 0xFFF
    kids = [bit_field("tpid", tpid, f"TPID: {ethertype_text(tpid)}", at, 2, 0, 16),
            bit_field("pcp", pcp, f"priority (PCP): {pcp}", at + 2, 1, 0, 3),
            bit_field("dei", dei, f"drop eligible (DEI): {dei}", at + 2, 1, 3, 1),
            bit_field("vid", vid, f"VLAN id: {vid}", at + 2, 2, 4, 12)]
    r.add("vlan", vid, f"VLAN tag {index}: id {vid}, priority {pcp}", at, 4, kids)


def decode(data: bytes, start: int, end: int, ctx: Context) -> Decoded:
    r = Reader(data, start, end)
    text = "Ethernet"
    nxt = None
    try:
        dst = r.shown("dst", 6, "destination", mac_text)
        src = r.shown("src", 6, "source", mac_text)
        text = f"Ethernet {src} → {dst}"
        tags = 0
        while r.peek(2, what="type") in VLAN_TPIDS and tags < 4:
            tags += 1
            _vlan(r, tags)
        etype = r.uint("ethertype", 2, "type", ethertype_text)
        nxt = NEXT_BY_ETHERTYPE.get(etype)
    except Short as short:
        r.truncated(f"Ethernet {short.what}", short.need, short.have)
        return Decoded(layer("ethernet", text, start, r.pos, r.fields))
    if nxt is None:
        r.rest("data", "data")
    return Decoded(layer("ethernet", text, start, r.pos, r.fields), nxt, r.pos, end)
