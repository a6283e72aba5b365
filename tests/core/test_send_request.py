"""The send editor's rules without a UI: modes, endings, flags, repeat, requests, history."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.errors import InputError
from workbench.core.payload import to_escapes
from workbench.core.send_request import (
    COUNT_MAX,
    ENDINGS,
    INTERVAL_MAX_MS,
    INTERVAL_MIN_MS,
    MAX_FILE_SIZE,
    SEND_MODES,
    SendHistory,
    SendRequest,
    build_request,
    check_destination,
    check_file_size,
    check_path,
    ending_group,
    file_error,
    format_repeat,
    parse_ending,
    parse_flags,
    parse_mode,
    parse_repeat,
)
from workbench.core.steps import SEND_FLAGS


def error_of(fn: Callable[..., object], *args: object, **kwargs: object) -> str:
    """The InputError message fn raises, checked to be one line."""
    with pytest.raises(InputError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert message and "\n" not in message and "\r" not in message
    return message


# -- modes -----------------------------------------------------------------------------


def test_modes_cycle_text_then_hex_as_the_old_bar() -> None:
    assert SEND_MODES[:3] == ("text", "hex", "escapes")
    assert set(SEND_MODES) == {"text", "hex", "escapes", "latin-1", "file"}


@pytest.mark.parametrize(("typed", "mode"), [
    ("text", "text"), ("UTF-8", "text"), ("latin1", "latin-1"), ("Latin-1", "latin-1"),
    ("HEX", "hex"), ("escapes", "escapes"), ("file", "file"),
])
def test_parse_mode_names_and_aliases(typed: str, mode: str) -> None:
    assert parse_mode(typed) == mode


def test_parse_mode_unknown_lists_the_modes() -> None:
    assert "text, hex, escapes, latin-1, file" in error_of(parse_mode, "base64")


@pytest.mark.parametrize(("text", "mode", "data"), [
    ("héllo", "text", "héllo".encode()),
    ("héllo", "latin-1", b"h\xe9llo"),
    ("de:ad 0xbe,\\xef", "hex", b"\xde\xad\xbe\xef"),
    ("GET /\\r\\n\\x00\\101", "escapes", b"GET /\r\n\x00A"),
    ("", "text", b""),
])
def test_every_typed_mode(text: str, mode: str, data: bytes) -> None:
    assert build_request(text, mode).data == data


def test_latin1_rejects_a_character_above_ff_naming_it() -> None:
    message = error_of(build_request, "ab€", "latin-1")
    assert "position 3" in message and "latin-1" in message


def test_bad_hex_names_the_position() -> None:
    message = error_of(build_request, "de zz", "hex")
    assert "position 4" in message and "'z'" in message


def test_bad_escape_names_the_escape() -> None:
    assert "\\q" in error_of(build_request, "a\\q", "escapes")


def test_file_mode_uses_the_bytes_the_caller_read() -> None:
    request = build_request(" /tmp/x.bin ", "file", "CRLF", file_data=b"\x00\x01")
    assert request.data == b"\x00\x01\r\n"


def test_file_mode_needs_a_path_and_its_bytes() -> None:
    assert "needs a path" in error_of(build_request, "  ", "file", file_data=b"")
    assert "read the file first" in error_of(build_request, "/tmp/x", "file")
    assert "NUL" in error_of(check_path, "a\0b")


def test_file_size_limit_is_64_mib() -> None:
    check_file_size("f", MAX_FILE_SIZE)
    message = error_of(check_file_size, "big.bin", MAX_FILE_SIZE + 1)
    assert "big.bin" in message and "64 MiB" in message


def test_file_error_words_an_oserror_in_one_line() -> None:
    message = str(file_error("/nope", FileNotFoundError(2, "No such file or directory")))
    assert message == ("cannot read /nope: No such file or directory: "
                       "check the path and permissions")


# -- endings ---------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "name"), [
    ("none", "none"), ("", "none"), ("lf", "LF"), ("LF", "LF"), ("\n", "LF"),
    ("crlf", "CRLF"), ("\r\n", "CRLF"), ("\\r\\n", "CRLF"),
])
def test_parse_ending(typed: str, name: str) -> None:
    assert parse_ending(typed) == name


def test_unknown_ending() -> None:
    assert "none, LF or CRLF" in error_of(parse_ending, "CR")


@pytest.mark.parametrize("mode", ["text", "latin-1", "escapes", "hex"])
@pytest.mark.parametrize("ending", list(ENDINGS))
def test_ending_is_appended_in_every_mode(mode: str, ending: str) -> None:
    text = "41" if mode == "hex" else "A"
    assert build_request(text, mode, ending).data == b"A" + ENDINGS[ending]


def test_text_modes_share_an_ending_while_hex_and_file_keep_their_own() -> None:
    assert {ending_group(m) for m in ("text", "latin-1", "escapes")} == {"text"}
    assert ending_group("hex") == "hex" and ending_group("file") == "file"


# -- flags -----------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "names"), [
    ("", []),
    ("MSG_OOB", ["MSG_OOB"]),
    ("more, oob", ["MSG_OOB", "MSG_MORE"]),
    ("msg_nosignal|dontwait", ["MSG_DONTWAIT", "MSG_NOSIGNAL"]),
    ("OOB+OOB", ["MSG_OOB"]),
    (["MSG_MORE", "oob"], ["MSG_OOB", "MSG_MORE"]),
])
def test_parse_flags(typed: str | list[str], names: list[str]) -> None:
    assert parse_flags(typed) == names


def test_unknown_flag_lists_the_flags() -> None:
    message = error_of(parse_flags, "MSG_PEEK")
    assert "'MSG_PEEK'" in message and "MSG_OOB, MSG_DONTWAIT, MSG_MORE, MSG_NOSIGNAL" in message


@given(st.lists(st.sampled_from(list(SEND_FLAGS)), max_size=8),
       st.sampled_from([str.lower, str.upper, lambda s: s.removeprefix("MSG_")]))
def test_flags_any_case_and_order_give_the_canonical_list(
        names: list[str], spell: Callable[[str], str]) -> None:
    parsed = parse_flags(",".join(spell(n) for n in names))
    assert parsed == [n for n in SEND_FLAGS if n in names]
    assert build_request("x", "text", flags=[spell(n) for n in names]).flags == parsed


# -- repeat ----------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "parsed"), [
    ("", (1, None)), ("1", (1, None)), ("5", (5, None)), ("x5", (5, None)),
    ("5x", (5, None)), ("\u00d75", (5, None)), ("5 times", (5, None)),
    ("1_000_000", (COUNT_MAX, None)),
    ("every 250ms", (0, 250)), ("every 250", (0, 250)), ("250ms", (0, 250)),
    ("@1s", (0, 1000)), ("every 1.5s", (0, 1500)), ("1.1s", (0, 1100)),
    ("every 3600s", (0, INTERVAL_MAX_MS)),
    ("5 every 100ms", (5, 100)), ("3x 10ms", (3, 10)), (" EVERY 20MS ", (0, 20)),
])
def test_parse_repeat(typed: str, parsed: tuple[int, int | None]) -> None:
    assert parse_repeat(typed) == parsed


@pytest.mark.parametrize(("typed", "expected"), [
    ("0", "out of range: use 1-1000000"),
    ("1000001", "out of range: use 1-1000000"),
    ("every 9ms", "out of range: use 10-3600000 ms"),
    ("every 3601s", "out of range: use 10-3600000 ms"),
    ("every 10.5ms", "whole number of ms"),
    ("abc", "not understood"), ("every", "not understood"), ("-5", "not understood"),
    ("1.5", "not understood"), ("5 every", "not understood"),
])
def test_bad_repeat_says_what_to_write(typed: str, expected: str) -> None:
    message = error_of(parse_repeat, typed)
    assert expected in message
    assert "repeat" in message or "interval" in message


@given(st.integers(1, COUNT_MAX))
def test_repeat_count_round_trip(count: int) -> None:
    assert parse_repeat(format_repeat(count, None)) == (count, None)


@given(st.integers(0, COUNT_MAX), st.integers(INTERVAL_MIN_MS, INTERVAL_MAX_MS))
def test_repeat_interval_round_trip(count: int, interval: int) -> None:
    assert parse_repeat(format_repeat(count, interval)) == (count, interval)


@given(st.text(max_size=20))
def test_repeat_never_fails_with_anything_but_a_one_line_input_error(text: str) -> None:
    try:
        count, interval = parse_repeat(text)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert 0 <= count <= COUNT_MAX
    assert interval is None or INTERVAL_MIN_MS <= interval <= INTERVAL_MAX_MS
    assert count >= 1 or interval is not None


# -- round trips of whole requests -----------------------------------------------------


@given(st.binary(max_size=64), st.sampled_from(list(ENDINGS)),
       st.sampled_from(["{}", "0x{}", "\\x{}"]), st.sampled_from([" ", ":", "", ", "]))
def test_hex_round_trip_in_forgiving_forms(data: bytes, ending: str, form: str, sep: str
                                           ) -> None:
    typed = sep.join(form.format(f"{b:02x}") for b in data)
    assert build_request(typed, "hex", ending).data == data + ENDINGS[ending]


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
       st.sampled_from(list(ENDINGS)))
def test_text_round_trip(text: str, ending: str) -> None:
    assert build_request(text, "text", ending).data == text.encode() + ENDINGS[ending]


@given(st.text(st.characters(max_codepoint=0xFF), max_size=40))
def test_latin1_round_trip(text: str) -> None:
    assert build_request(text, "latin-1").data.decode("latin-1") == text


@given(st.binary(max_size=64))
def test_escapes_round_trip(data: bytes) -> None:
    assert build_request(to_escapes(data), "escapes").data == data


@given(st.text(alphabet="0123456789abcdefxyz :\\", max_size=20))
def test_bad_hex_is_a_one_line_error_never_a_crash(text: str) -> None:
    try:
        build_request(text, "hex")
    except InputError as exc:
        assert "\n" not in str(exc) and "position" in str(exc)


# -- destination and the request -------------------------------------------------------


def test_destination_checked_and_stripped() -> None:
    assert check_destination(" 127.0.0.1:9 ") == "127.0.0.1:9"
    assert check_destination("peer:echo") == "peer:echo"
    assert check_destination("sock:3") == "sock:3"
    assert check_destination("") == ""
    assert error_of(check_destination, "127.0.0.1").startswith("destination: ")
    assert "destination needed" in error_of(check_destination, " ", required=True)


def test_request_fields_and_step_args() -> None:
    request = build_request("hi", "text", "LF", "more", "3", "127.0.0.1:9")
    assert request == SendRequest(b"hi\n", "127.0.0.1:9", ["MSG_MORE"], 3, None)
    assert request.op == "sendto" and request.repeats
    assert request.step_args() == {"data": b"hi\n", "flags": ["MSG_MORE"],
                                   "address": "127.0.0.1:9"}
    plain = build_request("hi", "text")
    assert plain.op == "send" and not plain.repeats and plain.step_args() == {"data": b"hi"}


@pytest.mark.parametrize(("request_", "text"), [
    (SendRequest(b"hi\r\n"), "send 'hi\\r\\n' (4 bytes)"),
    (SendRequest(b"x", "127.0.0.1:9", ["MSG_OOB", "MSG_MORE"], 5),
     "sendto 'x' (1 bytes) to 127.0.0.1:9, 5 times with MSG_OOB|MSG_MORE"),
    (SendRequest(b"x", count=0, interval_ms=250), "send 'x' (1 bytes) every 250 ms until stopped"),
    (SendRequest(b"x", count=3, interval_ms=10), "send 'x' (1 bytes) every 10 ms, 3 times"),
])
def test_describe(request_: SendRequest, text: str) -> None:
    assert request_.describe() == text


def test_describe_clips_long_payloads_to_one_line() -> None:
    text = SendRequest(bytes(range(256)) * 100).describe()
    assert "\n" not in text and len(text) < 80 and "(25600 bytes)" in text


def test_the_first_mistake_is_reported() -> None:
    assert "position 1" in error_of(build_request, "zz", "hex", "LF", "oob", "abc", "x")
    assert "not understood" in error_of(build_request, "ab", "hex", "LF", "oob", "abc")
    assert "send flag" in error_of(build_request, "ab", "hex", "LF", "peek")
    assert "line ending" in error_of(build_request, "ab", "hex", "CR")


# -- history ---------------------------------------------------------------------------


def test_history_recalls_like_a_shell_and_gives_the_draft_back() -> None:
    history = SendHistory()
    assert history.previous("draft", "text") is None and history.next() is None
    for text, mode in [("a", "text"), ("de ad", "hex"), ("b", "text")]:
        history.add(text, mode)
    assert [history.previous("draft", "hex").text,  # type: ignore[union-attr]
            history.previous("ignored", "text").text,  # type: ignore[union-attr]
            history.previous("", "text").text] == ["b", "de ad", "a"]  # type: ignore[union-attr]
    assert history.previous("", "text") is None  # the oldest stays
    assert history.next().mode == "hex"  # type: ignore[union-attr]
    assert history.next().text == "b"  # type: ignore[union-attr]
    draft = history.next()
    assert draft is not None and (draft.text, draft.mode) == ("draft", "hex")
    assert history.next() is None


def test_history_skips_consecutive_duplicates_only() -> None:
    history = SendHistory()
    for text, mode in [("a", "text"), ("a", "text"), ("a", "hex"), ("b", "text"), ("a", "text")]:
        history.add(text, mode)
    assert [(e.text, e.mode) for e in history.entries] == [
        ("a", "text"), ("a", "hex"), ("b", "text"), ("a", "text")]


@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from(SEND_MODES)), max_size=500))
def test_history_is_bounded_and_has_no_repeated_neighbours(
        adds: list[tuple[str, str]]) -> None:
    history = SendHistory()
    for text, mode in adds:
        history.add(text, mode)
    entries = history.entries
    assert len(entries) <= 200
    assert all(a != b for a, b in pairwise(entries))
    if adds:
        assert (entries[-1].text, entries[-1].mode) == adds[-1]
