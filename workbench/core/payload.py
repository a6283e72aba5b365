"""Payload codecs: text, forgiving hex and C escapes in; JSON, escapes and code literals out.

Every parser raises InputError with a one-line message naming the 1-based position of
the offending character, so the UI can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from workbench.core.errors import InputError

PAYLOAD_MODES = ("text", "hex", "escapes")
JSON_KEYS = ("text", "hex")

_HEX_RUN = re.compile(r"[0-9a-fA-F]+")
_HEX_SEPARATORS = re.compile(r"[\s:,\-]+")
_HEX_PREFIXES = ("0x", "0X", "\\x", "\\X")
_HEX_HELP = "use 0-9, a-f, separated by spaces, ':' or '0x'"

# One escape sequence; `\Z` catches a backslash that ends the input.
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.|\Z)", re.DOTALL)
_SIMPLE_ESCAPES = {
    "r": 0x0D, "n": 0x0A, "t": 0x09, "\\": 0x5C, '"': 0x22, "'": 0x27,
    "a": 0x07, "b": 0x08, "f": 0x0C, "v": 0x0B,
}  # fmt: skip
_ESCAPE_HELP = "use \\r \\n \\t \\0 \\\\ \\\" \\' \\a \\b \\f \\v, \\xHH or octal \\NNN"

# Bytes that to_escapes writes as named escapes; everything else non-printable is \xHH.
_NAMED_OUT = {0x0D: "\\r", 0x0A: "\\n", 0x09: "\\t", 0x5C: "\\\\"}
_OCTAL_DIGITS = b"01234567"
_JSON_CONTROLS = frozenset("\n\r\t")
_C_PER_LINE = 12


def _clip(text: str, limit: int = 40) -> str:
    """Shorten text so an error message stays readable."""
    return text if len(text) <= limit else text[:limit] + "…"


# -- parsing ---------------------------------------------------------------------------


def parse_text(s: str, encoding: str = "utf-8") -> bytes:
    """Encode s as typed; fails only for an unknown encoding or an unencodable character."""
    try:
        return s.encode(encoding)
    except LookupError:
        raise InputError(
            f"unknown text encoding {encoding!r}: use e.g. utf-8, latin-1 or ascii"
        ) from None
    except UnicodeEncodeError as exc:
        bad = s[exc.start]
        raise InputError(
            f"character {bad!r} (U+{ord(bad):04X}) at position {exc.start + 1} cannot be "
            f"encoded as {encoding}: use another encoding, hex or escapes"
        ) from None


def parse_hex(s: str) -> bytes:
    """Hex digits in pairs; spaces, ':', '-', ',' and '0x' / '\\x' prefixes are ignored."""
    out = bytearray()
    for pos, digits in _hex_runs(s):
        if len(digits) % 2:
            raise InputError(
                f"odd number of hex digits in {_clip(digits)!r} at position {pos + 1}: "
                "write each byte as two digits, e.g. 0a instead of a"
            )
        out += bytes.fromhex(digits)
    return bytes(out)


def _hex_runs(s: str) -> Iterator[tuple[int, str]]:
    """Yield (index, digits) for each run of hex digits between separators and prefixes."""
    i = 0
    while i < len(s):
        if s.startswith(_HEX_PREFIXES, i):
            i = _skip_hex_prefix(s, i)
        elif sep := _HEX_SEPARATORS.match(s, i):
            i = sep.end()
        elif run := _HEX_RUN.match(s, i):
            end = _hex_run_end(s, run.end(), i)
            yield i, s[i:end]
            i = end
        else:
            raise InputError(f"bad hex character {s[i]!r} at position {i + 1}: {_HEX_HELP}")


def _skip_hex_prefix(s: str, i: int) -> int:
    after = i + 2
    if not _HEX_RUN.match(s, after):
        raise InputError(
            f"'{s[i:after]}' at position {i + 1} is not followed by hex digits: "
            "write bytes like 0xde 0xad"
        )
    return after


def _hex_run_end(s: str, end: int, start: int) -> int:
    """Where a run stops: a glued '0x' on a byte boundary ('de0xad') starts the next one."""
    glued = end < len(s) and s[end] in "xX" and s[end - 1] == "0"
    if glued and (end - 1 - start) % 2 == 0 and end - 1 > start:
        return end - 1
    return end


def parse_escapes(s: str) -> bytes:
    """C string escapes; other characters are encoded as UTF-8."""
    out = bytearray()
    last = 0
    for match in _ESCAPE.finditer(s):
        out += _utf8(s[last : match.start()], last)
        out.append(_escape_value(match.group(1), match.start()))
        last = match.end()
    out += _utf8(s[last:], last)
    return bytes(out)


def _utf8(chunk: str, offset: int) -> bytes:
    try:
        return chunk.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = chunk[exc.start]
        raise InputError(
            f"character U+{ord(bad):04X} at position {offset + exc.start + 1} is a lone "
            "surrogate and has no UTF-8 form: remove it or write the bytes as \\xHH"
        ) from None


def _escape_value(body: str, index: int) -> int:
    """The byte an escape body (the text after the backslash) stands for."""
    pos = index + 1
    if body in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[body]
    if len(body) == 3 and body[0] == "x":
        return int(body[1:], 16)
    if body and body[0] in "01234567":
        return _octal_value(body, pos)
    if body == "":
        raise InputError(f"lone backslash at position {pos} ends the input: write \\\\ for one")
    if body in ("x", "X"):
        raise InputError(f"bad \\x escape at position {pos}: write two hex digits, e.g. \\x0a")
    shown = f"'\\{body}'" if body.isprintable() else f"backslash + U+{ord(body):04X}"
    raise InputError(f"unknown escape {shown} at position {pos}: {_ESCAPE_HELP}")


def _octal_value(body: str, pos: int) -> int:
    value = int(body, 8)
    if value > 0o377:
        raise InputError(
            f"octal escape '\\{body}' at position {pos} is above \\377: "
            "use \\000-\\377 or \\xHH for one byte"
        )
    return value


_PARSERS: dict[str, Callable[[str], bytes]] = {
    "text": parse_text,
    "hex": parse_hex,
    "escapes": parse_escapes,
}


def parse_payload(s: str, mode: str) -> bytes:
    """Parse s in one of PAYLOAD_MODES."""
    parser = _PARSERS.get(mode)
    if parser is None:
        raise InputError(f"unknown payload mode {mode!r}: use one of {', '.join(PAYLOAD_MODES)}")
    return parser(s)


# -- JSON form for session files ---------------------------------------------------------


def payload_to_json(data: bytes) -> dict[str, str]:
    """{"text": ...} when data reads well as UTF-8, else {"hex": "de ad ..."}."""
    text = _printable_utf8(data)
    if text is not None:
        return {"text": text}
    return {"hex": data.hex(" ")}


def _printable_utf8(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\ufffd" in text:
        return None  # a literal replacement char usually means already-damaged text
    if text.isprintable() or all(c.isprintable() or c in _JSON_CONTROLS for c in text):
        return text
    return None


def payload_from_json(obj: Any) -> bytes:
    """Inverse of payload_to_json; also accepts forgiving hex."""
    allowed = 'use exactly one key, {"text": ...} or {"hex": ...}'
    if not isinstance(obj, dict) or len(obj) != 1:
        raise InputError(f"bad payload {_clip(repr(obj))}: {allowed}")
    [(key, value)] = obj.items()
    if key not in JSON_KEYS:
        raise InputError(f"unknown payload key {_clip(str(key))!r}: {allowed}")
    if not isinstance(value, str):
        raise InputError(f"payload {key!r} must be a string, got {type(value).__name__}")
    return parse_hex(value) if key == "hex" else _utf8(value, 0)


# -- display and copy --------------------------------------------------------------------


def to_escapes(data: bytes) -> str:
    """Printable ASCII as is, the rest as C escapes; parse_escapes() reverses it."""
    return "".join(_escape_byte(data, i) for i in range(len(data)))


def _escape_byte(data: bytes, i: int) -> str:
    byte = data[i]
    if byte in _NAMED_OUT:
        return _NAMED_OUT[byte]
    if 0x20 <= byte < 0x7F:
        return chr(byte)
    if byte == 0 and not (i + 1 < len(data) and data[i + 1] in _OCTAL_DIGITS):
        return "\\0"  # only when no octal digit follows, or it would read as a longer escape
    return f"\\x{byte:02x}"


def to_c_array(data: bytes) -> str:
    """A C initializer, `{0xde, 0xad}`; 12 bytes per line once it no longer fits one."""
    items = [f"0x{b:02x}" for b in data]
    if len(items) <= _C_PER_LINE:
        return "{" + ", ".join(items) + "}"
    lines = [", ".join(items[i : i + _C_PER_LINE]) for i in range(0, len(items), _C_PER_LINE)]
    return "{\n    " + ",\n    ".join(lines) + "\n}"


def to_python_literal(data: bytes) -> str:
    """A Python bytes literal that eval()s back to data."""
    return repr(bytes(data))
