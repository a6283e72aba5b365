"""Codecs of the raw and packet socket options: a capture filter (SO_ATTACH_FILTER) and
the ICMPv6 type filter (ICMP6_FILTER).

A capture filter's normal value is its words ("udp port 53"); setsockopt takes a
struct sock_fprog pointing at the compiled program. The kernel copies the program
during setsockopt, so the buffer the pointer names is kept here (a few of the latest)
to outlive the call. Frames on a packet SOCK_RAW socket start with the Ethernet
header; on raw IP and cooked packet sockets with the IP header (`filter_link`).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

from workbench.core.errors import InputError
from workbench.core.option_codecs import Bounds, Codec
from workbench.core.packets import bpf, icmp

_KEPT: OrderedDict[bytes, tuple[Any, str]] = OrderedDict()  # fprog -> (its buffer, words)
KEEP = 16


def filter_link(family: str, sock_type: str) -> str:
    return "ethernet" if (family, sock_type) == ("packet", "raw") else "ip"


def compile_fprog(words: str, link: str) -> bytes:
    """The sock_fprog for `words` on that link; its program buffer stays alive here."""
    fprog, buffer = bpf.sock_fprog(bpf.compile_filter(bpf.parse(words, link)))
    _KEPT[fprog] = (buffer, words)
    while len(_KEPT) > KEEP:
        _KEPT.popitem(last=False)
    return fprog


def _check_filter(spec: Bounds, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{spec.name} takes filter words, e.g. udp port 53, icmp, "
                         "host 127.0.0.1")
    words = " ".join(value.lower().split())
    try:
        bpf.parse(words)
    except InputError as exc:
        raise InputError(f"{spec.name}: {exc}") from None
    return words


def _encode_filter(spec: Bounds, value: str) -> bytes:
    return compile_fprog(value, "ethernet")  # the engine compiles for the socket's link


def _decode_filter(spec: Bounds, raw: int | bytes) -> Any:
    """The words a sock_fprog made here was compiled from (the kernel gives none back)."""
    kept = _KEPT.get(raw) if isinstance(raw, bytes) else None
    return kept[1] if kept is not None else raw


def _format_text(spec: Bounds, value: Any) -> str:
    return str(value)


def _check_types(spec: Bounds, value: Any) -> list[int]:
    if isinstance(value, str):
        text = value.strip().lower().removeprefix("pass ")
        if text == "none":
            return []
        if text == "all":
            return list(range(256))
        items: list[Any] = [w for w in re.split(r"[\s,]+", text) if w]
        try:
            value = [int(w, 0) for w in items]
        except ValueError:
            value = None
    if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value):
        raise InputError(f"{spec.name} takes the ICMPv6 types to let through, e.g. 129 or "
                         "1,2,3,4,129, all or none")
    return sorted(set(value))


def _encode_types(spec: Bounds, value: list[int]) -> bytes:
    return icmp.icmp6_filter(value)


def _decode_types(spec: Bounds, raw: int | bytes) -> list[int]:
    return icmp.icmp6_filter_passing(raw if isinstance(raw, bytes) else b"\0" * 32)


def _format_types(spec: Bounds, value: list[int]) -> str:
    if len(value) == 256:
        return "all"
    return "pass " + ", ".join(map(str, value)) if value else "none"


RAW_CODECS = {
    "bpf": Codec("bpf", _check_filter, _check_filter, _encode_filter, _decode_filter,
                 _format_text, None, "filter words, e.g. udp port 53 or icmp host 127.0.0.1"),
    "icmp6_filter": Codec("icmp6_filter", _check_types, _check_types, _encode_types,
                          _decode_types, _format_types, 32,
                          "ICMPv6 types to let through, e.g. 129 or 1,2,3,4,129; all; none"),
}
