"""ARP (RFC 826) over Ethernet and IPv4, decoded; other hardware or protocol types show
their addresses as hex."""

from __future__ import annotations

from collections.abc import Callable

from workbench.core.packets import ethernet, ipv4
from workbench.core.packets.field import Reader, Short, layer
from workbench.core.packets.layers import Context, Decoded

OPERATIONS = {1: "request", 2: "reply", 3: "RARP request", 4: "RARP reply"}


def _show(size: int, kind: str) -> Callable[[bytes], str]:
    if kind == "hw" and size == 6:
        return ethernet.mac_text
    if kind == "proto" and size == 4:
        return ipv4.addr_text
    return bytes.hex


def decode(data: bytes, start: int, end: int, ctx: Context) -> Decoded:
    r = Reader(data, start, end)
    title = "ARP"
    try:
        r.uint("htype", 2, "hardware type", lambda v: f"{v}" + (" (Ethernet)" if v == 1 else ""))
        r.uint("ptype", 2, "protocol type", ethernet.ethertype_text)
        hlen = r.uint("hlen", 1, "hardware address length")
        plen = r.uint("plen", 1, "protocol address length")
        op = r.uint("op", 2, "operation", lambda v: f"{v} ({OPERATIONS.get(v, 'unknown')})")
        sha = r.shown("sha", hlen, "sender hardware address", _show(hlen, "hw"))
        spa = r.shown("spa", plen, "sender protocol address", _show(plen, "proto"))
        r.shown("tha", hlen, "target hardware address", _show(hlen, "hw"))
        tpa = r.shown("tpa", plen, "target protocol address", _show(plen, "proto"))
        if op == 1:
            title = f"ARP who has {tpa}? tell {spa}"
        elif op == 2:
            title = f"ARP {spa} is at {sha}"
        else:
            title = f"ARP {OPERATIONS.get(op, f'operation {op}')}"
    except Short as short:
        r.truncated(f"ARP {short.what}", short.need, short.have)
    return Decoded(layer("arp", title, start, r.pos, r.fields))
