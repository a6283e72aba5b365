"""Capture filters against tcpdump's: for each filter, the program tcpdump compiles for
the same words (`tcpdump -dd`, over an empty pcap of the link type, so no interface is
needed) is run by the interpreter beside the filter's own program and its Python
predicate, over packets of every kind the words can tell apart; all three agree."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from workbench.core.packets import bpf, ethernet, icmp, ipv4, ipv6, pcap, tcp, udp

TCPDUMP = shutil.which("tcpdump")
pytestmark = pytest.mark.skipif(TCPDUMP is None, reason="needs tcpdump")

INSN = re.compile(r"\{ 0x([0-9a-f]+), (\d+), (\d+), 0x([0-9a-f]+) \},")
HOSTS4, HOSTS6, PORTS = ("127.0.0.1", "10.1.2.3"), ("::1", "fe80::1"), (53, 5000)
# Our words, and tcpdump's for the same packets.
FILTERS = [
    ("udp", "udp"), ("tcp", "tcp"), ("icmp", "icmp"), ("icmpv6", "icmp6"),
    ("proto 47", "ip proto 47 or ip6 proto 47"),
    ("udp port 53", "udp port 53"), ("tcp port 5000", "tcp port 5000"),
    ("port 53", "tcp port 53 or udp port 53"),
    ("host 10.1.2.3", "ip host 10.1.2.3"), ("host fe80::1", "ip6 host fe80::1"),
    ("udp port 53 host 127.0.0.1", "udp port 53 and ip host 127.0.0.1"),
    ("tcp host ::1", "tcp and ip6 host ::1"),
]


def tcpdump_program(tmp_path: Path, link: str, words: str) -> list[bpf.Insn]:
    assert TCPDUMP is not None
    linktype = pcap.LINKTYPE_ETHERNET if link == "ethernet" else pcap.LINKTYPE_RAW
    empty = tmp_path / f"{link}.pcap"
    empty.write_bytes(pcap.write([], linktype))
    out = subprocess.run([TCPDUMP, "-r", str(empty), "-dd", words], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    program = [bpf.Insn(int(c, 16), int(t), int(f), int(k, 16))
               for c, t, f, k in INSN.findall(out)]
    assert program, out
    return program


def packet(rng: random.Random, link: str) -> bytes:
    """A packet of a random kind, sometimes behind an IPv6 fragment header, cut short or
    with a byte changed."""
    v6 = rng.random() < 0.5
    src, dst = (rng.choice(HOSTS6 if v6 else HOSTS4) for _ in range(2))
    sport, dport = rng.choice(PORTS), rng.choice(PORTS)
    proto = rng.choice((6, 17, 58 if v6 else 1, 47))
    body = {6: lambda: tcp.build(sport, dport, src=src, dst=dst),
            17: lambda: udp.build(sport, dport, b"x", src, dst),
            1: lambda: icmp.echo(1, 2), 58: lambda: icmp.echo6(1, 2, b"", False, src, dst),
            47: lambda: b"\0" * 8}[proto]()
    if v6 and rng.random() < 0.3:
        data = ipv6.build(ipv6.IPv6Header(src, dst, 44), bytes([proto, 0, 0, 0, 0, 0, 0, 1])
                          + body)
    elif v6:
        data = ipv6.build(ipv6.IPv6Header(src, dst, proto), body)
    else:
        data = ipv4.build(ipv4.IPv4Header(src, dst, proto, frag_offset=rng.choice((0, 0, 9)),
                                          options=rng.choice((b"", b"\x94\x04\0\0"))), body)
    if link == "ethernet":
        etype = rng.choice((0x86DD if v6 else 0x0800, 0x0806))
        data = ethernet.build("00:00:00:00:00:00", "00:00:00:00:00:00", etype, data)
    if rng.random() < 0.15:
        data = data[: rng.randrange(len(data) + 1)]
    if rng.random() < 0.15 and data:
        at = rng.randrange(len(data))
        data = data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
    return data


@pytest.mark.parametrize("link", bpf.FILTER_LINKS)
@pytest.mark.parametrize(("ours", "theirs"), FILTERS)
def test_filter_decides_as_tcpdump_does(tmp_path: Path, link: str, ours: str,
                                        theirs: str) -> None:
    f = bpf.parse(ours, link)
    reference = tcpdump_program(tmp_path, link, theirs)
    program = bpf.compile_filter(f)
    rng = random.Random(f"{link} {ours}")
    kept = 0
    for _ in range(1500):
        data = packet(rng, link)
        want = bpf.run(reference, data) > 0
        assert (bpf.run(program, data) > 0) is want, (data.hex(), want)
        assert bpf.matches(f, data) is want, (data.hex(), want)
        kept += want
    assert 0 < kept < 1500  # the packets tell the filter's cases apart
