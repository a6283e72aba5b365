"""The socket option catalog: lookups, filtering, every field filled, value parsing."""

import socket
import sys

import pytest

from workbench.core.errors import InputError
from workbench.core.options import (
    ALL_CODECS,
    FAMILIES,
    SOCK_TYPES,
    all_options,
    lookup_option,
    options_for,
    parse_option_value,
)

LEVELS = {"SOL_SOCKET", "IPPROTO_TCP", "IPPROTO_IP", "IPPROTO_IPV6", "IPPROTO_UDP"}
KINDS = {"bool", "int", "string", "bytes", "struct"}
UNITS = {"", "bytes", "seconds", "ms", "us"}


def test_catalog_is_consistent_with_socket_module() -> None:
    specs = all_options()
    assert len({s.name for s in specs}) == len(specs)
    for spec in specs:
        assert spec.level_name in LEVELS
        assert spec.level == getattr(socket, spec.level_name)
        if hasattr(socket, spec.name):
            assert spec.optname == getattr(socket, spec.name)
        assert spec.kind in KINDS and spec.codec in ALL_CODECS and spec.unit in UNITS
        assert spec.families and set(spec.families) <= set(FAMILIES)
        assert spec.types and set(spec.types) <= set(SOCK_TYPES)
        for text in (spec.summary, spec.when, spec.pitfalls, spec.states, spec.c_type):
            assert text and "\n" not in text, spec.name
        assert not (spec.readonly and spec.writeonly), spec.name
        assert bool(spec.example) != spec.readonly, f"{spec.name}: an example iff writable"
        assert (spec.c_name, spec.c_level) == (spec.name, spec.level_name)
        assert spec.py.startswith(f"socket.{spec.level_name}, ")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux numbers")
def test_linux_has_the_listed_options() -> None:
    names = {s.name for s in all_options()}
    for name in ("SO_MARK", "SO_BUSY_POLL", "IP_FREEBIND", "TCP_USER_TIMEOUT", "IPV6_V6ONLY"):
        assert name in names
    assert lookup_option("IP_FREEBIND").optname == 15
    assert lookup_option("SO_BUSY_POLL").optname == 46


@pytest.mark.parametrize("name", ["TCP_NODELAY", "tcp_nodelay", " Tcp_NoDelay "])
def test_lookup_is_case_insensitive(name: str) -> None:
    spec = lookup_option(name)
    assert spec.name == "TCP_NODELAY"
    assert (spec.level, spec.optname) == (socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert spec.kind == "bool" and not spec.readonly


def test_readonly_flags() -> None:
    for name in ("SO_ERROR", "SO_TYPE", "SO_ACCEPTCONN", "SO_PROTOCOL", "SO_DOMAIN"):
        assert lookup_option(name).readonly
    assert not lookup_option("SO_RCVBUF").readonly


def test_lookup_unknown_suggests_close_matches() -> None:
    with pytest.raises(InputError) as info:
        lookup_option("NODELAY")
    message = str(info.value)
    assert "'NODELAY'" in message and "TCP_NODELAY" in message and "\n" not in message
    with pytest.raises(InputError, match="SO_REUSEADDR"):
        lookup_option("SO_REUSADDR")


def test_lookup_requires_the_prefix() -> None:
    with pytest.raises(InputError):
        lookup_option("REUSEADDR")


def test_lookup_unknown_without_matches() -> None:
    with pytest.raises(InputError, match=r"unknown socket option 'qqq'"):
        lookup_option("qqq")


def _names(family: str, sock_type: str) -> set[str]:
    return {s.name for s in options_for(family, sock_type)}


def test_options_for_filters_by_family_and_type() -> None:
    tcp, udp = _names("inet", "stream"), _names("inet", "dgram")
    assert "TCP_NODELAY" in tcp and "TCP_NODELAY" not in udp
    assert "SO_BROADCAST" in udp and "SO_BROADCAST" not in tcp
    assert "IP_MULTICAST_TTL" in udp and "IP_MULTICAST_TTL" not in tcp
    assert "IPV6_V6ONLY" not in tcp | udp
    assert "IPV6_V6ONLY" in _names("inet6", "stream") & _names("inet6", "dgram")
    assert "IP_TTL" not in _names("inet6", "stream")
    unix = _names("unix", "stream")
    assert "SO_PASSCRED" in unix and "SO_RCVBUF" in unix
    assert not any(n.startswith(("TCP_", "IP_", "IPV6_")) for n in unix)
    assert "SO_PASSCRED" not in tcp


def test_options_for_keeps_catalog_order() -> None:
    specs = options_for("inet", "stream")
    order = [s.name for s in all_options()]
    assert [s.name for s in specs] == [n for n in order if n in {s.name for s in specs}]


@pytest.mark.parametrize(("family", "sock_type"), [("inet4", "stream"), ("inet", "tcp")])
def test_options_for_rejects_unknown_names(family: str, sock_type: str) -> None:
    with pytest.raises(InputError, match="use one of"):
        options_for(family, sock_type)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), ("0", 0), ("on", 1), ("off", 0), ("TRUE", 1), ("false", 0), (" yes ", 1), ("No", 0)],
)
def test_parse_bool(text: str, value: int) -> None:
    assert parse_option_value(lookup_option("SO_REUSEADDR"), text) == value


@pytest.mark.parametrize("text", ["2", "maybe", "", "-1", "enable"])
def test_parse_bool_rejects(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_option_value(lookup_option("SO_KEEPALIVE"), text)
    message = str(info.value)
    assert message.startswith("SO_KEEPALIVE takes on or off") and "\n" not in message
    assert repr(text.strip()) in message


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4096", 4096),
        ("64k", 65536),
        ("64K", 65536),
        ("1m", 1048576),
        ("2M", 2 * 1024 * 1024),
        ("-1", -1),
        ("+7", 7),
        ("0x10", 16),
        ("0X2e", 46),
        ("007", 7),
        (" 12 ", 12),
    ],
)
def test_parse_int(text: str, value: int) -> None:
    assert parse_option_value(lookup_option("SO_RCVBUF"), text) == value


@pytest.mark.parametrize("text", ["", "abc", "1.5", "3g", "k", "1 k", "0x", "--1"])
def test_parse_int_rejects_garbage(text: str) -> None:
    with pytest.raises(InputError, match=r"^IP_TTL takes an integer such as"):
        parse_option_value(lookup_option("IP_TTL"), text)


@pytest.mark.parametrize("text", ["2147483648", "2048m", "-2147483649"])
def test_parse_int_rejects_out_of_range(text: str) -> None:
    with pytest.raises(InputError, match="does not fit a C int"):
        parse_option_value(lookup_option("SO_SNDBUF"), text)


def test_parse_int_edges_of_c_int() -> None:
    spec = lookup_option("SO_SNDBUF")
    assert parse_option_value(spec, "2147483647") == 2**31 - 1
    assert parse_option_value(spec, "-2147483648") == -(2**31)


def test_parse_readonly_option_is_refused() -> None:
    with pytest.raises(InputError, match="SO_ERROR is read-only"):
        parse_option_value(lookup_option("SO_ERROR"), "0")
