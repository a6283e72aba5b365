"""The value of a setsockopt in an exported Python program: an int, or an expression
of exactly the bytes the workbench gave the kernel (see `encode_option`), spelled
with `struct.pack` and `socket.inet_aton` where that shows the fields.

SO_ATTACH_FILTER takes a struct sock_fprog, which points at the filter: the filter
is a module-level ctypes buffer (so it outlives the call) and the value packs its
length and address, as C would.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Callable

from workbench.export.plan_options import Option

STRUCT_KINDS = ("linger", "timeval", "ip_mreqn", "ipv6_mreq", "icmp6_filter", "bpf")


def imports(kinds: set[str]) -> set[str]:
    """The modules the option values of a program use."""
    return ({"struct"} if kinds & set(STRUCT_KINDS) else set()) | (
        {"ctypes"} if "bpf" in kinds else set())


def option_value(option: Option, seq: int, define: Callable[[str], None]) -> str:
    """The value argument of setsockopt; `define` adds a module-level definition."""
    if option.kind == "bpf":
        name = f"FILTER_{seq}"
        rows = [option.encoded[i:i + 32].hex() for i in range(0, len(option.encoded), 32)]
        define(f"# the filter {option.value!r}, compiled as the workbench did: struct "
               f"sock_filter[{len(option.program)}]\n"
               f"{name} = ctypes.create_string_buffer(bytes.fromhex(\n"
               + "".join(f"    {row!r}\n" for row in rows)
               + f"), {len(option.encoded)})")
        return f'struct.pack("HP", {len(option.program)}, ctypes.addressof({name}))'
    if option.kind == "icmp6_filter":
        name = f"ICMP6_FILTER_{seq}"
        define(f"# a set bit blocks that ICMPv6 type; these pass: "
               f"{', '.join(map(str, option.value)) or 'none'}\n{name} = {_icmp6_filter(option)}")
        return name
    form = _FORMS.get(option.kind)
    return form(option) if form else repr(option.encoded)


def _int(option: Option) -> str:
    return str(int(option.value))


def _linger(option: Option) -> str:
    on, seconds = int(bool(option.value["on"])), int(option.value["seconds"])
    return f'struct.pack("ii", {on}, {seconds})'


def _timeval(option: Option) -> str:
    whole = int(option.value)
    micro = round((option.value - whole) * 1_000_000)
    return f'struct.pack("ll", {whole}, {micro})'


def _aton(text: str) -> str:
    return f"socket.inet_aton({text!r})"


def _in_addr(option: Option) -> str:
    return _aton(option.value)


def _mreqn(option: Option) -> str:
    iface = option.value["interface"]
    address, index = ("0.0.0.0", iface) if isinstance(iface, int) else (iface, 0)
    return (f'struct.pack("@4s4si", {_aton(option.value["group"])}, {_aton(address)}, '
            f"{index})")


def _mreq_source(option: Option) -> str:
    value = option.value
    return (f"{_aton(value['group'])} + {_aton(value['interface'])} + "
            f"{_aton(value['source'])}")


def _ipv6_mreq(option: Option) -> str:
    group = str(ipaddress.IPv6Address(option.value["group"]))
    return (f'struct.pack("@16si", socket.inet_pton(socket.AF_INET6, {group!r}), '
            f"{int(option.value['interface'])})")


def _icmp6_filter(option: Option) -> str:
    """Eight 32-bit words in the machine's order; a set bit blocks that type."""
    words = [f"0x{int.from_bytes(option.encoded[i:i + 4], sys.byteorder):08x}"
             for i in range(0, 32, 4)]
    return (f'struct.pack(\n    "=8I", {", ".join(words[:4])},\n'
            f'    {", ".join(words[4:])})')


_FORMS: dict[str, Callable[[Option], str]] = {
    "int": _int, "linger": _linger, "timeval": _timeval, "in_addr": _in_addr,
    "ip_mreqn": _mreqn, "ip_mreq_source": _mreq_source, "ipv6_mreq": _ipv6_mreq}
