"""Simple capture filters (protocol, address, port) three ways: a classic BPF program
for SO_ATTACH_FILTER, an interpreter that runs such a program as the kernel would, and
a Python predicate that makes the same decision from the bytes.

The program follows tcpdump's for the same words: "ethernet" frames are told apart by
their ethertype (a VLAN-tagged frame matches nothing, as in tcpdump without "vlan"),
"ip" packets (AF_PACKET SOCK_DGRAM) by their version; a protocol is IPv4's protocol
field or IPv6's first next header, or the one after a fragment header (no other
extension header is walked, and with a port not that one either); a port is TCP's or
UDP's, either direction, never in a later IPv4 fragment.
"""

from __future__ import annotations

import ctypes
import ipaddress
import struct
from dataclasses import dataclass

from workbench.core.errors import InputError
from workbench.core.packets.checksum import address_bytes

PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "icmpv6": 58, "icmp6": 58}
FILTER_LINKS = ("ethernet", "ip")
ACCEPT = 0x40000  # the snap length returned for a match: whole packets on any interface
MAX_INSNS = 4096  # BPF_MAXINSNS

# Opcodes (linux/filter.h) of the instructions used here.
LD_W, LD_H, LD_B = 0x20, 0x28, 0x30  # absolute loads
LD_H_IND = 0x48  # ldh [x + k]
LDX_MSH = 0xB1  # ldxb 4*([k]&0xf)
JEQ, JSET, JA = 0x15, 0x45, 0x05  # JA: jump always, by k
RSH = 0x74
RET = 0x06
FRAGMENT = 44  # the IPv6 fragment header


@dataclass(frozen=True)
class Insn:
    code: int
    jt: int
    jf: int
    k: int


@dataclass(frozen=True)
class Filter:
    """Packets to keep: all of the given conditions hold; none given keeps everything."""

    proto: int | None = None  # IP protocol number
    host: str | None = None  # source or destination address
    port: int | None = None  # TCP or UDP source or destination port
    link: str = "ethernet"  # what the packet starts with: "ethernet" or "ip"

    def families(self) -> tuple[int, ...]:
        v4 = self.proto != 58 and (self.host is None or ":" not in self.host)
        v6 = self.proto not in (1,) and (self.host is None or ":" in self.host)
        return tuple(v for v, ok in ((4, v4), (6, v6)) if ok)


def parse(text: str, link: str = "ethernet") -> Filter:
    """Words like "udp port 5000 host 127.0.0.1" ("and" may join them) to a Filter."""
    if link not in FILTER_LINKS:
        raise InputError(f"unknown link {link!r}: use ethernet or ip")
    words = [w for w in text.lower().split() if w != "and"]
    proto = host = port = None
    i = 0
    while i < len(words):
        word = words[i]
        if word in PROTOCOLS:
            proto, i = PROTOCOLS[word], i + 1
            continue
        if word not in ("proto", "host", "port") or i + 1 >= len(words):
            raise InputError(f"filter word {word!r} not understood: use tcp, udp, icmp, "
                             "icmpv6, proto N, host ADDRESS, port N")
        value = words[i + 1]
        i += 2
        if word == "host":
            try:
                host = str(ipaddress.ip_address(value))
            except ValueError:
                raise InputError(f"host {value!r} is not an IP address") from None
        elif not value.isdigit() or int(value) > (255 if word == "proto" else 65535):
            raise InputError(f"{word} {value!r}: give a number up to "
                             f"{255 if word == 'proto' else 65535}")
        elif word == "proto":
            proto = int(value)
        else:
            port = int(value)
    if port is not None and proto not in (None, 6, 17):
        raise InputError("a port filter needs tcp, udp or no protocol")
    found = Filter(proto, host, port, link)
    if not found.families():
        raise InputError("no packet can match: the protocol and address are of different IP "
                         "versions")
    return found


# -- compiling: instructions with symbolic jump targets, then resolved -------------------

_Item = tuple[int, int | str, int | str, int] | str  # an instruction, or a label


class _Asm:
    def __init__(self) -> None:
        self.items: list[_Item] = []
        self.count = 0

    def op(self, code: int, k: int = 0, jt: int | str = 0, jf: int | str = 0) -> None:
        self.items.append((code, jt, jf, k))

    def label(self) -> str:
        self.count += 1
        return f"L{self.count}"

    def at(self, name: str) -> None:
        self.items.append(name)

    def resolve(self) -> list[Insn]:
        where: dict[str, int] = {}
        index = 0
        for item in self.items:
            if isinstance(item, str):
                where[item] = index
            else:
                index += 1
        out: list[Insn] = []
        for item in self.items:
            if isinstance(item, str):
                continue
            code, jt, jf, k = item
            here = len(out) + 1
            t = where[jt] - here if isinstance(jt, str) else jt
            f = where[jf] - here if isinstance(jf, str) else jf
            out.append(Insn(code, t, f, k))
        return out


def _host(a: _Asm, base: int, v: int, addr: bytes, fail: str) -> None:
    """Source or destination equals addr (IPv4 words at 12/16, IPv6 at 8/24)."""
    ok, try_dst = a.label(), a.label()
    words = struct.unpack(f"!{len(addr) // 4}I", addr)
    for where, miss in (((12, 8)[v == 6], try_dst), ((16, 24)[v == 6], fail)):
        for i, word in enumerate(words):
            a.op(LD_W, base + where + 4 * i)
            a.op(JEQ, word, ok if i == len(words) - 1 else 0, miss)
        if miss == try_dst:
            a.at(try_dst)
    a.at(ok)


def _ports(a: _Asm, base: int, v: int, port: int, fail: str) -> None:
    ok = a.label()
    if v == 4:
        a.op(LD_H, base + 6)
        a.op(JSET, 0x1FFF, fail, 0)
        a.op(LDX_MSH, base)
        a.op(LD_H_IND, base)
        a.op(JEQ, port, ok, 0)
        a.op(LD_H_IND, base + 2)
    else:
        a.op(LD_H, base + 40)
        a.op(JEQ, port, ok, 0)
        a.op(LD_H, base + 42)
    a.op(JEQ, port, 0, fail)
    a.at(ok)


def _ipv6_proto(a: _Asm, base: int, proto: int, reject: str) -> None:
    """The next header is `proto`, or a fragment header whose next header is."""
    ok = a.label()
    a.op(LD_B, base + 6)
    a.op(JEQ, proto, ok, 0)
    a.op(JEQ, FRAGMENT, 0, reject)
    a.op(LD_B, base + 40)
    a.op(JEQ, proto, 0, reject)
    a.at(ok)


def _branch(a: _Asm, f: Filter, v: int, base: int, other: str, reject: str) -> None:
    """One IP version's tests: not this version goes to `other`, a failed test rejects."""
    if f.link == "ethernet":
        a.op(LD_H, 12)
        a.op(JEQ, 0x0800 if v == 4 else 0x86DD, 0, other)
    else:
        a.op(LD_B, 0)
        a.op(RSH, 4)
        a.op(JEQ, v, 0, other)
    proto_at = base + (9 if v == 4 else 6)
    if f.proto is not None and v == 6 and f.port is None:
        _ipv6_proto(a, base, f.proto, reject)
    elif f.proto is not None:
        a.op(LD_B, proto_at)
        a.op(JEQ, f.proto, 0, reject)
    elif f.port is not None:
        ok = a.label()
        a.op(LD_B, proto_at)
        a.op(JEQ, 6, ok, 0)
        a.op(JEQ, 17, 0, reject)
        a.at(ok)
    if f.host is not None:
        _host(a, base, v, address_bytes(f.host), reject)
    if f.port is not None:
        _ports(a, base, v, f.port, reject)
    a.op(RET, ACCEPT)


def compile_filter(f: Filter) -> list[Insn]:
    """The classic BPF program deciding what `f` keeps (returns ACCEPT, or 0 to drop)."""
    if f.proto is None and f.host is None and f.port is None:
        return [Insn(RET, 0, 0, ACCEPT)]
    a = _Asm()
    base = 14 if f.link == "ethernet" else 0
    reject = "reject"
    families = f.families()
    for i, v in enumerate(families):
        other = a.label() if i + 1 < len(families) else reject
        _branch(a, f, v, base, other, reject)
        if other != reject:
            a.at(other)
    a.at(reject)
    a.op(RET, 0)
    return a.resolve()


def program_bytes(program: list[Insn]) -> bytes:
    """The struct sock_filter array, in this machine's byte order."""
    return b"".join(struct.pack("=HBBI", i.code, i.jt, i.jf, i.k) for i in program)


def sock_fprog(program: list[Insn]) -> tuple[bytes, ctypes.Array[ctypes.c_char]]:
    """The struct sock_fprog value for setsockopt(SOL_SOCKET, SO_ATTACH_FILTER), and the
    buffer it points into, which must stay alive until setsockopt returns."""
    code = program_bytes(program)
    buffer = ctypes.create_string_buffer(code, len(code))
    return struct.pack("HP", len(program), ctypes.addressof(buffer)), buffer


# -- running a program as the kernel does ------------------------------------------------

_SIZES = {0x00: 4, 0x08: 2, 0x10: 1}
_ALU = {0x00: lambda a, b: a + b, 0x10: lambda a, b: a - b, 0x20: lambda a, b: a * b,
        0x30: lambda a, b: a // b if b else None, 0x40: lambda a, b: a | b,
        0x50: lambda a, b: a & b, 0x60: lambda a, b: a << b if b < 32 else 0,
        0x70: lambda a, b: a >> b if b < 32 else 0, 0x80: lambda a, b: -a,
        0x90: lambda a, b: a % b if b else None, 0xA0: lambda a, b: a ^ b}


def _load(packet: bytes, at: int, size: int) -> int | None:
    if at < 0 or at + size > len(packet):
        return None
    return int.from_bytes(packet[at : at + size], "big")


def _ld(i: Insn, packet: bytes, x: int) -> int | None:
    mode = i.code & 0xE0
    if mode == 0x00:
        return i.k
    if mode == 0x80:
        return len(packet)
    return _load(packet, i.k + (x if mode == 0x40 else 0), _SIZES[i.code & 0x18])


def _jump(i: Insn, a: int, x: int) -> int:
    if i.code == JA:
        return i.k
    b = x if i.code & 0x08 else i.k
    op = i.code & 0xF0
    hit = {0x10: a == b, 0x20: a > b, 0x30: a >= b, 0x40: bool(a & b)}.get(op, False)
    return i.jt if hit else i.jf


def run(program: list[Insn], packet: bytes) -> int:
    """What the program returns for `packet` (0: drop); a load past the end drops, as in
    the kernel. Jumps only go forward, so this ends."""
    a = x = pc = 0
    while 0 <= pc < len(program):
        i = program[pc]
        pc += 1
        cls = i.code & 7
        if cls == 0:
            loaded = _ld(i, packet, x)
            if loaded is None:
                return 0
            a = loaded
        elif cls == 1:
            if i.code == LDX_MSH:
                byte = _load(packet, i.k, 1)
                if byte is None:
                    return 0
                x = (byte & 0xF) * 4
            else:
                x = i.k if i.code & 0xE0 == 0 else len(packet)
        elif cls == 4:
            result = _ALU[i.code & 0xF0](a, x if i.code & 0x08 else i.k)
            if result is None:
                return 0
            a = result & 0xFFFFFFFF
        elif cls == 5:
            pc += _jump(i, a, x)
        elif cls == 6:
            return a if i.code & 0x18 == 0x10 else i.k
        elif cls == 7:
            a, x = (x, x) if i.code & 0xF8 == 0x80 else (a, a)
    return 0


# -- the same decision in Python ---------------------------------------------------------


def _version(f: Filter, packet: bytes, base: int) -> int | None:
    if f.link == "ethernet":
        etype = _load(packet, 12, 2)
        return {0x0800: 4, 0x86DD: 6}.get(etype) if etype is not None else None
    first = _load(packet, 0, 1)
    return first >> 4 if first is not None else None


def _host_matches(packet: bytes, base: int, v: int, addr: bytes) -> bool:
    src, dst = (base + 12, base + 16) if v == 4 else (base + 8, base + 24)
    n = len(addr)
    if src + n <= len(packet) and packet[src : src + n] == addr:
        return True
    return dst + n <= len(packet) and packet[dst : dst + n] == addr


def _port_matches(packet: bytes, base: int, v: int, port: int) -> bool:
    if v == 4:
        frag = _load(packet, base + 6, 2)
        if frag is None or frag & 0x1FFF:
            return False
        at = base + (packet[base] & 0xF) * 4
    else:
        at = base + 40
    sport, dport = _load(packet, at, 2), _load(packet, at + 2, 2)
    return sport == port or (sport is not None and dport == port)


def matches(f: Filter, packet: bytes) -> bool:
    """Whether `f` keeps `packet`: the decision its BPF program makes, without it."""
    if f.proto is None and f.host is None and f.port is None:
        return True
    base = 14 if f.link == "ethernet" else 0
    v = _version(f, packet, base)
    if v not in f.families():
        return False
    if f.proto is not None or f.port is not None:
        proto = _load(packet, base + (9 if v == 4 else 6), 1)
        if v == 6 and f.port is None and proto == FRAGMENT and f.proto != FRAGMENT:
            proto = _load(packet, base + 40, 1)
        wanted = (f.proto,) if f.proto is not None else (6, 17)
        if proto not in wanted:
            return False
    if f.host is not None and not _host_matches(packet, base, v, address_bytes(f.host)):
        return False
    return f.port is None or _port_matches(packet, base, v, f.port)
