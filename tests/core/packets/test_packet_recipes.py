"""Packet recipes: defaults, nesting (checksum addresses and protocols from the header
around), the session-file form, and one-line errors for every kind of bad field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.errors import InputError
from workbench.core.packets import ethernet, icmp, ipv4, ipv6, tcp, udp
from workbench.core.packets.decode import decode
from workbench.core.packets.recipes import (
    KINDS,
    PARAMS,
    build,
    normalise,
    parse_tcp_options,
    to_json,
)


def test_every_kind_builds_from_its_defaults() -> None:
    for kind in KINDS:
        if kind != "ethernet":
            assert build({kind: {}})
    assert build({"icmp-echo": {}}) == icmp.echo(0, 1)
    assert build({"ethernet": {"ethertype": 0x88B5}}) == ethernet.build(
        "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00", 0x88B5)


def test_nested_recipes_match_the_builders() -> None:
    recipe = {"ipv4": {"src": "10.0.0.1", "dst": "10.0.0.2", "ttl": 7, "df": True,
                       "payload": {"udp": {"sport": 1, "dport": 2, "payload": "hi"}}}}
    expected = ipv4.build(ipv4.IPv4Header(src="10.0.0.1", dst="10.0.0.2", proto=17, ttl=7,
                                          df=True), udp.build(1, 2, b"hi", "10.0.0.1",
                                                              "10.0.0.2"))
    assert build(recipe) == expected
    six = {"ipv6": {"src": "fe80::1", "dst": "fe80::2",
                    "payload": {"icmpv6-echo": {"ident": 3, "seq": 4}}}}
    assert build(six) == ipv6.build(ipv6.IPv6Header("fe80::1", "fe80::2", 58),
                                    icmp.echo6(3, 4, b"", False, "fe80::1", "fe80::2"))
    root = decode(build({"ethernet": {"vlan": 9, "payload": six}}))
    assert root.find("ethernet", "vlan").value == 9  # type: ignore[union-attr]
    assert "(correct)" in root.find("icmpv6", "checksum").text  # type: ignore[union-attr]


def test_tcp_options_in_tcpdump_words() -> None:
    words = "mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7,sack 1 {5:9},eol"
    assert parse_tcp_options(words) == [(2, 1460), (4, None), (8, (1, 0)), (1, None),
                                        (3, 7), (5, ((5, 9),)), (0, None)]
    seg = build({"tcp": {"flags": "SYN,ACK", "options": "mss 1460,nop,wscale 2"}})
    assert seg == tcp.build(0, 0, flags=0x012, options=[(2, 1460), (1, None), (3, 2)])


def test_session_form_is_json_and_builds_the_same() -> None:
    recipe = {"ipv4": {"options": {"hex": "94 04 00 00"},
                       "payload": {"tcp": {"payload": b"\0\xff", "flags": ["PSH", "ACK"]}}}}
    stored = json.loads(json.dumps(to_json(recipe)))
    assert stored["ipv4"]["payload"]["tcp"]["payload"] == {"hex": "00 ff"}
    assert stored["ipv4"]["payload"]["tcp"]["flags"] == 0x018
    assert normalise(stored) == normalise(recipe)
    assert build(stored) == build(recipe)


@pytest.mark.parametrize(("recipe", "message"), [
    ({"udp": {}, "tcp": {}}, "a packet recipe is one kind and its fields"),
    ({"sctp": {}}, "unknown packet kind 'sctp': use one of icmp-echo"),
    ({"udp": 5}, "udp: give its fields as names and values"),
    ({"udp": {"port": 5}}, "udp has no field 'port': use sport, dport"),
    ({"udp": {"dport": 70000}}, "udp dport 70000 is out of range: use 0 to 65535"),
    ({"ipv4": {"ttl": True}}, "ipv4 ttl True is out of range"),
    ({"ipv4": {"checksum": -2}}, r"use -1 to 65535 \(-1: computed\)"),
    ({"ipv4": {"df": "yes"}}, "ipv4 df 'yes': use true or false"),
    ({"ipv4": {"dst": "::1"}}, "ipv4 dst '::1' is not an IPv4 address"),
    ({"ipv6": {"src": "localhost"}}, "ipv6 src 'localhost' is not an IPv6 address"),
    ({"udp": {"src": "1.2.3"}}, "udp src '1.2.3' is not an IP address"),
    ({"ethernet": {"src": "02:00"}}, "ethernet src '02:00' is not a MAC address"),
    ({"ethernet": {}}, "ethernet ethertype: give one"),
    ({"tcp": {"flags": "SYN,FOO"}}, "tcp flags 'SYN,FOO' not understood"),
    ({"tcp": {"options": "mss"}}, "TCP option 'mss' not understood"),
    ({"tcp": {"options": "sack 1:2 3:4 5:6 7:8 9:10"}}, "at most 40 fit"),
    ({"udp": {"payload": 5}}, "udp payload 5: give bytes, text"),
    ({"udp": {"payload": {"hex": "zz"}}}, "hex"),
    ({"ipv4": {"options": {"udp": {}}}}, "ipv4 options: give bytes"),
    ({"ipv4": {"options": {"hex": "01" * 41}}}, "ipv4 options take 41 bytes"),
    ({"ipv4": {"payload": {"udp": {"sport": -1}}}}, "udp sport -1 is out of range"),
])
def test_bad_fields_are_one_line_errors(recipe: dict, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        build(recipe)
    assert "\n" not in str(info.value)


def test_every_param_has_help_and_a_valid_default() -> None:
    for kind, params in PARAMS.items():
        assert len({p.name for p in params}) == len(params)
        for p in params:
            assert p.help, (kind, p.name)
        assert normalise({kind: {}})[kind].keys() == {p.name for p in params}


@settings(max_examples=100)
@given(ttl=st.integers(0, 255), ident=st.integers(0, 65535), sport=st.integers(0, 65535),
       dport=st.integers(0, 65535), seq=st.integers(0, 2**32 - 1),
       flags=st.sets(st.sampled_from(tcp.FLAGS)), payload=st.binary(max_size=30),
       kind=st.sampled_from(("udp", "tcp")))
def test_built_recipes_decode_to_their_fields(ttl: int, ident: int, sport: int, dport: int,
                                              seq: int, flags: set[str], payload: bytes,
                                              kind: str) -> None:
    inner: dict = {"sport": sport, "dport": dport, "payload": payload}
    if kind == "tcp":
        inner.update(seq=seq, flags=sorted(flags), options="mss 536,nop,nop,sackOK")
    root = decode(build({"ipv4": {"ttl": ttl, "ident": ident, "payload": {kind: inner}}}), "ip")
    layer = root.find(kind)
    assert layer is not None and not root.truncated
    assert (root.find("ipv4", "ttl").value, root.find("ipv4", "ident").value) == \
        (ttl, ident)  # type: ignore[union-attr]
    assert (layer.find("sport").value, layer.find("dport").value) == \
        (sport, dport)  # type: ignore[union-attr]
    assert "(correct)" in layer.find("checksum").text  # type: ignore[union-attr]
    if kind == "tcp":
        assert layer.find("seq").value == seq  # type: ignore[union-attr]
        assert {n for n in tcp.FLAGS if layer.find("flags", n.lower()).value} == flags  # type: ignore
