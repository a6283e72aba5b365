"""The value of a setsockopt in an exported C program: the struct the option takes,
filled field by field where that reads well, else the exact bytes the workbench gave
the kernel (see `encode_option`).

Each form declares `v` and ends with the call, so `sizeof v` is the length. Structs
Winsock lacks (ip_mreqn, icmp6_filter, sock_fprog) have a Windows branch: ip_mreq
for ip_mreqn, and for the two Linux-only ones a call that fails with ENOPROTOOPT.
"""

from __future__ import annotations

import ipaddress

from workbench.export.plan_options import Option

LINUX_ONLY = ("icmp6_filter", "bpf")  # no Winsock counterpart


def extra_includes(kinds: set[str]) -> list[str]:
    """Headers the options of the program need beyond the common ones (POSIX side)."""
    headers = [h for kind, h in (("icmp6_filter", "<netinet/icmp6.h>"),
                                 ("bpf", "<linux/filter.h>")) if kind in kinds]
    if not headers:
        return []
    return ["#ifndef _WIN32", *(f"#include {h}" for h in headers), "#endif", ""]


def setsockopt_lines(option: Option, sock: int) -> list[str]:
    """The declaration of `v` holding the value, then the setsockopt call into rc."""
    form = _FORMS.get(option.kind, _raw_bytes)
    lines = form(option)
    if option.kind in LINUX_ONLY:
        return ["#ifdef _WIN32", "rc = -1; /* no such option in Winsock */",
                "WSASetLastError(WSAENOPROTOOPT);", "#else", *lines, _call(option, sock),
                "#endif"]
    return [*lines, _call(option, sock)]


def _call(option: Option, sock: int, size: str = "sizeof v") -> str:
    if option.kind == "string":
        size = "sizeof v - 1"  # the name without its NUL, as the workbench set it
    elif option.kind == "bytes" and not option.encoded:
        return (f"rc = setsockopt(fds[{sock}], {option.level}, {option.name}, NULL, 0); "
                "/* no options */")
    return (f"rc = setsockopt(fds[{sock}], {option.level}, {option.name}, "
            f"(const char *)&v, {size});")


def _int(option: Option) -> list[str]:
    return [f"int v = {int(option.value)};"]


def _linger(option: Option) -> list[str]:
    value = option.value
    return [f"struct linger v = {{{int(bool(value['on']))}, {int(value['seconds'])}}};"]


def _timeval(option: Option) -> list[str]:
    whole = int(option.value)
    micro = round((option.value - whole) * 1e6)
    return ["#ifdef _WIN32",
            f"DWORD v = {round(option.value * 1000)}; /* Winsock takes milliseconds */",
            "#else", f"struct timeval v = {{{whole}, {micro}}};", "#endif"]


def _string(option: Option) -> list[str]:
    return [f"static const char v[] = {_c_string(option.encoded)};"]


def _s_addr(field: str, text: str) -> str:
    """An assignment of an IPv4 address to an s_addr, with the address in a comment."""
    return f"{field} = htonl(0x{int(ipaddress.IPv4Address(text)):08x}UL); /* {text} */"


def _in_addr_value(option: Option) -> list[str]:
    return ["struct in_addr v;", "memset(&v, 0, sizeof v);", _s_addr("v.s_addr", option.value)]


def _mreqn(option: Option) -> list[str]:
    group, iface = option.value["group"], option.value["interface"]
    index = iface if isinstance(iface, int) else 0
    address = "0.0.0.0" if isinstance(iface, int) else iface
    windows_iface = (f"v.imr_interface.s_addr = htonl({index}); /* interface index {index} */"
                     if index else _s_addr("v.imr_interface.s_addr", address))
    return ["#ifdef _WIN32", "struct ip_mreq v; /* Winsock has no ip_mreqn */",
            "memset(&v, 0, sizeof v);", _s_addr("v.imr_multiaddr.s_addr", group),
            windows_iface, "#else", "struct ip_mreqn v;", "memset(&v, 0, sizeof v);",
            _s_addr("v.imr_multiaddr.s_addr", group), _s_addr("v.imr_address.s_addr", address),
            f"v.imr_ifindex = {index};", "#endif"]


def _mreq_source(option: Option) -> list[str]:
    value = option.value
    return ["struct ip_mreq_source v;", "memset(&v, 0, sizeof v);",
            _s_addr("v.imr_multiaddr.s_addr", value["group"]),
            _s_addr("v.imr_interface.s_addr", value["interface"]),
            _s_addr("v.imr_sourceaddr.s_addr", value["source"])]


def _ipv6_mreq(option: Option) -> list[str]:
    group = ipaddress.IPv6Address(option.value["group"])
    return ["struct ipv6_mreq v;", "memset(&v, 0, sizeof v);",
            f"memcpy(&v.ipv6mr_multiaddr, {_c_string(group.packed)}, 16); /* {group} */",
            f"v.ipv6mr_interface = {int(option.value['interface'])};"]


def _icmp6_filter(option: Option) -> list[str]:
    passing = list(option.value)
    if len(passing) == 256:
        return ["struct icmp6_filter v;", "ICMP6_FILTER_SETPASSALL(&v);"]
    return ["struct icmp6_filter v;", "ICMP6_FILTER_SETBLOCKALL(&v); /* then let these in */",
            *(f"ICMP6_FILTER_SETPASS({t}, &v);" for t in passing)]


def _bpf(option: Option) -> list[str]:
    rows = [f"    {{0x{c:02x}, {jt}, {jf}, 0x{k:08x}}}," for c, jt, jf, k in option.program]
    return [f"/* the filter \"{option.value}\", compiled as the workbench did */",
            "static struct sock_filter code[] = {", *rows, "};",
            "struct sock_fprog v;", "v.len = sizeof code / sizeof code[0];",
            "v.filter = code;"]


def _raw_bytes(option: Option) -> list[str]:
    """The bytes themselves (IP_OPTIONS), or any struct without a form here."""
    data = option.encoded
    if not data:
        return []
    return [f"static const unsigned char v[{len(data)}] = {{"
            + ", ".join(f"0x{b:02x}" for b in data) + "};"]


_FORMS = {"int": _int, "linger": _linger, "timeval": _timeval, "string": _string,
          "in_addr": _in_addr_value, "ip_mreqn": _mreqn, "ip_mreq_source": _mreq_source,
          "ipv6_mreq": _ipv6_mreq, "icmp6_filter": _icmp6_filter, "bpf": _bpf}


def _c_string(data: bytes) -> str:
    """A C string literal of exactly these bytes (octal escapes for anything else)."""
    out = []
    for byte in data:
        char = chr(byte)
        if byte < 128 and (char.isalnum() or char in " _.-:@"):
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'

