"""Raw and packet sockets on loopback, as root: packets built by `workbench.core.packets`
go out through real raw sockets, and what comes back is decoded field by field.

Everything stays on `lo` or in a network namespace a test makes; every loop that reads
is bounded by a deadline, and a packet socket keeps only the packets of this test's
ports (other tests share `lo`)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import HAS_IPV6, stop_process

from workbench.core.packets import bpf, icmp, ipv4, kinds, recipes, udp
from workbench.core.packets.decode import decode
from workbench.core.packets.field import Field
from workbench.core.raw_approval import describe, without_privilege

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
DEADLINE = 10.0
RANGE = Path("/proc/sys/net/ipv4/ping_group_range")

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux raw sockets"),
    pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets need root (CAP_NET_RAW)"),
]


def first(sock: socket.socket, wanted: Callable[[bytes], Field | None],
          what: str, timeout: float = DEADLINE) -> tuple[bytes, Field]:
    """The first packet `wanted` accepts, read within the deadline, and its decode."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            break
        found = wanted(data)
        if found is not None:
            return data, found
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def drain(sock: socket.socket) -> None:
    """Drop what a packet socket queued before its filter was attached (bounded)."""
    sock.setblocking(False)
    try:
        for _ in range(100_000):
            sock.recv(65536)
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)


@pytest.fixture
def lo_capture(udp_pair: tuple[socket.socket, socket.socket]) -> Iterator[socket.socket]:
    """An AF_PACKET SOCK_RAW socket on `lo` (Ethernet frames, both directions) keeping
    only UDP to the receiver's port: other tests' loopback floods cannot fill its queue
    and push out the packets this test waits for."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        s.bind(("lo", ETH_P_ALL))
        f = bpf.parse(f"udp port {udp_pair[1].getsockname()[1]}")
        fprog, _buffer = bpf.sock_fprog(bpf.compile_filter(f))
        s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        drain(s)
        yield s
    finally:
        s.close()


@pytest.fixture
def udp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A sender and a receiver UDP socket on 127.0.0.1, each bound to port 0."""
    a, b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET,
                                                                           socket.SOCK_DGRAM)
    try:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        b.settimeout(DEADLINE)
        yield a, b
    finally:
        a.close()
        b.close()


def udp_to(port: int, link: str = "ethernet") -> Callable[[bytes], Field | None]:
    def wanted(data: bytes) -> Field | None:
        root = decode(data, link)
        u = root.find("udp")
        return root if u is not None and u.find("dport").value == port else None  # type: ignore
    return wanted


def test_icmp_echo_to_loopback_gets_the_reply() -> None:
    ident, seq, payload = os.getpid() & 0xFFFF, 4242, b"workbench echo"
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
        s.sendto(icmp.echo(ident, seq, payload), ("127.0.0.1", 0))

        def reply(data: bytes) -> Field | None:
            root = decode(data, "ip")  # a raw IPv4 socket receives the IP header too
            m = root.find("icmp")
            # The socket also sees its own request go by on lo: only the reply counts.
            if m is None or m.find("type").value != icmp.ECHO_REPLY:  # type: ignore[union-attr]
                return None
            return root if m.find("ident").value == ident else None  # type: ignore[union-attr]

        _, root = first(s, reply, "the echo reply")
    m = root.find("icmp")
    assert m is not None and not root.truncated
    assert (m.find("ident").value, m.find("seq").value) == (ident, seq)  # type: ignore
    assert m.find("data").value == payload  # type: ignore[union-attr]
    assert "(correct)" in m.find("checksum").text  # type: ignore[union-attr]
    assert root.find("ipv4", "src").value == "127.0.0.1"  # type: ignore[union-attr]


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback")
@pytest.mark.parametrize("filtered", [True, False])
def test_icmpv6_echo_with_the_icmpv6_filter(filtered: bool) -> None:
    ident, seq = os.getpid() & 0xFFFF, 606
    with socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) as s:
        if filtered:
            s.setsockopt(socket.IPPROTO_ICMPV6, icmp.ICMP6_FILTER,
                         icmp.icmp6_filter([icmp.ECHO6_REPLY]))
            got = s.getsockopt(socket.IPPROTO_ICMPV6, icmp.ICMP6_FILTER, 32)
            assert icmp.icmp6_filter_passing(got) == [icmp.ECHO6_REPLY]
        # The checksum is left 0: for raw ICMPv6 sockets the kernel always computes it.
        s.sendto(icmp.echo6(ident, seq, b"v6 echo"), ("::1", 0))

        def ours(data: bytes) -> Field | None:
            # No IPv6 header arrives; the addresses let the checksum be verified.
            root = decode(data, "icmpv6", src="::1", dst="::1")
            m = root.find("icmpv6")
            return root if m is not None and m.find("ident").value == ident else None  # type: ignore

        _, root = first(s, ours, "our echo request or reply")
    m = root.find("icmpv6")
    assert m is not None and "(correct)" in m.find("checksum").text  # type: ignore[union-attr]
    assert m.find("seq").value == seq  # type: ignore[union-attr]
    # The socket sees its own request go by first, unless the filter passes replies only.
    wanted = icmp.ECHO6_REPLY if filtered else icmp.ECHO6_REQUEST
    assert m.find("type").value == wanted  # type: ignore[union-attr]


WITHOUT_CAP_NET_RAW = r"""
import errno, socket
kinds = {"raw": (socket.AF_INET, socket.SOCK_RAW, 1),
         "packet": (socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))}
for name, args in kinds.items():
    try:
        socket.socket(*args).close()
        print(name, "created")
    except OSError as e:
        print(name, errno.errorcode.get(e.errno))
"""


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_without_cap_net_raw_the_kernel_says_eperm() -> None:
    proc = subprocess.Popen(["setpriv", "--bounding-set=-net_raw", sys.executable, "-c",
                             WITHOUT_CAP_NET_RAW], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        stop_process(proc)
    assert proc.returncode == 0, err
    assert out.split("\n")[:2] == ["raw EPERM", "packet EPERM"]
    # What the person is told for that EPERM: the capability, and the way around it.
    line = without_privilege("inet", "raw", 1)
    assert "CAP_NET_RAW" in line and "ping socket" in line


def test_packet_socket_on_lo_sees_a_udp_datagram(lo_capture: socket.socket,
                                                 udp_pair: tuple[socket.socket, ...]) -> None:
    sender, receiver = udp_pair
    port = receiver.getsockname()[1]
    sender.sendto(b"seen on lo", ("127.0.0.1", port))
    _, root = first(lo_capture, udp_to(port), "the datagram on lo")
    assert [c.name for c in root.children][:3] == ["ethernet", "ipv4", "udp"]
    u = root.find("udp")
    assert u.find("sport").value == sender.getsockname()[1]  # type: ignore[union-attr]
    assert u.find("data").value == b"seen on lo"  # type: ignore[union-attr]
    assert root.find("ethernet", "ethertype").value == 0x0800  # type: ignore[union-attr]


def test_hand_built_header_with_ip_hdrincl_is_delivered(lo_capture: socket.socket,
                                                        udp_pair: tuple[socket.socket, ...]
                                                        ) -> None:
    sender, receiver = udp_pair  # the sender owns the source port, so nothing else answers
    sport, dport = sender.getsockname()[1], receiver.getsockname()[1]
    header = ipv4.IPv4Header(src="127.0.0.1", dst="127.0.0.1", proto=udp.PROTO, ttl=33,
                             ident=0x1234, df=True, tos=0x10)
    packet = ipv4.build(header, udp.build(sport, dport, b"hand built", header.src, header.dst))
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP) as raw:
        raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        raw.sendto(packet, ("127.0.0.1", 0))
    data, peer = receiver.recvfrom(65536)
    assert (data, peer) == (b"hand built", ("127.0.0.1", sport))
    frame, root = first(lo_capture, udp_to(dport), "the hand-built packet on lo")
    # The kernel sent our header as built: the checksum and lengths we computed are the
    # ones it would have filled in.
    ip = root.find("ipv4")
    assert ip is not None
    assert frame[ip.offset :] == packet
    assert (ip.find("ttl").value, ip.find("ident").value) == (33, 0x1234)  # type: ignore


@pytest.mark.parametrize(("kind", "link"), [(socket.SOCK_RAW, "ethernet"),
                                           (socket.SOCK_DGRAM, "ip")])
def test_attached_bpf_program_keeps_only_matching_packets(
        kind: int, link: str, udp_pair: tuple[socket.socket, ...]) -> None:
    sender, receiver = udp_pair
    port = receiver.getsockname()[1]
    with socket.socket(socket.AF_PACKET, kind, socket.htons(ETH_P_ALL)) as capture, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        capture.bind(("lo", ETH_P_ALL))
        other.bind(("127.0.0.1", 0))
        other.settimeout(DEADLINE)
        f = bpf.parse(f"udp port {port}", link)
        fprog, buffer = bpf.sock_fprog(bpf.compile_filter(f))
        capture.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        del buffer  # the kernel copied the program
        drain(capture)
        # The non-matching datagram goes first: a socket seeing it first has no filter.
        sender.sendto(b"not this one", other.getsockname())
        assert other.recv(100) == b"not this one"
        sender.sendto(b"this one", ("127.0.0.1", port))
        ports = {port, other.getsockname()[1]}

        def to_ours(data: bytes) -> Field | None:
            # Only another test's packet racing the attach could be anything else.
            u = decode(data, link).find("udp")
            return u if u is not None and u.find("dport").value in ports else None  # type: ignore

        packet, u = first(capture, to_ours, "a datagram to this test's ports")
    assert bpf.matches(f, packet)
    assert u.find("dport").value == port  # type: ignore[union-attr]
    assert u.find("data").value == b"this one"  # type: ignore[union-attr]


# Run in a network namespace of its own (`unshare -n`): loopback comes up, ping sockets
# are refused while ping_group_range is empty ("1 0"), then allowed for group 0.
PING_IN_NAMESPACE = r"""
import errno, json, socket, subprocess, sys
from workbench.core.packets import icmp
from workbench.core.packets.decode import decode
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
RANGE = "/proc/sys/net/ipv4/ping_group_range"
out = {"before": open(RANGE).read().split()}
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP).close()
    out["refused"] = None
except OSError as e:
    out["refused"] = errno.errorcode.get(e.errno)
with open(RANGE, "w") as f:
    f.write("0 0")
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP) as s:
    s.settimeout(10)
    s.sendto(icmp.echo(0, 77, b"ping socket"), ("127.0.0.1", 0))
    data = s.recv(2048)
    root = decode(data, "icmp")
    m = root.find("icmp")
    out.update(type=m.find("type").value, seq=m.find("seq").value,
               ident=m.find("ident").value, port=s.getsockname()[1],
               payload=m.find("data").value.decode(), truncated=root.truncated)
print(json.dumps(out))
"""


@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None,
                    reason="needs unshare (util-linux) and ip (iproute2)")
def test_ping_socket_where_ping_group_range_allows_it() -> None:
    global_range = RANGE.read_text()
    proc = subprocess.Popen(["unshare", "-n", sys.executable, "-c", PING_IN_NAMESPACE],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        stop_process(proc)
    if proc.returncode and "unshare" in err and "Operation not permitted" in err:
        pytest.skip("cannot make a network namespace here")
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert result["before"] == ["1", "0"]  # a new namespace starts with ping sockets off
    assert result["refused"] == "EACCES"  # for root too: the approval's words say so
    assert "root is no exception" in describe("inet", "dgram", 1).privilege  # type: ignore
    # A ping socket gets the echo reply alone, without the IP header; the kernel puts
    # the socket's "port" in the identifier.
    assert (result["type"], result["seq"], result["payload"]) == (0, 77, "ping socket")
    assert result["ident"] == result["port"] and not result["truncated"]
    assert RANGE.read_text() == global_range


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback")
def test_ipv6_frame_built_here_sent_on_lo_reaches_a_udp_socket() -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sender, \
            socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as receiver:
        sender.bind(("::1", 0))  # owns the source port: nothing answers it
        receiver.bind(("::1", 0))
        receiver.settimeout(DEADLINE)
        sport, dport = sender.getsockname()[1], receiver.getsockname()[1]
        frame = recipes.build({"ethernet": {"dst": "00:00:00:00:00:00", "payload": {"ipv6": {
            "hop_limit": 3, "payload": {"udp": {"sport": sport, "dport": dport,
                                                "payload": "from a packet socket"}}}}}})
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)) as s:
            s.bind(("lo", ETH_P_ALL))
            s.send(frame)
        # The kernel checked the UDP checksum (mandatory over IPv6) on the way in.
        data, peer = receiver.recvfrom(100)
    assert (data, peer[:2]) == (b"from a packet socket", ("::1", sport))


# A frame put on lo from outside the stack is routed like one from the wire: 127/8 is a
# martian there unless route_localnet allows it, and a local source address is refused
# unless accept_local does. Both are set only in a namespace the test makes.
FRAME_IN_NAMESPACE = r"""
import socket, subprocess
from workbench.core.packets import recipes
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
for name in ("route_localnet", "accept_local"):
    with open(f"/proc/sys/net/ipv4/conf/lo/{name}", "w") as f:
        f.write("1")
a, b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET,
                                                                       socket.SOCK_DGRAM)
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0)); b.settimeout(10)
frame = recipes.build({"ethernet": {"dst": "00:00:00:00:00:00", "payload": {"ipv4": {
    "payload": {"udp": {"sport": a.getsockname()[1], "dport": b.getsockname()[1],
                        "payload": "ipv4 frame"}}}}}})
with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)) as s:
    s.bind(("lo", 3))
    s.send(frame)
data, peer = b.recvfrom(100)
print(data.decode(), peer[1] == a.getsockname()[1])
"""


@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None,
                    reason="needs unshare (util-linux) and ip (iproute2)")
def test_ipv4_frame_built_here_reaches_a_udp_socket_in_a_namespace() -> None:
    proc = subprocess.Popen(["unshare", "-n", sys.executable, "-c", FRAME_IN_NAMESPACE],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        stop_process(proc)
    if proc.returncode and "unshare" in err and "Operation not permitted" in err:
        pytest.skip("cannot make a network namespace here")
    assert proc.returncode == 0, err
    assert out.split() == ["ipv4", "frame", "True"]


@pytest.mark.parametrize("kind", [("inet", "raw", "icmp"), ("inet", "raw", "udp"),
                                  ("inet", "raw", "raw"), ("inet6", "raw", "icmpv6"),
                                  ("inet6", "raw", 17), ("packet", "raw", "all"),
                                  ("packet", "dgram", "ipv4"), ("packet", "raw", 0)])
def test_every_kind_checked_here_is_one_the_kernel_creates(kind: tuple) -> None:
    if kind[0] == "inet6" and not HAS_IPV6:
        pytest.skip("no IPv6")
    with socket.socket(*kinds.socket_args(*kind)) as s:
        assert s.type == socket.SOCK_RAW or kind[1] == "dgram"
