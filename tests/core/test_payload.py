"""Payload codecs: forgiving parsers, exact round trips, one-line errors."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.errors import InputError
from workbench.core.payload import (
    PAYLOAD_MODES,
    parse_escapes,
    parse_hex,
    parse_payload,
    parse_text,
    payload_from_json,
    payload_to_json,
    to_c_array,
    to_escapes,
    to_python_literal,
)


def error_of(fn: Callable[..., object], *args: object) -> str:
    """The InputError message fn raises, checked to be one line."""
    with pytest.raises(InputError) as info:
        fn(*args)
    message = str(info.value)
    assert message
    assert "\n" not in message and "\r" not in message
    return message


# -- text ------------------------------------------------------------------------------


def test_parse_text_utf8_by_default() -> None:
    assert parse_text("héllo\n") == "héllo\n".encode()


def test_parse_text_other_encoding() -> None:
    assert parse_text("é", "latin-1") == b"\xe9"


def test_parse_text_unencodable_names_position() -> None:
    message = error_of(parse_text, "abé", "ascii")
    assert "'é'" in message and "position 3" in message and "ascii" in message


def test_parse_text_unknown_encoding() -> None:
    message = error_of(parse_text, "x", "no-such-codec")
    assert message.startswith("unknown text encoding 'no-such-codec'")
    assert "utf-8" in message


# -- hex -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "dead",
        "de ad",
        "DEAD",
        "De aD",
        "0xde 0xad",
        "0XDE0XAD",
        "0xdead",
        "\\xde\\xad",
        "\\XDE\\Xad",
        "de:ad",
        "de-ad",
        "de,ad",
        "0xde, 0xad",
        "  de\n\tad\r\n",
        "de0xad",
        "0xde:\\xad",
    ],
)
def test_parse_hex_accepts(text: str) -> None:
    assert parse_hex(text) == b"\xde\xad"


def test_parse_hex_empty_and_blank() -> None:
    assert parse_hex("") == b""
    assert parse_hex(" \n ") == b""


def test_parse_hex_multiline_dump() -> None:
    assert parse_hex("00 01 02 03\n04 05 06 07\n") == bytes(range(8))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deadg", "bad hex character 'g' at position 5: use 0-9, a-f"),
        ("de ad zz", "bad hex character 'z' at position 7"),
        ("de\x00", "bad hex character '\\x00' at position 3"),
        ("d0xad", "bad hex character 'x' at position 3"),
        ("de;ad", "bad hex character ';' at position 3"),
    ],
)
def test_parse_hex_bad_character(text: str, expected: str) -> None:
    assert error_of(parse_hex, text).startswith(expected)


def test_parse_hex_spec_message_exact() -> None:
    assert error_of(parse_hex, "deadg") == (
        "bad hex character 'g' at position 5: use 0-9, a-f, separated by spaces, ':' or '0x'"
    )


@pytest.mark.parametrize(
    ("text", "digits", "position"),
    [("abc", "'abc'", 1), ("de a", "'a'", 4), ("0xabc", "'abc'", 3), ("de ad b", "'b'", 7)],
)
def test_parse_hex_odd_digits(text: str, digits: str, position: int) -> None:
    message = error_of(parse_hex, text)
    assert message.startswith(f"odd number of hex digits in {digits} at position {position}")
    assert "two digits" in message


@pytest.mark.parametrize(("text", "position"), [("0x", 1), ("de 0x ad", 4), ("\\x", 1)])
def test_parse_hex_prefix_without_digits(text: str, position: int) -> None:
    message = error_of(parse_hex, text)
    assert f"at position {position} is not followed by hex digits" in message


_HEX_STYLES = ["{:02x}", "{:02X}", "0x{:02x}", "0X{:02X}", "\\x{:02x}"]
_HEX_SEPS = ["", " ", ":", "-", ",", ", ", "\n", "\r\n", "\t", "  "]


@st.composite
def hex_spellings(draw: st.DrawFn) -> tuple[bytes, str]:
    """Bytes and one of the many ways people write them as hex."""
    data = draw(st.binary(max_size=40))
    parts = []
    for byte in data:
        parts.append(draw(st.sampled_from(_HEX_STYLES)).format(byte))
        parts.append(draw(st.sampled_from(_HEX_SEPS)))
    return data, "".join(parts)


@given(hex_spellings())
def test_parse_hex_forgiving_property(case: tuple[bytes, str]) -> None:
    data, text = case
    assert parse_hex(text) == data


@given(st.text(max_size=30))
def test_parse_hex_only_raises_input_error(text: str) -> None:
    try:
        parse_hex(text)
    except InputError as exc:
        assert "\n" not in str(exc)


# -- escapes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET / HTTP/1.0\\r\\n\\r\\n", b"GET / HTTP/1.0\r\n\r\n"),
        ("\\t\\0\\\\\\\"\\'", b"\t\x00\\\"'"),
        ("\\a\\b\\f\\v", b"\x07\x08\x0c\x0b"),
        ("\\x41\\xfF", b"A\xff"),
        ("\\101\\12\\7\\0012", b"A\n\x07\x012"),
        ("\\377", b"\xff"),
        ("\\08", b"\x008"),
        ("héllo", "héllo".encode()),
        ("plain 'quotes' \"ok\"", b"plain 'quotes' \"ok\""),
        ("", b""),
    ],
)
def test_parse_escapes_accepts(text: str, expected: bytes) -> None:
    assert parse_escapes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ab\\q", "unknown escape '\\q' at position 3: use \\r \\n"),
        ("\\8", "unknown escape '\\8' at position 1"),
        ("x\\\n", "unknown escape backslash + U+000A at position 2"),
        ("abc\\", "lone backslash at position 4 ends the input"),
        ("\\x4", "bad \\x escape at position 1: write two hex digits"),
        ("ok \\xzz", "bad \\x escape at position 4"),
        ("\\X41", "bad \\x escape at position 1"),
        ("\\777", "octal escape '\\777' at position 1 is above \\377"),
        ("a\ud800", "character U+D800 at position 2 is a lone surrogate"),
    ],
)
def test_parse_escapes_errors(text: str, expected: str) -> None:
    assert error_of(parse_escapes, text).startswith(expected)


@given(st.text().filter(lambda s: "\\" not in s))
def test_parse_escapes_plain_text_is_utf8(text: str) -> None:
    assert parse_escapes(text) == text.encode("utf-8")


@given(st.text(max_size=30))
def test_parse_escapes_only_raises_input_error(text: str) -> None:
    try:
        parse_escapes(text)
    except InputError as exc:
        assert "\n" not in str(exc)


# -- parse_payload ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "text", "expected"),
    [("text", "a\\n", b"a\\n"), ("hex", "61 0a", b"a\n"), ("escapes", "a\\n", b"a\n")],
)
def test_parse_payload_modes(mode: str, text: str, expected: bytes) -> None:
    assert parse_payload(text, mode) == expected


def test_parse_payload_unknown_mode_lists_modes() -> None:
    message = error_of(parse_payload, "x", "base64")
    assert message.startswith("unknown payload mode 'base64'")
    assert all(mode in message for mode in PAYLOAD_MODES)


# -- JSON form -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", {"text": ""}),
        (b"hello\r\n\tworld", {"text": "hello\r\n\tworld"}),
        ("héllo ✓".encode(), {"text": "héllo ✓"}),
        (b"\xde\xad\xbe\xef", {"hex": "de ad be ef"}),
        (b"ok\x00", {"hex": "6f 6b 00"}),
        (b"\x1b[0m", {"hex": "1b 5b 30 6d"}),
        ("\ufffd".encode(), {"hex": "ef bf bd"}),
        ("a\u2028b".encode(), {"hex": "61 e2 80 a8 62"}),
        (b"\xff", {"hex": "ff"}),
    ],
)
def test_payload_to_json(data: bytes, expected: dict[str, str]) -> None:
    assert payload_to_json(data) == expected
    assert payload_from_json(expected) == data


@pytest.mark.parametrize(
    ("obj", "expected"),
    [({"hex": "DE:AD"}, b"\xde\xad"), ({"hex": "0xde 0xad"}, b"\xde\xad"), ({"hex": ""}, b"")],
)
def test_payload_from_json_forgiving_hex(obj: dict[str, str], expected: bytes) -> None:
    assert payload_from_json(obj) == expected


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ([], "bad payload []"),
        ("text", "bad payload 'text'"),
        ({}, "bad payload {}"),
        ({"text": "a", "hex": "61"}, "bad payload {"),
        ({"base64": "YQ=="}, "unknown payload key 'base64'"),
        ({"text": 1}, "payload 'text' must be a string, got int"),
        ({"hex": None}, "payload 'hex' must be a string, got NoneType"),
        ({"hex": "zz"}, "bad hex character 'z' at position 1"),
        ({"text": "\udc80"}, "character U+DC80 at position 1 is a lone surrogate"),
    ],
)
def test_payload_from_json_errors(obj: object, expected: str) -> None:
    message = error_of(payload_from_json, obj)
    assert message.startswith(expected)
    if "payload" in expected and "must be" not in expected:
        assert '{"text": ...}' in message and '{"hex": ...}' in message


@given(st.binary())
def test_json_round_trip_is_exact(data: bytes) -> None:
    obj = payload_to_json(data)
    assert list(obj) in (["text"], ["hex"])
    assert payload_from_json(json.loads(json.dumps(obj))) == data


@given(st.binary(min_size=1))
def test_json_hex_form_is_canonical(data: bytes) -> None:
    obj = payload_to_json(data)
    if "hex" in obj:
        assert obj["hex"] == " ".join(f"{b:02x}" for b in data)


_PRINTABLE = st.characters(
    blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"),
    blacklist_characters="\ufffd",
)


@given(st.text(st.one_of(_PRINTABLE, st.sampled_from(" \n\r\t"))))
def test_printable_text_stays_text(text: str) -> None:
    assert payload_to_json(text.encode()) == {"text": text}


# -- display and copy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"GET /\r\n", "GET /\\r\\n"),
        (b"a\\b", "a\\\\b"),
        (b"\t\x00", "\\t\\0"),
        (b"\x001", "\\x001"),  # '\01' would read back as one octal escape
        (b"\x008", "\\08"),
        (b"\xff\x7f\x1b", "\\xff\\x7f\\x1b"),
        (b"'\"", "'\""),
        (b"", ""),
    ],
)
def test_to_escapes(data: bytes, expected: str) -> None:
    assert to_escapes(data) == expected
    assert parse_escapes(expected) == data


@given(st.binary())
def test_to_escapes_round_trip(data: bytes) -> None:
    text = to_escapes(data)
    assert all(0x20 <= ord(c) < 0x7F for c in text)
    assert parse_escapes(text) == data


def test_to_c_array_short() -> None:
    assert to_c_array(b"\xde\xad") == "{0xde, 0xad}"
    assert to_c_array(b"") == "{}"
    assert to_c_array(bytes(12)) == "{" + ", ".join(["0x00"] * 12) + "}"


def test_to_c_array_wraps_at_twelve() -> None:
    text = to_c_array(bytes(range(26)))
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    assert lines[1] == "    " + ", ".join(f"0x{i:02x}" for i in range(12)) + ","
    assert lines[3] == "    0x18, 0x19"
    assert len(lines) == 5


@given(st.binary())
def test_to_c_array_reads_back_as_hex(data: bytes) -> None:
    text = to_c_array(data)
    assert text.startswith("{") and text.endswith("}")
    assert parse_hex(text[1:-1]) == data
    assert all(line.count("0x") <= 12 for line in text.splitlines())


@given(st.binary())
def test_to_python_literal_round_trip(data: bytes) -> None:
    literal = to_python_literal(data)
    assert ast.literal_eval(literal) == data


def test_to_python_literal_example() -> None:
    assert to_python_literal(b"hi\r\n\x00\xff") == "b'hi\\r\\n\\x00\\xff'"
