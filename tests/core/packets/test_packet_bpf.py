"""Capture filters: the compiled BPF program, run by the interpreter, and the Python
predicate decide alike on every packet; both against what the filter means."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.errors import InputError
from workbench.core.packets import bpf, ethernet, icmp, ipv4, ipv6, tcp, udp
from workbench.core.packets.bpf import Filter, compile_filter, matches, parse, run

HOSTS4 = ("127.0.0.1", "10.1.2.3")
HOSTS6 = ("::1", "fe80::1")
PORTS = (53, 5000, 6000)


@st.composite
def packets(draw: st.DrawFn) -> tuple[bytes, str]:
    """A packet of a kind a filter may pick (sometimes cut short or with noise in it)."""
    v6 = draw(st.booleans())
    hosts = HOSTS6 if v6 else HOSTS4
    src, dst = draw(st.sampled_from(hosts)), draw(st.sampled_from(hosts))
    sport, dport = draw(st.sampled_from(PORTS)), draw(st.sampled_from(PORTS))
    kind = draw(st.sampled_from(("udp", "tcp", "icmp", "other")))
    if kind == "udp":
        body, proto = udp.build(sport, dport, b"x", src, dst), 17
    elif kind == "tcp":
        body, proto = tcp.build(sport, dport, src=src, dst=dst), 6
    elif kind == "icmp":
        body, proto = (icmp.echo6(1, 2, b"", False, src, dst), 58) if v6 else (icmp.echo(1, 2), 1)
    else:
        body, proto = b"\0" * 8, draw(st.sampled_from((47, 132)))
    if v6 and draw(st.booleans()):  # behind a fragment header
        packet = ipv6.build(ipv6.IPv6Header(src, dst, 44), bytes([proto, 0, 0, 0, 0, 0, 0, 1])
                            + body)
    elif v6:
        packet = ipv6.build(ipv6.IPv6Header(src, dst, proto), body)
    else:
        frag = draw(st.sampled_from((0, 0, 0, 1, 100)))
        opts = draw(st.sampled_from((b"", b"\x94\x04\0\0")))
        packet = ipv4.build(ipv4.IPv4Header(src, dst, proto, frag_offset=frag, options=opts), body)
    link = draw(st.sampled_from(bpf.FILTER_LINKS))
    if link == "ethernet":
        etype = draw(st.sampled_from((0x86DD if v6 else 0x0800, 0x0806)))
        packet = ethernet.build("00:00:00:00:00:00", "00:00:00:00:00:00", etype, packet)
    if draw(st.integers(0, 4)) == 0:
        packet = packet[: draw(st.integers(0, len(packet)))]
    if draw(st.integers(0, 4)) == 0 and packet:
        at = draw(st.integers(0, len(packet) - 1))
        packet = packet[:at] + bytes([draw(st.integers(0, 255))]) + packet[at + 1 :]
    return packet, link


@st.composite
def filters(draw: st.DrawFn, link: str) -> Filter:
    proto = draw(st.sampled_from((None, 1, 6, 17, 58, 47)))
    host = draw(st.sampled_from((None, *HOSTS4, *HOSTS6)))
    port = draw(st.sampled_from((None, *PORTS))) if proto in (None, 6, 17) else None
    return Filter(proto, host, port, link)


@settings(max_examples=600)
@given(st.data())
def test_program_and_predicate_agree(data: st.DataObject) -> None:
    packet, link = data.draw(packets())
    f = data.draw(filters(link))
    program = compile_filter(f)
    assert len(program) < bpf.MAX_INSNS
    assert (run(program, packet) > 0) is matches(f, packet), (f, packet.hex())


def _frame(packet: bytes) -> bytes:
    return ethernet.build("00:00:00:00:00:00", "00:00:00:00:00:00", 0x0800, packet)


def test_udp_port_filter_meaning() -> None:
    f = parse("udp and port 5000")
    wanted = _frame(ipv4.build(ipv4.IPv4Header(proto=17), udp.build(1234, 5000, b"hi")))
    other_port = _frame(ipv4.build(ipv4.IPv4Header(proto=17), udp.build(1234, 5001, b"hi")))
    tcp_same_port = _frame(ipv4.build(ipv4.IPv4Header(proto=6), tcp.build(5000, 1)))
    later_fragment = _frame(ipv4.build(ipv4.IPv4Header(proto=17, frag_offset=3),
                                       udp.build(1234, 5000)))
    program = compile_filter(f)
    assert [run(program, p) > 0 for p in (wanted, other_port, tcp_same_port, later_fragment)] \
        == [True, False, False, False]
    assert run(program, wanted) == bpf.ACCEPT


def test_host_filter_reads_both_directions_and_ip_link() -> None:
    f = parse("host 10.1.2.3", link="ip")
    to = ipv4.build(ipv4.IPv4Header(src="127.0.0.1", dst="10.1.2.3", proto=17))
    back = ipv4.build(ipv4.IPv4Header(src="10.1.2.3", dst="127.0.0.1", proto=17))
    neither = ipv4.build(ipv4.IPv4Header(src="127.0.0.1", dst="127.0.0.2", proto=17))
    v6 = ipv6.build(ipv6.IPv6Header())
    program = compile_filter(f)
    assert [run(program, p) > 0 for p in (to, back, neither, v6)] == [True, True, False, False]


def test_ipv6_protocol_behind_a_fragment_header() -> None:
    frag = ipv6.build(ipv6.IPv6Header(next_header=44), bytes([17, 0, 0, 0, 0, 0, 0, 1])
                      + udp.build(1, 53, b"x"))
    assert run(compile_filter(parse("udp", "ip")), frag) > 0
    # As in tcpdump, a port is looked for right after the fixed header only.
    assert run(compile_filter(parse("udp port 53", "ip")), frag) == 0


def test_program_bytes_layout() -> None:
    program = compile_filter(parse("icmp"))
    code = bpf.program_bytes(program)
    assert len(code) == 8 * len(program)
    assert struct.unpack_from("=HBBI", code, 0) == (bpf.LD_H, 0, 0, 12)
    assert struct.unpack_from("=HBBI", code, len(code) - 8) == (bpf.RET, 0, 0, 0)
    fprog, buffer = bpf.sock_fprog(program)
    assert struct.unpack("HP", fprog)[0] == len(program) and len(buffer) == len(code)


def test_empty_filter_keeps_everything() -> None:
    assert compile_filter(parse("")) == [bpf.Insn(bpf.RET, 0, 0, bpf.ACCEPT)]
    assert matches(parse(""), b"")


@pytest.mark.parametrize(("text", "message"), [
    ("udp port", "filter word 'port' not understood"),
    ("host example.org", "host 'example.org' is not an IP address"),
    ("port 70000", "port '70000': give a number up to 65535"),
    ("icmp port 5", "a port filter needs tcp, udp or no protocol"),
    ("icmp host ::1", "no packet can match"),
    ("vlan 5", "filter word 'vlan' not understood"),
])
def test_bad_filters_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse(text)
    assert "\n" not in str(info.value)


def test_interpreter_drops_on_a_load_past_the_end() -> None:
    program = [bpf.Insn(bpf.LD_W, 0, 0, 0), bpf.Insn(bpf.RET, 0, 0, 7)]
    assert run(program, b"\1\2\3") == 0 and run(program, b"\1\2\3\4") == 7
