"""Decoders: build-and-decode round trips, hand-written known bytes, and any bytes at all
decoded as far as they go, with a "truncated" node where they stop, never an exception."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.packets import ethernet, icmp, ipv4, ipv6, tcp, udp
from workbench.core.packets.decode import LINKS, decode, receive_link, send_link, summary
from workbench.core.packets.field import TRUNCATED, Field, bit_pattern, path_at

V4 = st.builds(lambda b: ".".join(map(str, b)), st.lists(st.integers(0, 255), min_size=4,
                                                         max_size=4))
PORT = st.integers(0, 65535)


def value(root: Field, *path: str) -> object:
    node = root.find(*path)
    assert node is not None, f"no field {'/'.join(path)} in {[n.name for n in root.walk()]}"
    return node.value


def udp_packet(payload: bytes = b"hello", **fields: object) -> bytes:
    header = ipv4.IPv4Header(proto=17, **fields)  # type: ignore[arg-type]
    return ipv4.build(header, udp.build(5000, 6000, payload, header.src, header.dst))


@settings(max_examples=150)
@given(src=V4, dst=V4, ttl=st.integers(0, 255), tos=st.integers(0, 255),
       ident=st.integers(0, 65535), df=st.booleans(), rf=st.booleans(),
       sport=PORT, dport=PORT, payload=st.binary(max_size=64))
def test_ipv4_udp_round_trip(src: str, dst: str, ttl: int, tos: int, ident: int, df: bool,
                             rf: bool, sport: int, dport: int, payload: bytes) -> None:
    h = ipv4.IPv4Header(src=src, dst=dst, proto=17, ttl=ttl, tos=tos, ident=ident, df=df,
                        reserved=rf)
    root = decode(ipv4.build(h, udp.build(sport, dport, payload, src, dst)), "ip")
    assert [c.name for c in root.children] == ["ipv4", "udp"]
    assert value(root, "ipv4", "src") == src and value(root, "ipv4", "dst") == dst
    assert value(root, "ipv4", "ttl") == ttl and value(root, "ipv4", "ident") == ident
    assert value(root, "ipv4", "tos") == tos
    assert value(root, "ipv4", "flags", "df") is df
    assert value(root, "ipv4", "flags", "reserved") is rf
    assert "(correct)" in root.find("ipv4", "checksum").text  # type: ignore[union-attr]
    assert (value(root, "udp", "sport"), value(root, "udp", "dport")) == (sport, dport)
    assert "(correct)" in root.find("udp", "checksum").text  # type: ignore[union-attr]
    data = root.find("udp", "data")
    assert (data.value if data else b"") == payload
    assert not root.truncated


@settings(max_examples=100)
@given(seq=st.integers(0, 2**32 - 1), ack=st.integers(0, 2**32 - 1), flags=st.integers(0, 511),
       mss=PORT, shift=st.integers(0, 14), ts=st.tuples(st.integers(0, 2**32 - 1),
                                                         st.integers(0, 2**32 - 1)),
       blocks=st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
                       min_size=1, max_size=2))
def test_tcp_options_round_trip(seq: int, ack: int, flags: int, mss: int, shift: int,
                                ts: tuple[int, int], blocks: list[tuple[int, int]]) -> None:
    opts = [(2, mss), (1, None), (3, shift), (4, None), (8, ts), (5, tuple(blocks))]
    seg = tcp.build(1, 2, seq, ack, flags, options=opts, src="10.0.0.1", dst="10.0.0.2")
    root = decode(ipv4.build(ipv4.IPv4Header(src="10.0.0.1", dst="10.0.0.2", proto=6), seg), "ip")
    t = root.find("tcp")
    assert t is not None and not root.truncated
    assert (value(t, "seq"), value(t, "ack"), value(t, "flags")) == (seq, ack, flags)
    for name in tcp.FLAGS:
        assert value(t, "flags", name.lower()) is bool(flags & tcp.FLAG_BITS[name])
    opt = t.find("options")
    assert opt is not None
    assert [c.name for c in opt.children][:6] == ["mss", "nop", "window_scale", "sack_permitted",
                                                  "timestamps", "sack"]
    assert value(opt, "mss") == mss and value(opt, "window_scale") == shift
    assert value(opt, "timestamps") == ts and value(opt, "sack") == tuple(blocks)
    assert "(correct)" in t.find("checksum").text  # type: ignore[union-attr]


@given(ident=PORT, seq=PORT, payload=st.binary(max_size=100), reply=st.booleans())
def test_icmp_echo_round_trip(ident: int, seq: int, payload: bytes, reply: bool) -> None:
    root = decode(icmp.echo(ident, seq, payload, reply), "icmp")
    assert value(root, "icmp", "type") == (0 if reply else 8)
    assert (value(root, "icmp", "ident"), value(root, "icmp", "seq")) == (ident, seq)
    assert "(correct)" in root.find("icmp", "checksum").text  # type: ignore[union-attr]
    six = decode(ipv6.build(ipv6.IPv6Header(next_header=58),
                            icmp.echo6(ident, seq, payload, reply, "::1", "::1")), "ip")
    assert value(six, "icmpv6", "type") == (129 if reply else 128)
    assert "(correct)" in six.find("icmpv6", "checksum").text  # type: ignore[union-attr]
    alone = decode(icmp.echo6(ident, seq, payload, reply), "icmpv6")
    assert "(not verified)" in alone.find("icmpv6", "checksum").text  # type: ignore[union-attr]


def test_ipv6_extension_headers() -> None:
    hbh = bytes([60, 0, 5, 2, 0, 0, 1, 0])  # next: dest opts; router alert, PadN
    dest = bytes([43, 0, 1, 4, 0, 0, 0, 0])  # next: routing; PadN of 4
    routing = bytes([44, 2, 0, 1, 0, 0, 0, 0]) + bytes(range(16))  # type 0, one address
    frag = bytes([17, 0]) + struct.pack("!HI", 0, 0x12345678)  # first fragment, M=0
    # With segments left, the checksum is summed over the final destination (RFC 8200 8.1).
    body = udp.build(7, 9, b"x", "::1", bytes(range(16)))
    packet = ipv6.build(ipv6.IPv6Header(src="::1", dst="::2", next_header=0),
                        hbh + dest + routing + frag + body)
    root = decode(packet, "ip")
    names = [c.name for c in root.find("ipv6").children]  # type: ignore[union-attr]
    assert names[-4:] == ["hop-by-hop_options".replace("-", "_"), "destination_options",
                          "routing", "fragment"]
    assert value(root, "ipv6", "hop_by_hop_options", "options", "router_alert") == 5
    assert value(root, "ipv6", "routing", "address0") == "1:203:405:607:809:a0b:c0d:e0f"
    assert value(root, "ipv6", "fragment", "ident") == 0x12345678
    # A fragment header with offset 0 and M clear is an atomic fragment: UDP is decoded.
    assert value(root, "udp", "sport") == 7
    assert "(correct)" in root.find("udp", "checksum").text  # type: ignore[union-attr]


def test_later_fragments_are_not_decoded_as_transport() -> None:
    frag = bytes([17, 0]) + struct.pack("!HI", 185 << 3 | 1, 1)
    root = decode(ipv6.build(ipv6.IPv6Header(next_header=44), frag + b"z" * 16), "ip")
    assert root.find("udp") is None
    assert root.find("ipv6", "data").text == "fragment data: 16 bytes"  # type: ignore[union-attr]
    root4 = decode(udp_packet(mf=True), "ip")
    assert root4.find("udp") is None and root4.find("ipv4", "data") is not None


def test_icmp_error_quotes_the_packet() -> None:
    original = udp_packet(b"ping")
    error = struct.pack("!BBHHH", 3, 3, 0, 0, 0) + original[:28]
    error = error[:2] + struct.pack("!H", ipv4.checksum(error)) + error[4:]
    root = decode(error, "icmp")
    assert root.find("icmp").text == \
        "ICMP 3 (destination unreachable): port unreachable"  # type: ignore[union-attr]
    assert value(root, "icmp", "code") == 3
    assert "port unreachable" in root.find("icmp", "code").text  # type: ignore[union-attr]
    quoted = root.find("icmp", "quoted")
    assert quoted is not None
    assert value(quoted, "udp", "dport") == 6000
    assert quoted.find("udp", "checksum") is not None  # the quoted UDP header, not its data


def test_ethernet_vlan_and_trailer() -> None:
    frame = ethernet.build("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", 0x0800, udp_packet(b""),
                           vlans=[(0x88A8, 100), (0x8100, 0x2000 | 7)]) + b"\0" * 10
    root = decode(frame)
    eth = root.find("ethernet")
    assert eth is not None
    vlans = [c for c in eth.children if c.name == "vlan"]
    assert [v.value for v in vlans] == [100, 7]
    assert value(vlans[1], "pcp") == 1
    assert value(root, "udp", "dport") == 6000
    assert root.children[-1].name == "trailer" and root.children[-1].length == 10


def test_ipv4_options_decoded() -> None:
    rr = bytes([7, 11, 4]) + bytes([10, 0, 0, 1, 10, 0, 0, 2])
    packet = udp_packet(options=rr + b"\x01" + bytes([0x94, 4, 0, 0]))
    opts = decode(packet, "ip").find("ipv4", "options")
    assert opts is not None
    assert [c.name for c in opts.children] == ["record_route", "nop", "router_alert"]
    assert value(opts, "record_route", "address1") == "10.0.0.2"


@pytest.mark.parametrize("bad", [bytes([68, 1]), bytes([7, 40, 4, 0]), bytes([130])])
def test_malformed_options_stop_without_raising(bad: bytes) -> None:
    opts = decode(udp_packet(options=bad), "ip").find("ipv4", "options")
    assert opts is not None and opts.children[-1].name in ("malformed", "padding")


def test_every_prefix_of_a_header_is_marked_truncated() -> None:
    seg = tcp.build(1, 2, options=[(2, 1460), (8, (1, 2))], src="127.0.0.1", dst="127.0.0.1")
    frame = ethernet.build("00:00:00:00:00:00", "00:00:00:00:00:00", 0x0800,
                           ipv4.build(ipv4.IPv4Header(proto=6), seg))
    for cut in range(len(frame)):
        root = decode(frame[:cut])
        assert root.truncated, cut
        node = next(n for n in root.walk() if n.name == TRUNCATED)
        assert node.text.startswith("truncated: ")
    assert not decode(frame).truncated


@settings(max_examples=400)
@given(st.binary(max_size=200), st.sampled_from(LINKS))
def test_any_bytes_decode_without_raising(data: bytes, link: str) -> None:
    root = decode(data, link)
    assert (root.offset, root.length) == (0, len(data))
    for node in root.walk():
        assert 0 <= node.offset <= node.end <= len(data), node
        assert isinstance(node.text, str) and node.text
        if node.bits is not None:
            first, count = node.bits
            assert first >= 0 and first + count <= node.length * 8, node
    summary(root)
    for offset in range(len(data)):
        path = path_at(root, offset)
        assert path and all(n.offset <= offset < n.end for n in path)


@settings(max_examples=200)
@given(st.binary(min_size=1, max_size=60), st.integers(0, 200))
def test_corrupted_packets_decode_without_raising(noise: bytes, at: int) -> None:
    """Valid packets with bytes overwritten reach deeper code than random bytes do."""
    for base, link in ((udp_packet(options=b"\x94\x04\0\0"), "ip"),
                       (ipv6.build(ipv6.IPv6Header(next_header=0),
                                   bytes([58, 0, 1, 4, 0, 0, 0, 0]) + icmp.echo6(1, 2)), "ip"),
                       (icmp.echo6(1, 2), "icmpv6")):
        start = at % len(base)
        mutated = base[:start] + noise + base[start + len(noise) :]
        decode(mutated, link)
        decode(mutated[: start + 3], link)


def test_path_at_finds_the_field_under_a_byte() -> None:
    packet = udp_packet(b"abc")
    root = decode(packet, "ip")
    assert [n.name for n in path_at(root, 8)] == ["packet", "ipv4", "ttl"]
    assert [n.name for n in path_at(root, 24)] == ["packet", "udp", "length"]
    assert [n.name for n in path_at(root, 29)] == ["packet", "udp", "data"]
    assert path_at(root, len(packet)) == ()
    for offset in range(len(packet)):
        found = path_at(root, offset)[-1]
        assert found.offset <= offset < found.end


def test_unknown_link_is_a_one_line_error() -> None:
    with pytest.raises(ValueError, match="unknown link 'sll': use one of ethernet, ip"):
        decode(b"", "sll")


def test_too_many_tcp_options_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 40 fit"):
        tcp.build(1, 2, options=[(5, ((0, 0),) * 5)])


def test_arp_request_decoded() -> None:
    body = bytes.fromhex("0001080006040001") + bytes.fromhex("020000000001") \
        + bytes([10, 0, 0, 1]) + bytes(6) + bytes([10, 0, 0, 2])
    root = decode(ethernet.build("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", 0x0806, body))
    a = root.find("arp")
    assert a is not None and a.text == "ARP who has 10.0.0.2? tell 10.0.0.1"
    assert value(a, "sha") == "02:00:00:00:00:01"
    assert decode(body[:11], "arp").truncated


@pytest.mark.parametrize(("args", "received", "sent"), [
    (("inet", "raw", 1), "ipv4", "icmp"),
    (("inet", "raw", 17), "ipv4", "udp"),
    (("inet", "raw", 255), "ipv4", "ipv4"),
    (("inet6", "raw", 58), "icmpv6", "icmpv6"),
    (("inet6", "raw", 255), "data", "ipv6"),
    (("inet", "dgram", 1), "icmp", "icmp"),
    (("inet6", "dgram", 58), "icmpv6", "icmpv6"),
    (("inet", "dgram", 17), "data", "data"),
    (("inet", "stream", 6), "data", "data"),
    (("packet", "raw", 3), "ethernet", "ethernet"),
    (("packet", "dgram", 3), "ip", "data"),
])
def test_links_of_each_socket_kind(args: tuple[str, str, int], received: str,
                                   sent: str) -> None:
    assert receive_link(*args) == received
    assert send_link(*args) == sent


def test_links_by_ethertype_and_hdrincl() -> None:
    assert receive_link("packet", "dgram", 3, 0x86DD) == "ipv6"
    assert receive_link("packet", "dgram", 3, 0x0806) == "arp"
    assert receive_link("packet", "dgram", 3, 0x88CC) == "data"
    assert send_link("inet", "raw", 17, hdrincl=True) == "ipv4"
    assert send_link("inet6", "raw", 17, hdrincl=True) == "udp"
    assert decode(b"abc", "data").find("data", "data").value == b"abc"  # type: ignore


def test_summary_lines() -> None:
    assert summary(decode(udp_packet(b"hello"), "ip")) == \
        "127.0.0.1:5000 → 127.0.0.1:6000 UDP, 5 bytes of data"
    assert summary(decode(udp_packet(b"hello")[:25], "ip")) == \
        "127.0.0.1:5000 → 127.0.0.1:6000 UDP (truncated)"
    seg = tcp.build(80, 4000, 7, 9, 0x012, src="::1", dst="::2")
    assert summary(decode(ipv6.build(ipv6.IPv6Header("::1", "::2", 6), seg), "ip")) == \
        "[::1]:80 → [::2]:4000 TCP [ACK SYN] seq 7 ack 9, 0 bytes of data"
    assert summary(decode(icmp.echo(1, 2), "icmp")) == "ICMP 8 (echo request), id 1, seq 2"
    assert summary(decode(b"", "ip")) == "0 bytes: nothing (truncated)"


def test_bit_patterns_show_a_fields_bits() -> None:
    packet = udp_packet(df=True, tos=0xB8)
    root = decode(packet, "ip")
    pattern = {n.name: bit_pattern(n, packet) for n in root.walk() if n.bits}
    assert pattern["df"] == ".1.. ...." and pattern["mf"] == "..0. ...."
    assert pattern["version"] == "0100 ...." and pattern["dscp"] == "1011 10.."
    assert pattern["frag_offset"] == "...0 0000 0000 0000"
    assert bit_pattern(root.find("ipv4", "ttl"), packet) == ""  # type: ignore[arg-type]


@given(st.sets(st.integers(0, 255)))
def test_icmp6_filter_value_round_trip(passing: set[int]) -> None:
    value = icmp.icmp6_filter(passing)
    assert len(value) == 32
    assert icmp.icmp6_filter_passing(value) == sorted(passing)
