"""Evidence from the live system, gathered for errors made with real calls here."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import HAS_IPV6, accept_queue, wait_until

from workbench.core.diagnosis import Diagnosis, FailedCall, diagnose
from workbench.io.evidence import capabilities, gather
from workbench.io.evidence_net import is_local

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0


@pytest.fixture
def sock_dir() -> Iterator[str]:
    """A short directory for Unix socket paths (sun_path is 108 bytes)."""
    path = tempfile.mkdtemp(prefix="wb-ev-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def fails(fn: Any, *args: Any) -> OSError:
    with pytest.raises(OSError) as caught:
        fn(*args)
    return caught.value


def explain(op: str, exc: OSError, address: str, family: str, sock_type: str = "stream",
            **more: Any) -> Diagnosis:
    name = errno.errorcode[exc.errno or 0]
    call = FailedCall(op, name, exc.errno or 0, exc.strerror or "", {"address": address},
                      family, sock_type, **more)
    return diagnose(call, gather(call))


def cause_of(d: Diagnosis) -> str:
    assert d.cause is not None and d.cause.evidence, d.causes
    return d.cause.text


# -- TCP ports ---------------------------------------------------------------------------


def test_econnrefused_on_a_bound_port_says_nothing_listens() -> None:
    with socket.socket() as held, socket.socket() as client:
        held.bind(("127.0.0.1", 0))  # bound, not listening: connecting gets a reset
        port = held.getsockname()[1]
        exc = fails(client.connect, ("127.0.0.1", port))
        assert exc.errno == errno.ECONNREFUSED
        d = explain("connect", exc, f"127.0.0.1:{port}", "inet")
    assert d.fact("tcp.listeners").value == {"port": port, "listeners": [], "queued": {},
                                             "uids": {}}
    assert d.fact("address.local").value["local"] is True
    assert f"nothing listens on port {port}" in cause_of(d)


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback")
def test_econnrefused_with_a_listener_on_the_other_family() -> None:
    with socket.socket(socket.AF_INET6) as server, socket.socket() as client:
        server.bind(("::1", 0))
        server.listen()
        port = server.getsockname()[1]
        exc = fails(client.connect, ("127.0.0.1", port))
        d = explain("connect", exc, f"127.0.0.1:{port}", "inet")
    assert f"[::1]:{port}" in d.fact("tcp.listeners").value["listeners"]
    assert f"on [::1]:{port}, not on 127.0.0.1" in cause_of(d)


def test_eaddrinuse_names_the_listening_holder() -> None:
    with socket.socket() as holder, socket.socket() as second:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        exc = fails(second.bind, ("127.0.0.1", port))
        assert exc.errno == errno.EADDRINUSE
        d = explain("bind", exc, f"127.0.0.1:{port}", "inet")
    assert f"a socket listens on 127.0.0.1:{port}" in cause_of(d)
    assert d.cause is not None and d.cause.evidence == ("conns.holders",)


def test_eaddrinuse_by_a_socket_bound_but_not_listening() -> None:
    with socket.socket() as holder, socket.socket() as second:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        exc = fails(second.bind, ("127.0.0.1", port))
        d = explain("bind", exc, f"127.0.0.1:{port}", "inet")
    assert "bound but not listening" in cause_of(d)


def test_eaddrnotavail_on_an_address_not_here() -> None:
    with socket.socket() as sock:
        exc = fails(sock.bind, ("203.0.113.77", 0))  # TEST-NET-3: on no interface here
        assert exc.errno == errno.EADDRNOTAVAIL
        d = explain("bind", exc, "203.0.113.77:0", "inet")
    assert "203.0.113.77 is not assigned" in cause_of(d)


def test_is_local_knows_loopback_and_wildcards() -> None:
    assert is_local("127.0.0.1") and is_local("127.5.5.5") and is_local("0.0.0.0")
    assert is_local("::1") and is_local("::ffff:127.0.0.1")
    assert is_local("203.0.113.77") is False
    assert is_local("not an address") is None


# -- datagrams ---------------------------------------------------------------------------


def test_eacces_on_broadcast_without_so_broadcast() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        exc = fails(sock.sendto, b"x", ("255.255.255.255", 9))
        assert exc.errno == errno.EACCES
        d = explain("sendto", exc, "255.255.255.255:9", "inet", "dgram")
    assert d.fact("address.broadcast").value["broadcast"] is True
    assert "SO_BROADCAST is not set" in cause_of(d)


def test_emsgsize_over_the_udp_limit() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        data = b"x" * 70000
        exc = fails(sock.sendto, data, ("127.0.0.1", 9))
        assert exc.errno == errno.EMSGSIZE
        call = FailedCall("sendto", "EMSGSIZE", exc.errno, "",
                          {"address": "127.0.0.1:9", "data": data}, "inet", "dgram")
        d = diagnose(call, gather(call))
    assert "70000 bytes" in cause_of(d) and "65507" in cause_of(d)
    assert d.fact("sysctl.wmem_max") is not None


# -- Unix paths --------------------------------------------------------------------------


def test_unix_path_that_is_a_regular_file(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "plain")
    Path(path).write_text("not a socket")
    with socket.socket(socket.AF_UNIX) as client, socket.socket(socket.AF_UNIX) as server:
        refused = fails(client.connect, path)
        assert refused.errno == errno.ECONNREFUSED
        taken = fails(server.bind, path)
        assert taken.errno == errno.EADDRINUSE
    for op, exc in (("connect", refused), ("bind", taken)):
        d = explain(op, exc, f"unix:{path}", "unix")
        assert d.fact("unix.path").value["kind"] == "regular file"
        assert "is a regular file, not a socket" in cause_of(d)


def test_stale_unix_socket_file(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "stale.sock")
    with socket.socket(socket.AF_UNIX) as gone:
        gone.bind(path)  # the file stays after the socket closes
    with socket.socket(socket.AF_UNIX) as client:
        exc = fails(client.connect, path)
    d = explain("connect", exc, f"unix:{path}", "unix")
    assert d.fact("unix.listener").value["bound"] is False
    assert "stale socket file" in cause_of(d)
    assert "stale" in d.meaning


def test_live_unix_listener_holds_its_path(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "live.sock")
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as second:
        server.bind(path)
        server.listen()
        exc = fails(second.bind, path)
        d = explain("bind", exc, f"unix:{path}", "unix")
    assert d.fact("unix.listener").value["listening"] is True
    assert "a live socket listens" in cause_of(d)


def test_enoent_on_a_missing_unix_path(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "no-dir", "x.sock")
    with socket.socket(socket.AF_UNIX) as client:
        exc = fails(client.connect, path)
    assert exc.errno == errno.ENOENT
    d = explain("connect", exc, f"unix:{path}", "unix")
    assert "nothing exists at" in cause_of(d) and "nor its directory" in cause_of(d)


def test_capabilities_decode_cap_eff() -> None:
    bits = (1 << 10) | (1 << 13)
    caps = capabilities(f"Name:\tx\nCapEff:\t{bits:016x}\n")
    assert caps == {"CAP_NET_BIND_SERVICE": True, "CAP_NET_ADMIN": False, "CAP_NET_RAW": True}
    assert capabilities("nothing here") is None


def test_gather_never_raises_and_skips_what_does_not_apply() -> None:
    for call in (FailedCall("connect", "ECONNREFUSED", args={"address": "peer:echo"}),
                 FailedCall("bind", "EADDRINUSE", args={"address": "bad address"}),
                 FailedCall("send", "EPIPE"), FailedCall("bind", "EACCES", family="inet",
                                                         args={"address": "unix:"})):
        facts = gather(call)
        assert "tcp.listeners" not in facts and "unix.path" not in facts


@pytest.mark.skipif(shutil.which("ip") is None, reason="no ip command")
def test_route_and_link_of_a_loopback_destination() -> None:
    call = FailedCall("connect", "ETIMEDOUT", errno.ETIMEDOUT, "",
                      {"address": "127.0.0.1:9"}, "inet", "stream")
    facts = gather(call)
    assert facts["route"].value["dev"] == "lo"
    assert facts["link"].value["mtu"] == int(Path("/sys/class/net/lo/mtu").read_text())
    assert "on lo" in diagnose(call, facts).cause.text  # type: ignore[union-attr]


def test_a_subnet_broadcast_address_is_known_from_ip_addr() -> None:
    from workbench.io.evidence_net import ip_addrs

    found = [a["broadcast"] for a in ip_addrs() or [] if a.get("broadcast")]
    if not found:
        pytest.skip("no interface here has a broadcast address")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        exc = fails(sock.sendto, b"x", (found[0], 9))  # refused before anything is sent
        assert exc.errno == errno.EACCES
        d = explain("sendto", exc, f"{found[0]}:9", "inet", "dgram")
    assert d.fact("address.broadcast").value == {"address": found[0], "broadcast": True}
    assert "SO_BROADCAST is not set" in cause_of(d)


def test_a_new_gatherer_is_one_function_and_one_that_fails_costs_nothing() -> None:
    from workbench.core.diagnosis import Fact
    from workbench.io.evidence import gatherer

    @gatherer("EXTEST")
    def broken(failed: FailedCall) -> Any:
        raise RuntimeError("a gatherer with a bug")

    @gatherer("EXTEST")
    def works(failed: FailedCall) -> Any:
        yield Fact("conns.holders", [], "test", "nothing holds it")

    assert set(gather(FailedCall("bind", "EXTEST"))) == {"conns.holders"}


def test_a_listeners_waiting_connections_are_counted() -> None:
    with socket.socket() as server, socket.socket() as first:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        first.connect(("127.0.0.1", port))  # queued, never accepted
        wait_until(lambda: accept_queue(port) == 1, "the connection in the accept queue")
        call = FailedCall("connect", "ETIMEDOUT", errno.ETIMEDOUT, "",
                          {"address": f"127.0.0.1:{port}"}, "inet", "stream")
        facts = gather(call)
    assert facts["tcp.listeners"].value["queued"] == {f"127.0.0.1:{port}": 1}
    assert "(1 waiting to be accepted)" in facts["tcp.listeners"].text
    assert "1 connection(s) waiting" in diagnose(call, facts).cause.text  # type: ignore[union-attr]


def test_proc_hex_matches_what_the_kernel_writes() -> None:
    from workbench.core.endpoints import parse_endpoint
    from workbench.io.evidence_net import proc_hex

    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client.connect(server.getsockname())
        target = proc_hex(parse_endpoint(f"127.0.0.1:{server.getsockname()[1]}"))
        rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
        assert any(r[2] == target for r in rows)  # the client's row names the server
    assert proc_hex(parse_endpoint("[::1]:80")) == "0" * 24 + "01000000:0050"


def test_gathering_stops_at_its_budget() -> None:
    import threading

    from workbench.core.diagnosis import Fact
    from workbench.io.evidence import gatherer

    ran: list[str] = []
    past = threading.Event()

    @gatherer("EXSLOW")
    def slow(failed: FailedCall) -> Any:
        ran.append("slow")
        past.wait(0.2)  # longer than the budget below: nothing sets the event
        yield Fact("slow.fact", 1, "test", "slow")

    @gatherer("EXSLOW")
    def later(failed: FailedCall) -> Any:
        ran.append("later")
        yield Fact("later.fact", 1, "test", "later")

    facts = gather(FailedCall("bind", "EXSLOW"), budget=0.05)
    assert ran == ["slow"] and set(facts) == {"slow.fact"}
