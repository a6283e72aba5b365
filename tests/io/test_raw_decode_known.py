"""Decoding packets whose meaning a second implementation has told us.

tcpdump captures real loopback traffic of this test (UDP over IPv4 and IPv6, a TCP
connection with its handshake options, an ICMP echo) to a pcap file; the pcap reader
and the decoders read it, and each field is compared with what `tcpdump -r -nn -v`
prints for the same packet, checksums it recomputes included. scapy (only here, in
tests) builds packets the live traffic does not have: IPv6 extension headers, TCP
SACK blocks, ICMPv6 neighbor discovery, ICMP errors; the decoders read its bytes and
its dissector reads ours."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import HAS_IPV6, stop_process

from workbench.core.packets import icmp, pcap
from workbench.core.packets.decode import decode
from workbench.core.packets.field import Field

TCPDUMP = shutil.which("tcpdump")
DEADLINE = 15.0

needs_tcpdump = pytest.mark.skipif(TCPDUMP is None or os.geteuid() != 0,
                                   reason="needs tcpdump and root to capture on lo")


def start_tcpdump(path: Path, expression: str) -> subprocess.Popen[bytes]:
    """tcpdump writing each packet as it comes (-U), once it says it is listening."""
    assert TCPDUMP is not None
    proc = subprocess.Popen([TCPDUMP, "-i", "lo", "-U", "-n", "-Z", "root", "-w", str(path),
                             expression], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    deadline, said = time.monotonic() + DEADLINE, b""
    while b"listening on" not in said:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([proc.stderr], [], [], left)[0]:
            stop_process(proc)
            pytest.fail(f"tcpdump did not start listening: {said!r}")
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            stop_process(proc)
            pytest.fail(f"tcpdump ended: {said!r}")
        said += chunk
    return proc


def wait_for_record(path: Path, marker: bytes) -> pcap.Pcap:
    """The capture, once a record holding `marker` is in the file (bounded)."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            found = pcap.read(path.read_bytes())
        except (pcap.PcapError, FileNotFoundError):
            found = None  # the header or a record is still being written
        if found and any(marker in r.data for r in found.records):
            return found
        time.sleep(0.01)
    pytest.fail(f"the capture never held {marker!r}")


def traffic(udp_port: int, udp6_port: int | None, tcp_listener: socket.socket,
            ident: int) -> None:
    """What the capture sees: UDP, a TCP exchange, an ICMP echo, then the end marker."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"udp over ipv4", ("127.0.0.1", udp_port))
    if udp6_port is not None:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s6:
            s6.sendto(b"udp over ipv6", ("::1", udp6_port))
    with socket.create_connection(tcp_listener.getsockname(), timeout=DEADLINE) as c:
        conn, _ = tcp_listener.accept()
        with conn:
            c.sendall(b"tcp data")
            assert conn.recv(100) == b"tcp data"
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as raw:
        raw.sendto(icmp.echo(ident, 9, b"echo data"), ("127.0.0.1", 0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"end of capture", ("127.0.0.1", udp_port))


def tcpdump_text(path: Path) -> list[str]:
    """`tcpdump -r` output, one string per packet (continuation lines joined)."""
    assert TCPDUMP is not None
    out = subprocess.run([TCPDUMP, "-r", str(path), "-nn", "-v", "-S", "-tt"],
                         capture_output=True, text=True, timeout=DEADLINE, check=True).stdout
    packets: list[str] = []
    for line in out.splitlines():
        if re.match(r"\d+\.\d{6} ", line):
            packets.append(line)
        elif packets:
            packets[-1] += "\n" + line
    return packets


@pytest.fixture
def capture(tmp_path: Path) -> Iterator[tuple[pcap.Pcap, list[str]]]:
    """A capture of `traffic` on lo, and tcpdump's own reading of it."""
    path = tmp_path / "lo.pcap"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u4, \
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        u4.bind(("127.0.0.1", 0))
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(DEADLINE)
        u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) if HAS_IPV6 else None
        try:
            if u6 is not None:
                u6.bind(("::1", 0))
            ports = [u4.getsockname()[1], listener.getsockname()[1]]
            ports += [u6.getsockname()[1]] if u6 is not None else []
            ident = os.getpid() & 0xFFFF
            expression = " or ".join(f"port {p}" for p in ports)
            expression += f" or (icmp and icmp[4:2] = {ident})"
            proc = start_tcpdump(path, expression)
            try:
                traffic(ports[0], ports[2] if u6 is not None else None, listener, ident)
                wait_for_record(path, b"end of capture")
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)  # tcpdump flushes and closes the file
                    proc.wait(DEADLINE)
                stop_process(proc)
        finally:
            if u6 is not None:
                u6.close()
        yield pcap.read(path.read_bytes()), tcpdump_text(path)


# -- tcpdump's words for the fields ---------------------------------------------------

IPV4 = re.compile(r" IP \(tos 0x([0-9a-f]+), ttl (\d+), id (\d+), offset (\d+), "
                  r"flags \[([^\]]*)\], proto \S+ \((\d+)\), length (\d+)")
IPV6 = re.compile(r" IP6 \((?:class 0x([0-9a-f]+), )?(?:flowlabel 0x([0-9a-f]+), )?"
                  r"hlim (\d+), next-header \S+ \((\d+)\),? payload length: (\d+)\)")
PORTS = re.compile(r"(\S+)\.(\d+) > (\S+)\.(\d+): ")
UDP_SUM = re.compile(r"\[(?:udp sum ok|bad udp cksum 0x([0-9a-f]+) -> 0x([0-9a-f]+)!)\]")
TCP = re.compile(r"Flags \[([^\]]+)\], cksum 0x([0-9a-f]+) \((correct|incorrect -> "
                 r"0x([0-9a-f]+))\), (?:seq (\d+)(?::\d+)?, )?(?:ack (\d+), )?win (\d+), "
                 r"(?:options \[([^\]]*)\], )?length (\d+)")
ECHO = re.compile(r"ICMP echo (request|reply), id (\d+), seq (\d+), length (\d+)")
OURS = re.compile(r"(?:header )?checksum: 0x([0-9a-f]{4}) \((correct|incorrect, should be "
                  r"0x([0-9a-f]{4})|not verified|none)\)")
TCP_FLAG_LETTERS = {"FIN": "F", "SYN": "S", "RST": "R", "PSH": "P", "ACK": ".", "URG": "U",
                    "ECE": "E", "CWR": "W", "AE": "e"}


def get(node: Field, *path: str) -> object:
    found = node.find(*path)
    assert found is not None, f"no {'/'.join(path)} in {node.text}"
    return found.value


def our_checksum(layer: Field) -> tuple[int, int]:
    """(the checksum field, the value it should hold) from the decode's words."""
    text = layer.find("checksum").text  # type: ignore[union-attr]
    m = OURS.fullmatch(text)
    assert m, text
    value = int(m.group(1), 16)
    return value, int(m.group(3), 16) if m.group(3) else value


def option_word(o: Field) -> str:
    """An option as tcpdump writes it."""
    v = o.value
    if o.name == "sack":
        return f"sack {len(v)} " + "".join(f"{{{a}:{b}}}" for a, b in v)
    if o.name == "timestamps":
        return f"TS val {v[0]} ecr {v[1]}"
    words = {"mss": f"mss {v}", "window_scale": f"wscale {v}", "sack_permitted": "sackOK"}
    return words.get(o.name, o.name)


def tcp_options_text(t: Field) -> str:
    opts = t.find("options")
    return ",".join(option_word(o) for o in (opts.children if opts else ()))


def check_ipv4(ip: Field, text: str) -> None:
    m = IPV4.search(text)
    assert m, text
    tos, ttl, ident, offset, flags, proto, length = m.groups()
    assert get(ip, "tos") == int(tos, 16) and get(ip, "ttl") == int(ttl)
    assert get(ip, "ident") == int(ident) and get(ip, "frag_offset") * 8 == int(offset)  # type: ignore
    assert get(ip, "flags", "df") is ("DF" in flags)
    assert (get(ip, "proto"), get(ip, "total_length")) == (int(proto), int(length))
    value, should = our_checksum(ip)
    assert value == should  # tcpdump -v says so when an IPv4 header checksum is wrong
    assert "bad cksum" not in text.splitlines()[0]


def check_ipv6(ip: Field, text: str) -> None:
    m = IPV6.search(text)
    assert m, text
    tclass, flow, hlim, nh, length = m.groups()
    assert get(ip, "traffic_class") == int(tclass or "0", 16)
    assert get(ip, "flow_label") == int(flow or "0", 16)
    assert (get(ip, "hop_limit"), get(ip, "next_header")) == (int(hlim), int(nh))
    assert get(ip, "payload_length") == int(length)


def check_ports(root: Field, layer: Field, text: str) -> None:
    m = PORTS.search(text)
    assert m, text
    src, sport, dst, dport = m.groups()
    ip = root.children[1]
    assert (get(ip, "src"), get(ip, "dst")) == (src, dst)
    assert (get(layer, "sport"), get(layer, "dport")) == (int(sport), int(dport))


def check_udp(root: Field, u: Field, text: str) -> None:
    check_ports(root, u, text)
    assert re.search(r"UDP, length (\d+)", text).group(1) == str(  # type: ignore[union-attr]
        get(u, "length") - 8)  # type: ignore[operator]
    if m := UDP_SUM.search(text):  # tcpdump checks UDP sums over IPv6 (they are mandatory)
        value, should = our_checksum(u)
        if m.group(1):
            assert (value, should) == (int(m.group(1), 16), int(m.group(2), 16))
        else:
            assert value == should


def check_tcp(root: Field, t: Field, text: str) -> None:
    check_ports(root, t, text)
    m = TCP.search(text)
    assert m, text
    flags, cksum, verdict, correct, seq, ack, win, options, length = m.groups()
    ours = {TCP_FLAG_LETTERS[n] for n in TCP_FLAG_LETTERS if get(t, "flags", n.lower())}
    assert ours == set(flags)
    value, should = our_checksum(t)
    # On lo the kernel leaves the sum to an offload that never happens, so tcpdump and
    # the decoder both see a partial sum and both say what it should be.
    assert value == int(cksum, 16) and should == int(correct or cksum, 16)
    assert (verdict == "correct") is (value == should)
    assert get(t, "window") == int(win)
    if seq is not None:  # tcpdump leaves it out of a bare ACK
        assert get(t, "seq") == int(seq)
    if ack is not None:
        assert get(t, "ack") == int(ack)
    assert tcp_options_text(t) == (options or "")
    data = t.find("data")
    assert (data.length if data else 0) == int(length)


@needs_tcpdump
def test_decoded_fields_match_tcpdump(capture: tuple[pcap.Pcap, list[str]]) -> None:
    found, texts = capture
    assert found.link == "ethernet"
    assert len(found.records) == len(texts) >= 10
    seen = set()
    for record, text in zip(found.records, texts, strict=True):
        assert text.startswith(f"{record.seconds:.6f} ")
        root = decode(record.data, found.link)
        assert not root.truncated, text
        ip = root.children[1]
        (check_ipv6 if ip.name == "ipv6" else check_ipv4)(ip, text)
        last = root.children[2]
        seen.add((ip.name, last.name))
        if last.name == "udp":
            check_udp(root, last, text)
        elif last.name == "tcp":
            check_tcp(root, last, text)
        else:
            m = ECHO.search(text)
            assert m and last.name == "icmp", text
            kind, ident, seq, length = m.groups()
            assert get(last, "type") == (8 if kind == "request" else 0)
            assert (get(last, "ident"), get(last, "seq")) == (int(ident), int(seq))
            assert last.length == int(length)
            assert "(correct)" in last.find("checksum").text  # type: ignore[union-attr]
    wanted = {("ipv4", "udp"), ("ipv4", "tcp"), ("ipv4", "icmp")}
    assert seen >= wanted | ({("ipv6", "udp")} if HAS_IPV6 else set())
