"""Packets built by scapy (a second implementation, used only in tests) decoded field by
field, and packets built here compared byte for byte with scapy's for the same fields:
IPv4 options, TCP options, IPv6 extension headers, ICMPv6 echo and neighbor discovery,
ICMP errors, 802.1Q. Nothing is sent."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.packets import ethernet, icmp, ipv4, ipv6, tcp, udp
from workbench.core.packets.decode import decode
from workbench.core.packets.field import Field

scapy_inet = pytest.importorskip("scapy.layers.inet")
scapy_inet6 = pytest.importorskip("scapy.layers.inet6")
scapy_l2 = pytest.importorskip("scapy.layers.l2")
IP, TCP, UDP, ICMP = scapy_inet.IP, scapy_inet.TCP, scapy_inet.UDP, scapy_inet.ICMP
IPv6 = scapy_inet6.IPv6

U32 = st.integers(0, 2**32 - 1)


def get(node: Field, *path: str) -> object:
    found = node.find(*path)
    assert found is not None, f"no {'/'.join(path)} under {node.text}"
    return found.value


def correct(node: Field) -> bool:
    return "(correct)" in node.find("checksum").text  # type: ignore[union-attr]


@settings(max_examples=60, deadline=None)
@given(seq=U32, ack=U32, flags=st.integers(0, 255), window=st.integers(0, 65535),
       mss=st.integers(0, 65535), shift=st.integers(0, 14), ts=st.tuples(U32, U32),
       sack=st.lists(st.tuples(U32, U32), max_size=2), payload=st.binary(max_size=40),
       ttl=st.integers(1, 255), ident=st.integers(0, 65535))
def test_tcp_over_ipv4_byte_for_byte(seq: int, ack: int, flags: int, window: int, mss: int,
                                     shift: int, ts: tuple[int, int],
                                     sack: list[tuple[int, int]], payload: bytes, ttl: int,
                                     ident: int) -> None:
    scapy_opts = [("MSS", mss), ("NOP", None), ("WScale", shift), ("SAckOK", b""),
                  ("Timestamp", ts)]
    opts: list[tcp.Option] = [(2, mss), (1, None), (3, shift), (4, None), (8, ts)]
    if sack:
        scapy_opts.append(("SAck", tuple(x for block in sack for x in block)))
        opts.append((5, tuple(sack)))
    theirs = bytes(IP(src="192.0.2.1", dst="198.51.100.7", ttl=ttl, id=ident)
                   / TCP(sport=40000, dport=80, seq=seq, ack=ack, flags=flags, window=window,
                         options=scapy_opts) / payload)
    seg = tcp.build(40000, 80, seq, ack, flags, window, opts, payload, "192.0.2.1",
                    "198.51.100.7")
    ours = ipv4.build(ipv4.IPv4Header(src="192.0.2.1", dst="198.51.100.7", proto=6, ttl=ttl,
                                      ident=ident), seg)
    assert ours == theirs
    t = decode(theirs, "ip").find("tcp")
    assert t is not None and correct(t)
    assert (get(t, "seq"), get(t, "ack"), get(t, "flags"), get(t, "window")) == \
        (seq, ack, flags, window)
    assert get(t, "options", "timestamps") == ts
    assert get(t, "options", "mss") == mss and get(t, "options", "window_scale") == shift
    if sack:
        assert get(t, "options", "sack") == tuple(sack)


def test_ipv4_options_byte_for_byte() -> None:
    theirs = bytes(IP(src="10.0.0.1", dst="10.0.0.2", id=0, options=[
        scapy_inet.IPOption_RR(routers=["10.9.9.9", "10.8.8.8"]),
        scapy_inet.IPOption_Router_Alert()]) / UDP(sport=5, dport=6) / b"opt")
    rr = bytes([7, 11, 4]) + bytes([10, 9, 9, 9, 10, 8, 8, 8])
    ours = ipv4.build(ipv4.IPv4Header(src="10.0.0.1", dst="10.0.0.2",
                                      options=rr + bytes([0x94, 4, 0, 0])),
                      udp.build(5, 6, b"opt", "10.0.0.1", "10.0.0.2"))
    assert ours == theirs
    root = decode(theirs, "ip")
    assert get(root, "ipv4", "options", "record_route", "address1") == "10.8.8.8"
    assert root.find("ipv4", "options", "router_alert") is not None
    assert correct(root.find("ipv4")) and correct(root.find("udp"))  # type: ignore[arg-type]


def test_ipv6_extension_chain_from_scapy() -> None:
    s6 = scapy_inet6
    packet = (IPv6(src="2001:db8::1", dst="2001:db8::2", fl=0xABCDE, tc=0x28)
              / s6.IPv6ExtHdrHopByHop(options=[s6.RouterAlert(), s6.PadN(optdata=b"\0\0")])
              / s6.IPv6ExtHdrDestOpt(options=[s6.PadN(optdata=b"\0" * 4)])
              / s6.IPv6ExtHdrRouting(addresses=["2001:db8::a", "2001:db8::b"])
              / s6.IPv6ExtHdrFragment(id=0xCAFE, offset=0, m=0)
              / UDP(sport=1111, dport=2222) / b"through the chain")
    root = decode(bytes(packet), "ip")
    ip = root.find("ipv6")
    assert ip is not None and not root.truncated
    assert (get(ip, "flow_label"), get(ip, "traffic_class")) == (0xABCDE, 0x28)
    assert [c.name for c in ip.children if c.name.endswith(("options", "routing", "fragment"))] \
        == ["hop_by_hop_options", "destination_options", "routing", "fragment"]
    assert get(ip, "hop_by_hop_options", "options", "router_alert") == 5  # type: ignore
    assert (get(ip, "routing", "address0"), get(ip, "routing", "address1")) == \
        ("2001:db8::a", "2001:db8::b")
    assert get(ip, "fragment", "ident") == 0xCAFE
    u = root.find("udp")
    assert u is not None and correct(u) and get(u, "data") == b"through the chain"


def test_icmpv6_echo_byte_for_byte() -> None:
    theirs = bytes(IPv6(src="fe80::1", dst="fe80::2", hlim=255)
                   / scapy_inet6.ICMPv6EchoRequest(id=0x1234, seq=7, data=b"ping6"))
    ours = ipv6.build(ipv6.IPv6Header(src="fe80::1", dst="fe80::2", next_header=58,
                                      hop_limit=255),
                      icmp.echo6(0x1234, 7, b"ping6", src="fe80::1", dst="fe80::2"))
    assert ours == theirs
    m = decode(theirs, "ip").find("icmpv6")
    assert m is not None and correct(m) and get(m, "seq") == 7


def test_neighbor_discovery_from_scapy() -> None:
    s6 = scapy_inet6
    ns = bytes(IPv6(src="fe80::1", dst="ff02::1:ff00:2") / s6.ICMPv6ND_NS(tgt="fe80::2")
               / s6.ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:01"))
    m = decode(ns, "ip").find("icmpv6")
    assert m is not None and correct(m)
    assert get(m, "type") == 135 and get(m, "target") == "fe80::2"
    assert get(m, "options", "source_link_layer_address") == 1
    assert m.find("options", "source_link_layer_address", "value").value == \
        "02:00:00:00:00:01"  # type: ignore[union-attr]
    ra = bytes(IPv6(src="fe80::1", dst="ff02::1") / s6.ICMPv6ND_RA(chlim=64, routerlifetime=1800)
               / s6.ICMPv6NDOptPrefixInfo(prefix="2001:db8:1::", prefixlen=64))
    r = decode(ra, "ip").find("icmpv6")
    assert r is not None and correct(r)
    assert (get(r, "cur_hop_limit"), get(r, "router_lifetime")) == (64, 1800)
    assert "2001:db8:1::/64" in r.find("options", "prefix_information").text  # type: ignore


def test_icmp_error_quoting_udp_from_scapy() -> None:
    inner = IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=3333, dport=4444) / b"lost"
    error = bytes(IP(src="10.0.0.2", dst="10.0.0.1") / ICMP(type=3, code=3)
                  / scapy_inet.IPerror(bytes(inner)[:28]))
    root = decode(error, "ip")
    m = root.find("icmp")
    assert m is not None and correct(m)
    assert "port unreachable" in m.find("code").text  # type: ignore[union-attr]
    assert get(m, "quoted", "ipv4", "dst") == "10.0.0.2"
    assert get(m, "quoted", "udp", "dport") == 4444


def test_vlan_frame_byte_for_byte() -> None:
    l2 = scapy_l2
    theirs = bytes(l2.Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                   / l2.Dot1Q(vlan=42, prio=5) / IP(src="10.0.0.1", dst="10.0.0.2", id=0)
                   / UDP(sport=1, dport=2))
    ours = ethernet.build("02:00:00:00:00:02", "02:00:00:00:00:01", 0x0800,
                          ipv4.build(ipv4.IPv4Header(src="10.0.0.1", dst="10.0.0.2"),
                                     udp.build(1, 2, b"", "10.0.0.1", "10.0.0.2")),
                          vlans=[(0x8100, 5 << 13 | 42)])
    assert ours == theirs
    vlan = decode(theirs).find("ethernet", "vlan")
    assert vlan is not None and (vlan.value, get(vlan, "pcp")) == (42, 5)


def test_arp_reply_from_scapy() -> None:
    l2 = scapy_l2
    frame = bytes(l2.Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
                  / l2.ARP(op=2, hwsrc="02:00:00:00:00:02", psrc="10.0.0.2",
                           hwdst="02:00:00:00:00:01", pdst="10.0.0.1"))
    a = decode(frame).find("arp")
    assert a is not None and a.text == "ARP 10.0.0.2 is at 02:00:00:00:00:02"
    assert (get(a, "tpa"), get(a, "tha")) == ("10.0.0.1", "02:00:00:00:00:01")


@st.composite
def extension_chains(draw: st.DrawFn) -> tuple[list[object], list[str]]:
    """scapy extension headers in a random order, and the names the decoder gives them."""
    s6 = scapy_inet6
    kinds = draw(st.lists(st.sampled_from(("hbh", "dest", "routing", "fragment")),
                          max_size=4))
    headers, names = [], []
    for kind in kinds:
        if kind == "routing":
            hops = draw(st.lists(st.sampled_from(("2001:db8::a", "2001:db8::b", "::1")),
                                 min_size=1, max_size=3))
            headers.append(s6.IPv6ExtHdrRouting(addresses=hops,
                                                segleft=draw(st.integers(0, len(hops)))))
            names.append("routing")
        elif kind == "fragment":
            headers.append(s6.IPv6ExtHdrFragment(id=draw(st.integers(0, 2**32 - 1))))
            names.append("fragment")
        else:
            pad = s6.PadN(optdata=b"\0" * draw(st.integers(0, 9)))
            options = [s6.RouterAlert(), pad] if draw(st.booleans()) else [pad]
            make = s6.IPv6ExtHdrHopByHop if kind == "hbh" else s6.IPv6ExtHdrDestOpt
            headers.append(make(options=options))
            names.append("hop_by_hop_options" if kind == "hbh" else "destination_options")
    return headers, names


@settings(max_examples=80, deadline=None)
@given(extension_chains(), st.sampled_from(("udp", "tcp", "icmpv6")), st.binary(max_size=20))
def test_random_ipv6_chains_from_scapy(chain: tuple[list[object], list[str]], upper: str,
                                       payload: bytes) -> None:
    headers, names = chain
    packet = IPv6(src="2001:db8::1", dst="2001:db8::2")
    for header in headers:
        packet = packet / header
    packet = packet / {"udp": lambda: UDP(sport=7, dport=9),
                       "tcp": lambda: TCP(sport=7, dport=9, options=[("MSS", 1200)]),
                       "icmpv6": lambda: scapy_inet6.ICMPv6EchoRequest(id=7, seq=9)}[upper]()
    root = decode(bytes(packet / payload), "ip")
    ip = root.find("ipv6")
    assert ip is not None and not root.truncated
    assert [c.name for c in ip.children if c.name in names] == names
    last = root.children[-1]
    assert last.name == upper
    # Checksums are summed over a routing header's final destination (RFC 8200 8.1).
    assert correct(last), last.find("checksum").text  # type: ignore[union-attr]


def test_icmp_timestamp_from_scapy() -> None:
    packet = bytes(ICMP(type=13, id=5, seq=6, ts_ori=1000, ts_rx=2000, ts_tx=3000))
    m = decode(packet, "icmp").find("icmp")
    assert m is not None and correct(m) and not m.truncated
    assert (get(m, "ident"), get(m, "seq")) == (5, 6)
    assert (get(m, "originate"), get(m, "receive"), get(m, "transmit")) == (1000, 2000, 3000)


def test_mld_query_from_scapy() -> None:
    packet = bytes(IPv6(src="fe80::1", dst="ff02::1", hlim=1)
                   / scapy_inet6.ICMPv6MLQuery(mladdr="ff02::db8", mrd=1000))
    m = decode(packet, "ip").find("icmpv6")
    assert m is not None and correct(m) and not m.truncated
    assert (get(m, "max_delay"), get(m, "group")) == (1000, "ff02::db8")
