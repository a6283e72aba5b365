"""Option codecs: encode/decode and text round trips, and one-line refusals of values
out of range or of the wrong form, for every codec."""

from __future__ import annotations

import ipaddress
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.errors import InputError
from workbench.core.option_codecs import TIMEVAL_MAX
from workbench.core.options import (
    all_options,
    check_option_value,
    decode_option,
    encode_option,
    format_option_value,
    getsockopt_size,
    lookup_option,
    parse_option_value,
)

WRITABLE = [s for s in all_options() if not s.readonly]
INT_SPECS = [s for s in WRITABLE if s.codec == "int"]


def refused(spec_name: str, value: Any, text: bool = False) -> str:
    """The one-line message refusing `value` (typed as text when `text`)."""
    spec = lookup_option(spec_name)
    with pytest.raises(InputError) as caught:
        if text:
            parse_option_value(spec, value)
        else:
            check_option_value(spec, value)
    message = str(caught.value)
    assert message and "\n" not in message and "\r" not in message, message
    assert spec.name in message, message
    return message


def round_trips(spec_name: str, value: Any) -> None:
    """Normal value -> setsockopt's form -> getsockopt's form -> the same normal value,
    and its display text parses back to it too."""
    spec = lookup_option(spec_name)
    assert check_option_value(spec, value) == value
    raw = encode_option(spec, value)
    if isinstance(raw, bytes) and getsockopt_size(spec) is not None:
        assert len(raw) <= getsockopt_size(spec)
    assert decode_option(spec, raw) == value
    assert parse_option_value(spec, format_option_value(spec, value)) == value


# -- int ----------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_int_round_trips_within_its_range(data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from(INT_SPECS))
    low = spec.low if spec.low is not None else -(2**31)
    high = spec.high if spec.high is not None else 2**31 - 1
    value = data.draw(st.integers(low, high))
    assert check_option_value(spec, value) == value
    assert decode_option(spec, encode_option(spec, value)) == value
    assert decode_option(spec, value.to_bytes(4, "little", signed=True)) == value
    assert parse_option_value(spec, str(value)) == value
    assert parse_option_value(spec, hex(value) if value >= 0 else str(value)) == value


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_int_out_of_range_is_refused_with_the_range(data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from([s for s in INT_SPECS if s.high is not None
                                      or s.low is not None]))
    low = spec.low if spec.low is not None else -(2**31)
    high = spec.high if spec.high is not None else 2**31 - 1
    value = data.draw(st.integers(max_value=low - 1) | st.integers(min_value=high + 1))
    for typed in (False, True):
        message = refused(spec.name, str(value) if typed else value, text=typed)
        assert f"({low}..{high})" in message


@pytest.mark.parametrize("value", [1.5, "x", [], {}, None, math.nan, "1.5", "0x", "--1"])
def test_int_of_the_wrong_form_is_refused(value: Any) -> None:
    message = refused("TCP_KEEPCNT", value)
    assert "integer" in message or "not a value" in message or "1..127" in message


@given(st.integers(-(2**31), 2**31 - 1))
def test_bool_keeps_any_c_int_and_decodes_to_0_or_1(value: int) -> None:
    spec = lookup_option("SO_KEEPALIVE")
    assert check_option_value(spec, value) == value
    assert decode_option(spec, encode_option(spec, value)) == int(value != 0)
    assert format_option_value(spec, value) == ("on" if value else "off")


# -- linger -------------------------------------------------------------------------------


@given(st.integers(0, 2**31 - 1))
def test_linger_round_trips(seconds: int) -> None:
    round_trips("SO_LINGER", {"on": True, "seconds": seconds})
    spec = lookup_option("SO_LINGER")
    off = {"on": False, "seconds": seconds}
    assert decode_option(spec, encode_option(spec, off)) == off


@pytest.mark.parametrize(("text", "value"), [
    ("on 0", {"on": True, "seconds": 0}), ("on, 5", {"on": True, "seconds": 5}),
    ("1 5s", {"on": True, "seconds": 5}), ("off", {"on": False, "seconds": 0}),
    ("yes", {"on": True, "seconds": 0}), ("on 5 s", {"on": True, "seconds": 5}),
])
def test_linger_text(text: str, value: dict[str, Any]) -> None:
    assert parse_option_value(lookup_option("SO_LINGER"), text) == value


@pytest.mark.parametrize("value", [{"on": True, "seconds": -1}, {"on": True, "seconds": 2**31},
                                   {"on": 1, "seconds": 0}, {"seconds": 3}, {"on": True, "x": 1},
                                   {"on": True, "seconds": 1.5}, 5, [True, 0]])
def test_linger_refuses_bad_values(value: Any) -> None:
    refused("SO_LINGER", value)


@pytest.mark.parametrize("text", ["", "maybe", "on -1", "on x", "on 1 2"])
def test_linger_refuses_bad_text(text: str) -> None:
    assert "e.g. 'on 0'" in refused("SO_LINGER", text, text=True)


# -- timeval ------------------------------------------------------------------------------


@given(st.integers(0, int(TIMEVAL_MAX * 1_000_000)))
def test_timeval_round_trips_to_the_microsecond(micros: int) -> None:
    round_trips("SO_RCVTIMEO", round(micros / 1_000_000, 6))


@pytest.mark.parametrize(("text", "value"), [("1.5", 1.5), ("250ms", 0.25), ("2 s", 2.0),
                                             ("0", 0.0), ("off", 0.0), ("10us", 0.00001)])
def test_timeval_text(text: str, value: float) -> None:
    assert parse_option_value(lookup_option("SO_SNDTIMEO"), text) == value


@given(st.floats(max_value=-1e-9) | st.floats(min_value=TIMEVAL_MAX + 1)
       | st.just(math.nan) | st.just(math.inf))
def test_timeval_out_of_range_is_refused(value: float) -> None:
    message = refused("SO_RCVTIMEO", value)
    assert "out of range" in message and "0 means no timeout" in message


@pytest.mark.parametrize("text", ["-1", "1 h", "abc", "1e3"])
def test_timeval_refuses_bad_text(text: str) -> None:
    refused("SO_RCVTIMEO", text, text=True)


# -- strings, addresses, bytes ------------------------------------------------------------


@given(st.from_regex(r"[A-Za-z0-9_.:@-]{1,15}", fullmatch=True))
def test_string_round_trips(name: str) -> None:
    round_trips("TCP_CONGESTION", name)


@pytest.mark.parametrize("value", ["x" * 16, "a b", "é", 5, None, "a\0b"])
def test_string_refuses_long_or_odd_names(value: Any) -> None:
    refused("TCP_CONGESTION", value)


@given(st.ip_addresses(v=4))
def test_in_addr_round_trips(address: ipaddress.IPv4Address) -> None:
    round_trips("IP_MULTICAST_IF", str(address))


@pytest.mark.parametrize("value", ["1.2.3", "::1", "", 5, "localhost"])
def test_in_addr_refuses_non_addresses(value: Any) -> None:
    assert "IPv4 address" in refused("IP_MULTICAST_IF", value)


@given(st.binary(max_size=40))
def test_bytes_round_trip(data: bytes) -> None:
    round_trips("IP_OPTIONS", data.hex(" "))


@pytest.mark.parametrize("value", ["0", "zz", "00" * 41, 5])
def test_bytes_refuses_odd_or_long_hex(value: Any) -> None:
    refused("IP_OPTIONS", value)


# -- multicast requests -------------------------------------------------------------------

GROUPS4 = st.ip_addresses(v=4, network="224.0.0.0/4").map(str)
HOSTS4 = st.ip_addresses(v=4).map(str)
INDEXES = st.integers(1, 2**31 - 1)


@given(GROUPS4, HOSTS4 | INDEXES)
def test_ip_mreqn_round_trips(group: str, interface: str | int) -> None:
    round_trips("IP_ADD_MEMBERSHIP", {"group": group, "interface": interface})


@given(GROUPS4, HOSTS4, HOSTS4)
def test_ip_mreq_source_round_trips(group: str, source: str, interface: str) -> None:
    round_trips("IP_ADD_SOURCE_MEMBERSHIP",
                {"group": group, "source": source, "interface": interface})


@given(st.ip_addresses(v=6, network="ff00::/8").map(str), st.integers(0, 2**31 - 1))
def test_ipv6_mreq_round_trips(group: str, index: int) -> None:
    round_trips("IPV6_JOIN_GROUP", {"group": group, "interface": index})


@pytest.mark.parametrize(("name", "value", "says"), [
    ("IP_ADD_MEMBERSHIP", {"group": "10.0.0.1"}, "not multicast"),
    ("IP_ADD_MEMBERSHIP", {"group": "239.1.1.1", "interface": -1}, "index"),
    ("IP_ADD_MEMBERSHIP", {"group": "239.1.1.1", "if": "127.0.0.1"}, "takes"),
    ("IP_ADD_MEMBERSHIP", "10.0.0.1 127.0.0.1", "not multicast"),
    ("IP_ADD_MEMBERSHIP", "239.1.1.1 a b", "e.g."),
    ("IP_BLOCK_SOURCE", {"group": "239.1.1.1"}, "source"),
    ("IPV6_JOIN_GROUP", {"group": "fe80::1", "interface": 1}, "not multicast"),
    ("IPV6_JOIN_GROUP", "ff02::1 lo", "index"),
    ("IPV6_JOIN_GROUP", {"group": "ff02::1", "interface": "1"}, "index"),
])
def test_multicast_requests_refuse_bad_values(name: str, value: Any, says: str) -> None:
    assert says in refused(name, value)


def test_multicast_text_forms() -> None:
    spec = lookup_option("IP_ADD_MEMBERSHIP")
    assert parse_option_value(spec, "239.255.0.1") == {"group": "239.255.0.1",
                                                         "interface": "0.0.0.0"}
    assert parse_option_value(spec, "239.255.0.1 on 2") == {"group": "239.255.0.1",
                                                             "interface": 2}
    v6 = lookup_option("IPV6_JOIN_GROUP")
    assert parse_option_value(v6, "ff02::1:3%1") == {"group": "ff02::1:3", "interface": 1}


# -- every option ---------------------------------------------------------------------------


@pytest.mark.parametrize("spec", WRITABLE, ids=lambda s: s.name)
def test_every_example_parses_and_its_display_parses_back(spec: Any) -> None:
    value = parse_option_value(spec, spec.example)
    assert check_option_value(spec, value) == value  # the normal form is a fixed point
    assert decode_option(spec, encode_option(spec, value)) == value or spec.codec == "bool"
    shown = format_option_value(spec, value)
    assert shown and "\n" not in shown
    assert parse_option_value(spec, shown) == value


@pytest.mark.parametrize("spec", [s for s in all_options() if s.readonly], ids=lambda s: s.name)
def test_read_only_options_refuse_values(spec: Any) -> None:
    with pytest.raises(InputError, match="read-only"):
        check_option_value(spec, 1)


JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["on", "seconds", "group", "interface", "source", "x"]),
                      inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(spec=st.sampled_from(WRITABLE), value=JSON_LIKE)
def test_any_json_value_is_a_normal_value_or_a_one_line_refusal(spec: Any, value: Any) -> None:
    try:
        normal = check_option_value(spec, value)
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert check_option_value(spec, normal) == normal
    encode_option(spec, normal)  # never raises for a normal value


@settings(max_examples=300, deadline=None)
@given(spec=st.sampled_from(WRITABLE), text=st.text(max_size=30))
def test_any_typed_text_is_a_value_or_a_one_line_refusal(spec: Any, text: str) -> None:
    try:
        normal = parse_option_value(spec, text)
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc) and spec.name in str(exc)
        return
    assert check_option_value(spec, normal) == normal
