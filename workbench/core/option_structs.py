"""Codecs of the multicast requests (ip_mreqn, ip_mreq_source, ipv6_mreq) and of
SO_PEERCRED's ucred.

Groups are written as addresses, interfaces as an IPv4 address or an interface
index (IPv6 takes only an index: `ip link` shows it; lo is usually 1). Names of
interfaces are not resolved here: that would ask the system.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from collections.abc import Mapping
from typing import Any

from workbench.core.errors import InputError
from workbench.core.option_codecs import C_INT, Bounds, Codec, is_digits, refusing, show_value

_MREQN = struct.Struct("@4s4si")  # imr_multiaddr, imr_address, imr_ifindex
_MREQ_SOURCE = struct.Struct("@4s4s4s")  # imr_multiaddr, imr_interface, imr_sourceaddr
_IPV6_MREQ = struct.Struct("@16si")  # ipv6mr_multiaddr, ipv6mr_interface
_UCRED = struct.Struct("@iII")
_WORDS = re.compile(r"[\s,%]+")
_FILLER = ("on", "via", "if", "from", "source", "dev", "interface")
ANY4 = "0.0.0.0"


def _words(text: str) -> list[str]:
    return [w for w in _WORDS.split(text.strip().lower()) if w and w not in _FILLER]


def _v4(spec: Bounds, what: str, value: Any, multicast: bool = False) -> str:
    try:
        if not isinstance(value, str):
            raise ValueError
        address = ipaddress.IPv4Address(value.strip())
    except ValueError:
        raise InputError(f"{spec.name} {what} must be an IPv4 address such as "
                         f"{'239.255.0.1' if multicast else '127.0.0.1'}, not {show_value(value)}"
                         ) from None
    if multicast and not address.is_multicast:
        raise InputError(f"{spec.name} group {address} is not multicast: use "
                         "224.0.0.0-239.255.255.255, e.g. 239.255.0.1")
    return str(address)


def _index(spec: Bounds, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= C_INT[1]:
        raise InputError(f"{spec.name} interface must be an index (0 for any; ip link shows "
                         f"them, lo is usually 1), not {show_value(value)}")
    return value


def _interface4(spec: Bounds, value: Any) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return _index(spec, value)
    return _v4(spec, "interface", value)


def _fields(spec: Bounds, value: Any, keys: set[str], form: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not set(value) <= keys or "group" not in value:
        raise InputError(f"{spec.name} takes {form}, not {show_value(value)}")
    return value


# -- ip_mreqn ------------------------------------------------------------------------------

_MREQN_FORM = '{"group": "239.255.0.1", "interface": "127.0.0.1" or an index}'


def check_mreqn(spec: Bounds, value: Any) -> dict[str, Any]:
    value = _fields(spec, value, {"group", "interface"}, _MREQN_FORM)
    return {"group": _v4(spec, "group", value["group"], multicast=True),
            "interface": _interface4(spec, value.get("interface", ANY4))}


def parse_mreqn(spec: Bounds, text: str) -> dict[str, Any]:
    words = _words(text)
    if not 1 <= len(words) <= 2:
        raise InputError(f"{spec.name} takes a group and an optional interface address or "
                         f"index, e.g. '239.255.0.1 127.0.0.1', not {show_value(text)}")
    value: dict[str, Any] = {"group": words[0]}
    if len(words) == 2:
        value["interface"] = int(words[1]) if is_digits(words[1]) else words[1]
    return check_mreqn(spec, value)


def encode_mreqn(spec: Bounds, value: Mapping[str, Any]) -> bytes:
    iface = value["interface"]
    address, index = (ANY4, iface) if isinstance(iface, int) else (iface, 0)
    return _MREQN.pack(ipaddress.IPv4Address(value["group"]).packed,
                       ipaddress.IPv4Address(address).packed, index)


def decode_mreqn(spec: Bounds, raw: int | bytes) -> dict[str, Any]:
    group, address, index = _MREQN.unpack(_padded(raw, _MREQN.size))
    iface: str | int = index if index else str(ipaddress.IPv4Address(address))
    return {"group": str(ipaddress.IPv4Address(group)), "interface": iface}


def format_mreqn(spec: Bounds, value: Mapping[str, Any]) -> str:
    iface = value["interface"]
    return f"{value['group']} on " + (f"interface {iface}" if isinstance(iface, int) else iface)


# -- ip_mreq_source ------------------------------------------------------------------------

_SOURCE_FORM = '{"group": "232.1.1.1", "source": "127.0.0.1", "interface": "127.0.0.1"}'


def check_mreq_source(spec: Bounds, value: Any) -> dict[str, Any]:
    value = _fields(spec, value, {"group", "source", "interface"}, _SOURCE_FORM)
    if "source" not in value:
        raise InputError(f"{spec.name} needs a source address: {_SOURCE_FORM}")
    return {"group": _v4(spec, "group", value["group"], multicast=True),
            "source": _v4(spec, "source", value["source"]),
            "interface": _v4(spec, "interface", value.get("interface", ANY4))}


def parse_mreq_source(spec: Bounds, text: str) -> dict[str, Any]:
    words = _words(text)
    if not 2 <= len(words) <= 3:
        raise InputError(f"{spec.name} takes a group, a source and an optional interface, "
                         f"e.g. '232.1.1.1 127.0.0.1 127.0.0.1', not {show_value(text)}")
    return check_mreq_source(spec, dict(zip(("group", "source", "interface"), words,
                                            strict=False)))


def encode_mreq_source(spec: Bounds, value: Mapping[str, Any]) -> bytes:
    return _MREQ_SOURCE.pack(*(ipaddress.IPv4Address(value[k]).packed
                               for k in ("group", "interface", "source")))


def decode_mreq_source(spec: Bounds, raw: int | bytes) -> dict[str, Any]:
    group, iface, source = (str(ipaddress.IPv4Address(b))
                            for b in _MREQ_SOURCE.unpack(_padded(raw, _MREQ_SOURCE.size)))
    return {"group": group, "source": source, "interface": iface}


def format_mreq_source(spec: Bounds, value: Mapping[str, Any]) -> str:
    return f"{value['group']} from {value['source']} on {value['interface']}"


# -- ipv6_mreq -----------------------------------------------------------------------------

_V6_FORM = '{"group": "ff02::1", "interface": 1}'


def check_ipv6_mreq(spec: Bounds, value: Any) -> dict[str, Any]:
    value = _fields(spec, value, {"group", "interface"}, _V6_FORM)
    group = value["group"]
    try:
        if not isinstance(group, str) or "%" in group:
            raise ValueError
        address = ipaddress.IPv6Address(group.strip())
    except ValueError:
        raise InputError(f"{spec.name} group must be an IPv6 address such as ff02::1, "
                         f"not {show_value(group)}") from None
    if not address.is_multicast:
        raise InputError(f"{spec.name} group {address} is not multicast: use ff00::/8, "
                         "e.g. ff02::1:3")
    return {"group": str(address), "interface": _index(spec, value.get("interface", 0))}


def parse_ipv6_mreq(spec: Bounds, text: str) -> dict[str, Any]:
    words = _words(text)
    if not 1 <= len(words) <= 2 or (len(words) == 2 and not is_digits(words[1])):
        raise InputError(f"{spec.name} takes a group and an interface index, e.g. "
                         f"'ff02::1:3 1' or 'ff02::1:3%1', not {show_value(text)}")
    value: dict[str, Any] = {"group": words[0]}
    if len(words) == 2:
        value["interface"] = int(words[1])
    return check_ipv6_mreq(spec, value)


def encode_ipv6_mreq(spec: Bounds, value: Mapping[str, Any]) -> bytes:
    return _IPV6_MREQ.pack(ipaddress.IPv6Address(value["group"]).packed, value["interface"])


def decode_ipv6_mreq(spec: Bounds, raw: int | bytes) -> dict[str, Any]:
    group, index = _IPV6_MREQ.unpack(_padded(raw, _IPV6_MREQ.size))
    return {"group": str(ipaddress.IPv6Address(group)), "interface": index}


def format_ipv6_mreq(spec: Bounds, value: Mapping[str, Any]) -> str:
    return f"{value['group']} on interface {value['interface']}"


# -- ucred ---------------------------------------------------------------------------------


def decode_ucred(spec: Bounds, raw: int | bytes) -> dict[str, int]:
    pid, uid, gid = _UCRED.unpack(_padded(raw, _UCRED.size))
    return {"pid": pid, "uid": uid, "gid": gid}


def format_ucred(spec: Bounds, value: Mapping[str, int]) -> str:
    return f"pid {value['pid']}, uid {value['uid']}, gid {value['gid']}"


def _padded(raw: int | bytes, size: int) -> bytes:
    data = raw if isinstance(raw, bytes) else b""
    return data[:size].ljust(size, b"\0")


STRUCT_CODECS: dict[str, Codec] = {c.name: c for c in (
    Codec("ip_mreqn", parse_mreqn, check_mreqn, encode_mreqn, decode_mreqn, format_mreqn,
          _MREQN.size, "group [interface], e.g. 239.255.0.1 127.0.0.1"),
    Codec("ip_mreq_source", parse_mreq_source, check_mreq_source, encode_mreq_source,
          decode_mreq_source, format_mreq_source, _MREQ_SOURCE.size,
          "group source [interface], e.g. 232.1.1.1 127.0.0.1 127.0.0.1"),
    Codec("ipv6_mreq", parse_ipv6_mreq, check_ipv6_mreq, encode_ipv6_mreq, decode_ipv6_mreq,
          format_ipv6_mreq, _IPV6_MREQ.size, "group interface-index, e.g. ff02::1:3 1"),
    refusing("ucred", decode_ucred, format_ucred, _UCRED.size),
)}
