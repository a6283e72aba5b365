"""Packet socket addresses as text: `iface:lo` and what a received frame's address adds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.errors import InputError
from workbench.core.packets.sockaddr import (
    PKTTYPES,
    PacketAddress,
    format_packet_sockaddr,
    parse_packet_address,
)


def test_an_interface_alone_takes_the_sockets_protocol() -> None:
    address = parse_packet_address(" iface:lo ")
    assert address == PacketAddress("lo")
    assert address.sockaddr(0x0003) == ("lo", 0x0003)


def test_a_received_frames_address_reads_back() -> None:
    text = format_packet_sockaddr(("lo", 0x0800, 4, 772, b"\0" * 6))
    assert text == "iface:lo,ethertype=0x0800,pkttype=outgoing,mac=00:00:00:00:00:00"
    address = parse_packet_address(text)
    assert (address.ethertype, address.pkttype, address.mac) == (0x0800, "outgoing", b"\0" * 6)
    assert address.sockaddr(3) == ("lo", 0x0800, 0, 0, b"\0" * 6)  # sendable again
    assert format_packet_sockaddr(("", 0, 0, 0, b"")) == ""  # not bound to an interface


@pytest.mark.parametrize(("text", "word"), [
    ("127.0.0.1:0", "iface:NAME"), ("iface:", "interface name"), ("iface:a b", "interface"),
    ("iface:" + "x" * 16, "interface"), ("iface:lo,mac=zz", "mac"),
    ("iface:lo,ethertype=0x10000", "ethertype"), ("iface:lo,ethertype=x", "ethertype"),
    ("iface:lo,pkttype=nobody", "pkttype"), ("iface:lo,colour=red", "bad part"),
    ("iface:lo,mac=00,mac=01", "bad part"),
])
def test_bad_addresses_are_one_line_input_errors(text: str, word: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_packet_address(text)
    assert word in str(caught.value) and "\n" not in str(caught.value)


@given(name=st.from_regex(r"[a-z][a-z0-9]{0,14}", fullmatch=True),
       ethertype=st.integers(0, 0xFFFF), pkttype=st.sampled_from(sorted(PKTTYPES)),
       mac=st.binary(min_size=6, max_size=8))
def test_formatted_addresses_parse_back(name: str, ethertype: int, pkttype: int,
                                        mac: bytes) -> None:
    address = parse_packet_address(format_packet_sockaddr((name, ethertype, pkttype, 1, mac)))
    assert address == PacketAddress(name, ethertype, PKTTYPES[pkttype], mac)
