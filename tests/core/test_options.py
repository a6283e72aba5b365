"""The socket option catalog: lookups, filtering, every field filled, value parsing."""

import socket
import sys

import pytest

from workbench.core.errors import InputError
from workbench.core.ops import normalise
from workbench.core.options import (
    ALL_CODECS,
    FAMILIES,
    SOCK_TYPES,
    all_options,
    applies,
    effective_why,
    getsockopt_size,
    lookup_option,
    options_for,
    parse_option_value,
    state_note,
)

LEVELS = {"SOL_SOCKET", "IPPROTO_TCP", "IPPROTO_IP", "IPPROTO_IPV6", "IPPROTO_UDP",
          "IPPROTO_ICMPV6"}
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


# -- the full catalog ------------------------------------------------------------------

ISSUE_TEXT = """SO_ACCEPTCONN SO_BINDTODEVICE SO_BROADCAST SO_DEBUG SO_DOMAIN SO_DONTROUTE
SO_ERROR SO_INCOMING_CPU SO_KEEPALIVE SO_LINGER SO_MARK SO_OOBINLINE SO_PASSCRED SO_PEERCRED
SO_PRIORITY SO_PROTOCOL SO_RCVBUF SO_RCVLOWAT SO_RCVTIMEO SO_REUSEADDR SO_REUSEPORT SO_SNDBUF
SO_SNDLOWAT SO_SNDTIMEO SO_TIMESTAMP SO_TYPE SO_BUSY_POLL IP_TOS IP_TTL IP_HDRINCL IP_OPTIONS
IP_RECVTOS IP_RECVTTL IP_PKTINFO IP_MTU_DISCOVER IP_MTU IP_FREEBIND IP_TRANSPARENT
IP_BIND_ADDRESS_NO_PORT IP_MULTICAST_IF IP_MULTICAST_TTL IP_MULTICAST_LOOP IP_ADD_MEMBERSHIP
IP_DROP_MEMBERSHIP IP_ADD_SOURCE_MEMBERSHIP IP_DROP_SOURCE_MEMBERSHIP IP_BLOCK_SOURCE
IP_UNBLOCK_SOURCE IPV6_V6ONLY IPV6_UNICAST_HOPS IPV6_MULTICAST_IF IPV6_MULTICAST_HOPS
IPV6_MULTICAST_LOOP IPV6_JOIN_GROUP IPV6_LEAVE_GROUP IPV6_RECVPKTINFO IPV6_TCLASS IPV6_DONTFRAG
IPV6_MTU IPV6_MTU_DISCOVER TCP_NODELAY TCP_MAXSEG TCP_CORK TCP_KEEPIDLE TCP_KEEPINTVL
TCP_KEEPCNT TCP_QUICKACK TCP_USER_TIMEOUT TCP_CONGESTION TCP_FASTOPEN TCP_NOTSENT_LOWAT
TCP_DEFER_ACCEPT TCP_WINDOW_CLAMP TCP_SYNCNT TCP_LINGER2 TCP_INFO UDP_CORK UDP_SEGMENT"""
ISSUE_NAMES = set(ISSUE_TEXT.split())

# Checked against /usr/include/linux/in.h, in6.h, tcp.h, udp.h and asm-generic/socket.h.
LINUX = {"IP_MTU": 14, "IP_MTU_DISCOVER": 10, "IP_PKTINFO": 8, "IP_RECVTTL": 12,
         "IP_OPTIONS": 4, "IP_HDRINCL": 3, "IP_TRANSPARENT": 19, "IP_ADD_SOURCE_MEMBERSHIP": 39,
         "IP_DROP_SOURCE_MEMBERSHIP": 40, "IP_BLOCK_SOURCE": 38, "IP_UNBLOCK_SOURCE": 37,
         "IPV6_MTU": 24, "IPV6_MTU_DISCOVER": 23, "IPV6_DONTFRAG": 62, "IPV6_RECVPKTINFO": 49,
         "TCP_CONGESTION": 13, "TCP_INFO": 11, "UDP_CORK": 1, "UDP_SEGMENT": 103,
         "SO_BINDTODEVICE": 25, "SO_PEERCRED": 17, "SO_TIMESTAMP": 29, "SO_RCVTIMEO": 20,
         "SO_SNDTIMEO": 21, "SO_LINGER": 13, "IP_RECVTOS": 13, "IP_MULTICAST_IF": 32}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux numbers")
def test_the_catalog_has_every_option_the_issue_lists_with_linux_numbers() -> None:
    names = {s.name for s in all_options()}
    assert not ISSUE_NAMES - names, ISSUE_NAMES - names
    for name, number in LINUX.items():
        assert lookup_option(name).optname == number, name
    assert lookup_option("UDP_CORK").level == 17


@pytest.mark.parametrize(("name", "codec", "access"), [
    ("SO_LINGER", "linger", "rw"), ("SO_RCVTIMEO", "timeval", "rw"),
    ("TCP_CONGESTION", "string", "rw"), ("IP_MULTICAST_IF", "in_addr", "rw"),
    ("IP_ADD_MEMBERSHIP", "ip_mreqn", "wo"), ("IP_BLOCK_SOURCE", "ip_mreq_source", "wo"),
    ("IPV6_JOIN_GROUP", "ipv6_mreq", "wo"), ("SO_PEERCRED", "ucred", "ro"),
    ("TCP_INFO", "tcp_info", "ro"), ("IP_OPTIONS", "bytes", "rw"),
])
def test_structured_options_have_their_codecs(name: str, codec: str, access: str) -> None:
    spec = lookup_option(name)
    assert spec.codec == codec
    assert ("ro" if spec.readonly else "wo" if spec.writeonly else "rw") == access
    assert getsockopt_size(spec) is not None


def test_int_options_read_as_plain_ints() -> None:
    assert getsockopt_size(lookup_option("SO_RCVBUF")) is None
    assert getsockopt_size(lookup_option("TCP_NODELAY")) is None


def test_spellings_for_export() -> None:
    linger = lookup_option("SO_LINGER")
    assert (linger.c_level, linger.c_name, linger.c_type) == ("SOL_SOCKET", "SO_LINGER",
                                                              "struct linger")
    assert linger.py == "socket.SOL_SOCKET, socket.SO_LINGER"
    if not hasattr(socket, "IP_MTU"):
        assert lookup_option("IP_MTU").py == "socket.IPPROTO_IP, 14"


@pytest.mark.parametrize(("name", "family", "sock_type", "why"), [
    ("TCP_NODELAY", "inet", "stream", None),
    ("TCP_NODELAY", "inet", "dgram", "TCP only; this socket is not TCP"),
    ("UDP_CORK", "inet6", "stream", "UDP only; this socket is not UDP"),
    ("IP_TTL", "inet6", "dgram", "IPv4 sockets only; this one is IPv6"),
    ("SO_PASSCRED", "inet", "stream", "Unix sockets only; this one is IPv4"),
    ("SO_BROADCAST", "inet", "stream", "datagram, raw sockets only; this one is stream"),
    ("SO_LINGER", "unix", "dgram", "stream, seqpacket sockets only; this one is datagram"),
])
def test_applies_says_why_not(name: str, family: str, sock_type: str, why: str | None) -> None:
    assert applies(lookup_option(name), family, sock_type) == why


def test_applies_agrees_with_options_for() -> None:
    for family in FAMILIES:
        for sock_type in SOCK_TYPES:
            chosen = {s.name for s in options_for(family, sock_type)}
            for spec in all_options():
                assert (applies(spec, family, sock_type) is None) == (spec.name in chosen)


# -- what the kernel did ---------------------------------------------------------------

LIMITS = {"net.core.rmem_max": 212992, "net.core.wmem_max": 212992,
          "net.ipv4.tcp_fin_timeout": 60}


@pytest.mark.parametrize(("name", "requested", "effective", "why"), [
    ("SO_RCVBUF", 65536, 131072, "doubled"),
    ("SO_RCVBUF", 10**9, 425984, "clamped to net.core.rmem_max (212992), then doubled"),
    ("SO_SNDBUF", -1, 425984, "-1 reads as 4294967295 unsigned; clamped to net.core.wmem_max"),
    ("SO_RCVBUF", 1, 2304, "raised to the minimum buffer (2304)"),
    ("IP_TTL", -1, 64, "-1 means the route default"),
    ("SO_RCVLOWAT", 0, 1, "taken as 1"),
    ("TCP_LINGER2", 0, 60, "net.ipv4.tcp_fin_timeout = 60"),
    ("TCP_LINGER2", 100000, 120, "capped at 120 s"),
    ("TCP_DEFER_ACCEPT", 5, 7, "SYN-ACK retransmission"),
    ("SO_RCVTIMEO", 0.0001, 0.004, "clock tick"),
])
def test_effective_why(name: str, requested: object, effective: object, why: str) -> None:
    text = effective_why(lookup_option(name), requested, effective, LIMITS)
    assert text is not None and why in text and "\n" not in text


@pytest.mark.parametrize(("name", "requested", "effective"), [
    ("SO_RCVBUF", 4096, 4096), ("TCP_NODELAY", 5, 1), ("SO_LINGER", {"on": True, "seconds": 0},
                                                       {"on": True, "seconds": 0}),
])
def test_no_why_when_the_kernel_kept_it(name: str, requested: object, effective: object) -> None:
    assert effective_why(lookup_option(name), requested, effective, LIMITS) is None


def test_buffers_without_limits_still_explain_doubling() -> None:
    assert "doubled" in (effective_why(lookup_option("SO_SNDBUF"), 1000, 2000, {}) or "")


# -- setsockopt steps ------------------------------------------------------------------


@pytest.mark.parametrize(("option", "value", "normal"), [
    ("SO_LINGER", "on 0", {"on": True, "seconds": 0}),
    ("SO_LINGER", {"on": True}, {"on": True, "seconds": 0}),
    ("SO_RCVBUF", "64k", 65536), ("SO_RCVBUF", 5, 5), ("TCP_NODELAY", "on", 1),
    ("SO_RCVTIMEO", "250ms", 0.25), ("SO_RCVTIMEO", 2, 2.0),
    ("IP_ADD_MEMBERSHIP", "239.255.0.1 127.0.0.1",
     {"group": "239.255.0.1", "interface": "127.0.0.1"}),
    ("TCP_CONGESTION", "reno", "reno"),
])
def test_setsockopt_steps_hold_the_normal_value(option: str, value: object,
                                                normal: object) -> None:
    out = normalise("setsockopt", {"option": option, "value": value})
    assert out == {"option": option, "value": normal}
    assert normalise("setsockopt", out) == out


@pytest.mark.parametrize(("option", "value", "says"), [
    ("SO_ERROR", 0, "read-only"), ("TCP_KEEPCNT", 500, "1..127"),
    ("SO_LINGER", 1, "SO_LINGER takes"), ("SO_RCVBUF", "lots", "SO_RCVBUF takes an integer"),
    ("IP_ADD_MEMBERSHIP", "10.1.1.1", "not multicast"),
])
def test_setsockopt_steps_refuse_values_that_do_not_suit_the_option(option: str, value: object,
                                                                    says: str) -> None:
    with pytest.raises(InputError, match=says):
        normalise("setsockopt", {"option": option, "value": value})


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux has every entry")
def test_the_readme_counts_the_catalog() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"The catalog holds {len(all_options())} options" in readme


@pytest.mark.parametrize(("name", "state", "note"), [
    ("SO_REUSEADDR", "new", None),
    ("SO_REUSEADDR", "bound", "takes effect only before bind; this socket is bound"),
    ("TCP_DEFER_ACCEPT", "bound", None),
    ("TCP_DEFER_ACCEPT", "listening", "takes effect only before listen; this socket is listening"),
    ("IP_MTU", "new", "reads need a connected socket; this one is new"),
    ("IP_MTU", "connected", None),
    ("TCP_NODELAY", "connected", None),
])
def test_state_notes(name: str, state: str, note: str | None) -> None:
    assert state_note(lookup_option(name), state) == note


def test_every_states_text_is_understood() -> None:
    from workbench.core.sockstate import State

    for spec in all_options():
        assert spec.states in ("any", "connected") or state_note(spec, "new") is None
        assert state_note(spec, "new") is None or spec.states == "connected"
        if spec.states != "any":
            assert any(state_note(spec, str(s)) for s in State), spec.name


def test_getsockopt_of_a_request_is_refused_before_the_kernel() -> None:
    with pytest.raises(InputError, match="IP_ADD_MEMBERSHIP is write-only"):
        normalise("getsockopt", {"option": "ip_add_membership"})
    assert normalise("getsockopt", {"option": "so_linger"}) == {"option": "SO_LINGER"}
