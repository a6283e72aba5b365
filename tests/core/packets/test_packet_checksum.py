"""The internet checksum and pseudo-header sums: known values, and properties against a
byte-at-a-time reference written straight from RFC 1071."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.packets import icmp, ipv4, tcp, udp
from workbench.core.packets.checksum import (
    address_bytes,
    checksum,
    ones_sum,
    pseudo_header,
    pseudo_header_v4,
    pseudo_header_v6,
    transport_checksum,
)

V4 = st.builds(lambda b: ".".join(map(str, b)), st.lists(st.integers(0, 255), min_size=4,
                                                         max_size=4))
V6 = st.binary(min_size=16, max_size=16)


def reference(data: bytes) -> int:
    """RFC 1071 4.1, as written there: add 16-bit words, fold the carries, complement."""
    total = 0
    for i in range(0, len(data) - 1, 2):
        total += (data[i] << 8) + data[i + 1]
    if len(data) % 2:
        total += data[-1] << 8
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def test_rfc1071_example() -> None:
    # RFC 1071 section 3: these bytes sum to 0xddf2 (carries folded).
    data = bytes.fromhex("0001f203f4f5f6f7")
    assert ones_sum(data) == 0xDDF2
    assert checksum(data) == 0x220D


def test_known_ipv4_header() -> None:
    # A widely quoted example header whose checksum field holds 0xb861.
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert checksum(header) == 0xB861
    built = ipv4.build(ipv4.IPv4Header(src="192.168.0.1", dst="192.168.0.199", proto=17,
                                       df=True, total_length=0x73))
    assert built == bytes.fromhex("450000730000400040" "11b861c0a80001c0a800c7")


@settings(max_examples=300)
@given(st.binary(max_size=2000))
def test_matches_reference(data: bytes) -> None:
    assert checksum(data) == reference(data)


@settings(max_examples=300)
@given(st.binary(max_size=600).filter(lambda d: len(d) % 2 == 0))
def test_data_with_its_checksum_verifies_to_zero(data: bytes) -> None:
    with_sum = data + struct.pack("!H", checksum(data))
    assert checksum(with_sum) == 0
    assert reference(with_sum) == 0


@given(st.binary(min_size=1, max_size=600).filter(lambda d: len(d) % 2 == 1))
def test_odd_length_is_padded_with_a_zero(data: bytes) -> None:
    assert checksum(data) == checksum(data + b"\0")
    # The checksum placed after the padding byte verifies the padded data.
    assert checksum(data + b"\0" + struct.pack("!H", checksum(data))) == 0


@given(st.binary(max_size=300).filter(lambda d: len(d) % 2 == 0), st.binary(max_size=300))
def test_sums_combine_over_an_even_split(a: bytes, b: bytes) -> None:
    assert ones_sum(a + b) == ones_sum(b, ones_sum(a))


@given(V4, V4, st.integers(0, 255), st.integers(0, 0xFFFF))
def test_pseudo_header_v4_layout(src: str, dst: str, proto: int, length: int) -> None:
    ph = pseudo_header_v4(src, dst, proto, length)
    assert ph == address_bytes(src) + address_bytes(dst) + bytes([0, proto]) + \
        length.to_bytes(2, "big")
    assert pseudo_header(src, dst, proto, length) == ph


@given(V6, V6, st.integers(0, 255), st.integers(0, 0xFFFFFFFF))
def test_pseudo_header_v6_layout(src: bytes, dst: bytes, nh: int, length: int) -> None:
    ph = pseudo_header_v6(src, dst, nh, length)
    assert len(ph) == 40
    assert ph[32:36] == length.to_bytes(4, "big") and ph[36:39] == b"\0\0\0" and ph[39] == nh


@settings(max_examples=200)
@given(st.one_of(st.tuples(V4, V4), st.tuples(V6, V6)), st.integers(0, 65535),
       st.integers(0, 65535), st.binary(max_size=300))
def test_built_segments_verify(addrs: tuple, sport: int, dport: int, payload: bytes) -> None:
    src, dst = addrs
    datagram = udp.build(sport, dport, payload, src, dst)
    assert transport_checksum(src, dst, 17, datagram) == 0
    assert datagram[6:8] != b"\0\0"  # zero means "no checksum": sent as 0xffff instead
    segment = tcp.build(sport, dport, 1, 2, 0x18, options=[(2, 1460), (1, None)],
                        payload=payload, src=src, dst=dst)
    assert transport_checksum(src, dst, 6, segment) == 0
    assert checksum(icmp.echo(sport, dport, payload)) == 0
    if len(address_bytes(src)) == 16:
        assert transport_checksum(src, dst, 58, icmp.echo6(sport, dport, payload,
                                                           src=src, dst=dst)) == 0


def test_mixed_families_are_refused() -> None:
    with pytest.raises(ValueError, match="different families"):
        pseudo_header("127.0.0.1", "::1", 17, 8)
    with pytest.raises(ValueError, match="4 or 16 bytes"):
        address_bytes(b"\1\2\3")
