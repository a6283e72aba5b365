"""Typed values of socket options: text a person types, the normal JSON value, the
bytes or int setsockopt takes and getsockopt gives back, and short display text.

Normal values are what steps and session files hold: an int for "int" and "bool"
(0 or 1; any int is accepted, as the kernel reads non-zero as on), {"on", "seconds"}
for "linger", float seconds for "timeval", str for "string", "in_addr" and "bytes"
(hex), and dicts for the multicast requests. Every mistake is a one-line InputError
that says what form is expected.
"""

from __future__ import annotations

import ipaddress
import math
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from workbench.core.errors import InputError

C_INT = (-(2**31), 2**31 - 1)
TIMEVAL_MAX = 365 * 86400.0  # a year: longer timeouts are typos
IFNAMSIZ = 16
NONE_SHOWN = "(none)"  # how an empty name or byte string shows
_TRUE = ("1", "on", "true", "yes")
_FALSE = ("0", "off", "false", "no")
_INT_RE = re.compile(r"([+-]?)(0x[0-9a-f]+|[0-9]+)([km]?)")  # ASCII digits only
_SUFFIX = {"": 1, "k": 1024, "m": 1024 * 1024}
_SEP = re.compile(r"[\s,]+")
_TIMEVAL = struct.Struct("@ll")  # struct timeval: time_t, suseconds_t
_LINGER = struct.Struct("@ii")
_INT = struct.Struct("@i")


class Bounds(Protocol):
    """What a codec reads of an option: its name (for messages), range and unit."""

    name: str
    low: int | None
    high: int | None
    unit: str


def show_value(value: Any) -> str:
    """A value in a message, cut short (an integer too long to print says its length)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return f"<a {value.bit_length()}-bit integer>"
    try:
        text = repr(value[:40] if isinstance(value, str) else value)
    except ValueError:  # nested past the digit limit
        text = f"<a {type(value).__name__}>"
    return text if len(text) <= 44 else text[:41] + "..."


def is_digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes "²", which int() refuses."""
    return bool(re.fullmatch(r"[0-9]+", text))


def _range(spec: Bounds) -> tuple[int, int]:
    low = spec.low if spec.low is not None else C_INT[0]
    high = spec.high if spec.high is not None else C_INT[1]
    return low, high


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- int and bool --------------------------------------------------------------------------


_NOTE = re.compile(r"\s*\([^)]*\)$")  # "212992 (208 KiB)": the display's annotation
_UNIT_WORDS = {"seconds": ("s", "sec"), "ms": ("ms",), "us": ("us",), "bytes": ("b", "bytes")}


def parse_int(spec: Bounds, text: str) -> int:
    """4096, 64k, 1m, 0x10, -1; display text such as "212992 (208 KiB)" or "60 s" too."""
    word = _NOTE.sub("", text.lower()).strip()
    units = () if word.lstrip("+-").startswith("0x") else _UNIT_WORDS.get(spec.unit, ())
    for unit in units:  # never in hex: 0x1b is not 0x1 bytes
        if word.endswith(unit) and is_digits(word[:-len(unit)].rstrip()[-1:]):
            word = word[:-len(unit)].rstrip()
            break
    match = _INT_RE.fullmatch(word)
    if match is None:
        raise InputError(f"{spec.name} takes an integer such as 4096, 64k or 0x10, "
                         f"not {show_value(text)}")
    sign, digits, suffix = match.groups()
    magnitude = int(digits, 16) if digits.startswith("0x") else int(digits)
    return check_int(spec, magnitude * _SUFFIX[suffix] * (-1 if sign == "-" else 1), text)


def check_int(spec: Bounds, value: Any, shown: Any = None) -> int:
    low, high = _range(spec)
    if not _is_int(value):
        raise InputError(f"{spec.name} takes an integer ({low}..{high}), not {show_value(value)}")
    if not low <= value <= high:
        where = "does not fit a C int" if (low, high) == C_INT else "is out of range"
        raise InputError(f"{spec.name} value {show_value(shown if shown is not None else value)} "
                         f"{where} ({low}..{high})")
    return value


def format_int(spec: Bounds, value: int) -> str:
    if spec.unit == "bytes" and abs(value) >= 1024:
        size = _size(value)
        return f"{value} ({size})" if size else str(value)
    unit = {"seconds": " s", "ms": " ms", "us": " us"}.get(spec.unit, "")
    return f"{value}{unit}"


def _size(value: int) -> str:
    """208 KiB, 8 MiB, ~117 KiB: exact when it is, marked when rounded."""
    if value % 1048576 == 0:
        return f"{value // 1048576} MiB"
    if value % 1024 == 0:
        return f"{value // 1024} KiB"
    return f"~{value / 1024:.0f} KiB" if abs(value) >= 10240 else ""


def parse_bool(spec: Bounds, text: str) -> int:
    word = text.lower()
    if word in _TRUE:
        return 1
    if word in _FALSE:
        return 0
    raise InputError(f"{spec.name} takes on or off (1/0, true/false, yes/no), "
                     f"not {show_value(text)}")


def check_bool(spec: Bounds, value: Any) -> int:
    if not _is_int(value) or not C_INT[0] <= value <= C_INT[1]:
        raise InputError(f"{spec.name} takes 1 (on) or 0 (off), not {show_value(value)}")
    return value


def decode_int(spec: Bounds, raw: int | bytes) -> int:
    if isinstance(raw, bytes):
        return _INT.unpack(raw[:4].ljust(4, b"\0"))[0]
    return raw


# -- linger --------------------------------------------------------------------------------


def parse_linger(spec: Bounds, text: str) -> dict[str, Any]:
    words = [w for w in _SEP.split(text.lower().strip()) if w]
    if len(words) == 3 and words[2] in ("s", "sec"):  # "on 5 s"
        words = words[:2]
    form = f"{spec.name} takes on or off and seconds, e.g. 'on 0', 'on, 5' or 'off'"
    if not words or len(words) > 2 or words[0] not in _TRUE + _FALSE:
        raise InputError(f"{form}, not {show_value(text)}")
    seconds = 0
    if len(words) == 2:
        digits = words[1].removesuffix("s")
        if not is_digits(digits):
            raise InputError(f"{form}, not {show_value(text)}")
        seconds = int(digits)
    return check_linger(spec, {"on": words[0] in _TRUE, "seconds": seconds})


def check_linger(spec: Bounds, value: Any) -> dict[str, Any]:
    ok = isinstance(value, Mapping) and set(value) <= {"on", "seconds"} and "on" in value
    on, seconds = (value.get("on"), value.get("seconds", 0)) if ok else (None, None)
    if not isinstance(on, bool) or not _is_int(seconds):
        raise InputError(f"{spec.name} takes {{\"on\": true|false, \"seconds\": N}}, "
                         f"not {show_value(value)}")
    if not 0 <= seconds <= C_INT[1]:
        raise InputError(f"{spec.name} seconds {show_value(seconds)} is out of range "
                         f"(0..{C_INT[1]})")
    return {"on": on, "seconds": seconds}


def encode_linger(spec: Bounds, value: Mapping[str, Any]) -> bytes:
    return _LINGER.pack(1 if value["on"] else 0, value["seconds"])


def decode_linger(spec: Bounds, raw: int | bytes) -> dict[str, Any]:
    on, seconds = _LINGER.unpack(_bytes(raw, _LINGER.size))
    return {"on": bool(on), "seconds": seconds}


def format_linger(spec: Bounds, value: Mapping[str, Any]) -> str:
    return f"on, {value['seconds']} s" if value["on"] else "off"


# -- timeval -------------------------------------------------------------------------------

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(s|ms|us)?")


def parse_timeval(spec: Bounds, text: str) -> float:
    word = text.lower().strip()
    if word in ("off", "none", "never"):
        return 0.0
    match = _DURATION.fullmatch(word)
    if match is None:
        raise InputError(f"{spec.name} takes seconds such as 1.5, 250ms or 0 (no timeout), "
                         f"not {show_value(text)}")
    scale = {"s": 1.0, None: 1.0, "ms": 1e-3, "us": 1e-6}[match.group(2)]
    return check_timeval(spec, round(float(match.group(1)) * scale, 6))


def check_timeval(spec: Bounds, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{spec.name} takes seconds as a number, e.g. 1.5, "
                         f"not {show_value(value)}")
    number = float(value) if abs(value) < 1e300 else math.inf
    if math.isnan(number) or not 0 <= number <= TIMEVAL_MAX:
        raise InputError(f"{spec.name} {show_value(value)} is out of range "
                         f"(0..{TIMEVAL_MAX:.0f} seconds; 0 means no timeout)")
    return round(number, 6)


def encode_timeval(spec: Bounds, value: float) -> bytes:
    micros = round(value * 1_000_000)
    return _TIMEVAL.pack(micros // 1_000_000, micros % 1_000_000)


def decode_timeval(spec: Bounds, raw: int | bytes) -> float:
    sec, usec = _TIMEVAL.unpack(_bytes(raw, _TIMEVAL.size))
    return round(sec + usec / 1_000_000, 6)


def format_timeval(spec: Bounds, value: float) -> str:
    return "none" if value == 0 else f"{value:.6f}".rstrip("0").rstrip(".") + " s"


# -- strings and addresses -----------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z0-9_.:@-]*")


def parse_string(spec: Bounds, text: str) -> str:
    word = text.strip()
    return "" if word == NONE_SHOWN else check_string(spec, word)


def check_string(spec: Bounds, value: Any) -> str:
    longest = (spec.high or IFNAMSIZ) - 1  # room for the NUL
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InputError(f"{spec.name} takes a name of letters, digits and _.-:@ "
                         f"(e.g. cubic, lo), not {show_value(value)}")
    if len(value) > longest:
        raise InputError(f"{spec.name} name {show_value(value)} is too long: at most {longest} "
                         "characters")
    return value


def encode_string(spec: Bounds, value: str) -> bytes:
    return value.encode("ascii")


def decode_string(spec: Bounds, raw: int | bytes) -> str:
    data = raw if isinstance(raw, bytes) else b""
    return data.split(b"\0", 1)[0].decode("ascii", "replace")


def _ipv4(spec: Bounds, what: str, value: Any) -> str:
    try:
        if not isinstance(value, str):
            raise ValueError
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        raise InputError(f"{spec.name} {what} must be an IPv4 address such as 127.0.0.1, "
                         f"not {show_value(value)}") from None


def _ipv6(spec: Bounds, what: str, value: Any) -> str:
    try:
        if not isinstance(value, str) or "%" in value:
            raise ValueError
        return str(ipaddress.IPv6Address(value.strip()))
    except ValueError:
        raise InputError(f"{spec.name} {what} must be an IPv6 address such as ff02::1, "
                         f"not {show_value(value)}") from None


def parse_in_addr(spec: Bounds, text: str) -> str:
    return _ipv4(spec, "address", text)


def check_in_addr(spec: Bounds, value: Any) -> str:
    return _ipv4(spec, "address", value)


def encode_in_addr(spec: Bounds, value: str) -> bytes:
    return ipaddress.IPv4Address(value).packed


def decode_in_addr(spec: Bounds, raw: int | bytes) -> str:
    return str(ipaddress.IPv4Address(_bytes(raw, 4)[:4]))


# -- raw bytes (IP_OPTIONS) ----------------------------------------------------------------


def parse_bytes(spec: Bounds, text: str) -> str:
    return "" if text.strip() == NONE_SHOWN else check_bytes(spec, text)


def check_bytes(spec: Bounds, value: Any) -> str:
    digits = re.sub(r"[\s:]", "", value) if isinstance(value, str) else None
    if digits is None or not re.fullmatch(r"([0-9a-fA-F]{2})*", digits):
        raise InputError(f"{spec.name} takes hex bytes such as '01 01 00 00', "
                         f"not {show_value(value)}")
    if spec.high is not None and len(digits) // 2 > spec.high:
        raise InputError(f"{spec.name} takes at most {spec.high} bytes, not {len(digits) // 2}")
    return bytes.fromhex(digits).hex(" ")


def encode_bytes(spec: Bounds, value: str) -> bytes:
    return bytes.fromhex(value)


def decode_bytes(spec: Bounds, raw: int | bytes) -> str:
    return (raw if isinstance(raw, bytes) else b"").hex(" ")


def _bytes(raw: int | bytes, size: int) -> bytes:
    if isinstance(raw, int):
        return _INT.pack(raw).ljust(size, b"\0")
    return raw[:size].ljust(size, b"\0")


# -- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Codec:
    name: str
    parse: Callable[[Bounds, str], Any]  # text -> normal value
    check: Callable[[Bounds, Any], Any]  # any JSON value -> normal value
    encode: Callable[[Bounds, Any], int | bytes]
    decode: Callable[[Bounds, int | bytes], Any]
    fmt: Callable[[Bounds, Any], str]
    size: int | None  # getsockopt buffer length; None: a plain int
    form: str  # what a person types, for hints


def _same(spec: Bounds, value: Any) -> Any:
    return value


def _refuse(spec: Bounds, value: Any) -> Any:
    raise InputError(f"{spec.name} is read-only: it can be read with getsockopt, not set")


def _format_bool(spec: Bounds, value: int) -> str:
    return "on" if value else "off"


def _format_str(spec: Bounds, value: str) -> str:
    return value or NONE_SHOWN


def _check_int_value(spec: Bounds, value: Any) -> int:
    return check_int(spec, value)


CODECS: dict[str, Codec] = {c.name: c for c in (
    Codec("int", parse_int, _check_int_value, _same, decode_int, format_int, None,
          "an integer, e.g. 4096 or 64k"),
    Codec("bool", parse_bool, check_bool, _same, lambda s, r: int(bool(decode_int(s, r))),
          _format_bool, None, "on or off"),
    Codec("linger", parse_linger, check_linger, encode_linger, decode_linger, format_linger,
          _LINGER.size, "on 0, on 5 or off"),
    Codec("timeval", parse_timeval, check_timeval, encode_timeval, decode_timeval,
          format_timeval, _TIMEVAL.size, "seconds, e.g. 1.5 or 250ms; 0 for none"),
    Codec("string", parse_string, check_string, encode_string, decode_string, _format_str,
          IFNAMSIZ, "a name, e.g. cubic or lo"),
    Codec("in_addr", parse_in_addr, check_in_addr, encode_in_addr, decode_in_addr, _same, 4,
          "an IPv4 address, e.g. 127.0.0.1"),
    Codec("bytes", parse_bytes, check_bytes, encode_bytes, decode_bytes, _format_str, 40,
          "hex bytes, e.g. 01 01 00 00"),
)}


def refusing(name: str, decode: Callable[[Bounds, int | bytes], Any],
             fmt: Callable[[Bounds, Any], str], size: int) -> Codec:
    """A codec for a read-only struct: decodes, never encodes."""
    return Codec(name, _refuse, _refuse, _refuse, decode, fmt, size, "read-only")
