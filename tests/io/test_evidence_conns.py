"""Evidence from the connection table: who holds an address, TIME_WAIT-only holders,
listeners on another address, Unix paths; each made with real sockets here."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from support import HAS_IPV6, bound_port, stop_process, wait_until

from workbench.core.conntable import F_SPORT, F_STATE, KIND_TCP, TIME_WAIT, swap16
from workbench.core.diagnosis import Diagnosis, FailedCall, diagnose
from workbench.io.conns.source import default_source
from workbench.io.evidence import gather

TIMEOUT = 30.0
HOLD = "import socket,sys\ns=socket.socket({family})\ns.bind({address!r})\n{listen}" \
       "print('ready', flush=True)\nsys.stdin.read()\n"


@pytest.fixture
def sock_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="wb-evc-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def holder(address: Any, family: str = "socket.AF_INET", listen: bool = True
           ) -> subprocess.Popen[str]:
    """A child process holding `address` until its stdin closes."""
    code = HOLD.format(family=family, address=address, listen="s.listen()\n" if listen else "")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def explain(op: str, exc: OSError, address: str, family: str, **more: Any) -> Diagnosis:
    name = errno.errorcode[exc.errno or 0]
    call = FailedCall(op, name, exc.errno or 0, exc.strerror or "", {"address": address},
                      family, "stream", **more)
    return diagnose(call, gather(call))


def fails(fn: Any, *args: Any) -> OSError:
    with pytest.raises(OSError) as caught:
        fn(*args)
    return caught.value


def test_eaddrinuse_names_the_holding_process() -> None:
    proc = holder(("127.0.0.1", 0))
    try:
        port = bound_port(proc)
        with socket.socket() as mine:
            exc = fails(mine.bind, ("127.0.0.1", port))
        assert exc.errno == errno.EADDRINUSE
        d = explain("bind", exc, f"127.0.0.1:{port}", "inet")
    finally:
        stop_process(proc)
    held = d.fact("conns.holders").value["sockets"]
    assert [o["pid"] for e in held for o in e["owners"]] == [proc.pid]
    assert d.cause is not None and d.cause.evidence == ("conns.holders",)
    assert f"a socket listens on 127.0.0.1:{port}" in d.cause.text
    assert f"(pid {proc.pid})" in d.cause.text
    assert any("stop python" in f.text and str(proc.pid) in f.text for f in d.fixes)
    assert d.to_json()["evidence"][0]["key"] == "conns.holders"


def test_eaddrinuse_on_a_wildcard_bind_names_the_loopback_holder() -> None:
    proc = holder(("127.0.0.1", 0))
    try:
        port = bound_port(proc)
        with socket.socket() as mine:
            exc = fails(mine.bind, ("0.0.0.0", port))
        d = explain("bind", exc, f"0.0.0.0:{port}", "inet")
    finally:
        stop_process(proc)
    assert d.cause is not None and f"(pid {proc.pid})" in d.cause.text


def test_udp_port_held_by_a_child_is_named() -> None:
    code = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "s.bind(('127.0.0.1',0))\nprint('ready',flush=True)\nsys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        port = bound_port(proc, "udp")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mine:
            exc = fails(mine.bind, ("127.0.0.1", port))
        name = errno.errorcode[exc.errno or 0]
        call = FailedCall("bind", name, exc.errno or 0, "", {"address": f"127.0.0.1:{port}"},
                          "inet", "dgram")
        d = diagnose(call, gather(call))
    finally:
        stop_process(proc)
    assert d.fact("conns.holders").value["transport"] == "udp"
    assert d.cause is not None and d.cause.evidence == ("conns.holders",)
    assert d.cause.text.startswith(f"a UDP socket is bound to 127.0.0.1:{port}: ")
    assert d.cause.text.endswith(f"(pid {proc.pid}) holds it")


def time_wait_address(reuse: bool = True) -> tuple[str, int]:
    """A local address held only by a connection in TIME_WAIT: the client side closes
    first, so it is the side that waits. The client binds its port first (with
    SO_REUSEADDR as a server's sockets have it, unless `reuse` is off), so no other
    connection shares it."""
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, int(reuse))
        client.bind(("127.0.0.1", 0))
        client.connect(server.getsockname())
        local = client.getsockname()
        conn, _ = server.accept()
        with conn:
            client.close()
            conn.settimeout(TIMEOUT)
            assert conn.recv(1) == b""  # the client's FIN came
    source = default_source()
    try:
        def waiting() -> bool:
            return any(r[F_STATE] == TIME_WAIT and swap16(r[F_SPORT]) == local[1]
                       for r in source.fetch((KIND_TCP,)).rows)
        wait_until(waiting, "the client side in TIME_WAIT", TIMEOUT)
    finally:
        source.close()
    return local


def test_eaddrinuse_held_only_by_time_wait_says_so_reuseaddr() -> None:
    local = time_wait_address()
    with socket.socket() as plain:
        exc = fails(plain.bind, local)
    assert exc.errno == errno.EADDRINUSE
    d = explain("bind", exc, f"{local[0]}:{local[1]}", "inet")
    sockets = d.fact("conns.holders").value["sockets"]
    assert sockets and {e["state"] for e in sockets} == {"TIME-WAIT"}
    assert all(e["owners"] == [] for e in sockets)
    assert d.cause is not None and d.cause.evidence == ("conns.holders",)
    assert "TIME_WAIT" in d.cause.text and "SO_REUSEADDR is off" in d.cause.text
    assert d.fixes[0].text.startswith("set SO_REUSEADDR 1 before bind")
    with socket.socket() as reusing:
        reusing.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        reusing.bind(local)  # the fix works
        reusing.listen()


def test_so_reuseaddr_past_time_wait_needs_it_on_both_sides() -> None:
    """Linux lets a SO_REUSEADDR bind past TIME_WAIT only when the socket that left it
    had SO_REUSEADDR too: this one did not, so the bind fails and says why."""
    local = time_wait_address(reuse=False)
    with socket.socket() as reusing:
        reusing.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        exc = fails(reusing.bind, local)
    assert exc.errno == errno.EADDRINUSE
    d = explain("bind", exc, f"{local[0]}:{local[1]}", "inet", options={"SO_REUSEADDR": 1})
    assert d.cause is not None
    assert d.cause.evidence == ("conns.holders", "option.SO_REUSEADDR")
    assert "the socket that left them had SO_REUSEADDR too" in d.cause.text


def test_so_reuseport_against_a_listener_without_it_names_the_holder() -> None:
    proc = holder(("127.0.0.1", 0))  # listens without SO_REUSEPORT
    try:
        port = bound_port(proc)
        with socket.socket() as mine:
            mine.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            exc = fails(mine.bind, ("127.0.0.1", port))
        d = explain("bind", exc, f"127.0.0.1:{port}", "inet", options={"SO_REUSEPORT": 1})
    finally:
        stop_process(proc)
    assert d.cause is not None and "did not (every socket sharing the port" in d.cause.text
    assert f"(pid {proc.pid})" in d.cause.text and "conns.holders" in d.cause.evidence


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback")
def test_econnrefused_names_the_listener_on_the_other_family() -> None:
    with socket.socket(socket.AF_INET6) as server, socket.socket() as held, \
            socket.socket() as client:
        server.bind(("::1", 0))
        server.listen()
        port = server.getsockname()[1]
        held.bind(("127.0.0.1", port))  # so nothing else can listen there meanwhile
        exc = fails(client.connect, ("127.0.0.1", port))
        assert exc.errno == errno.ECONNREFUSED
        d = explain("connect", exc, f"127.0.0.1:{port}", "inet")
    listeners = d.fact("conns.listeners").value["sockets"]
    assert [e["local"] for e in listeners] == [f"[::1]:{port}"]
    assert d.cause is not None and d.cause.evidence == ("conns.listeners",)
    assert f"(pid {os.getpid()}) listens on port {port}" in d.cause.text
    assert f"on [::1]:{port}, not on 127.0.0.1" in d.cause.text
    assert d.fixes[0].text.startswith(f"connect to [::1]:{port}")


def test_econnrefused_with_no_listener_says_so_once() -> None:
    with socket.socket() as held, socket.socket() as client:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        exc = fails(client.connect, ("127.0.0.1", port))
        d = explain("connect", exc, f"127.0.0.1:{port}", "inet")
    assert d.fact("conns.listeners").value["sockets"] == []
    assert d.cause is not None and f"nothing listens on port {port}" in d.cause.text
    assert sum("nothing listens" in c.text for c in d.causes) == 1
    facts = {k: f for k, f in ((f.key, f) for f in d.facts) if k != "tcp.listeners"}
    call = FailedCall("connect", "ECONNREFUSED", 111, "", {"address": f"127.0.0.1:{port}"},
                      "inet", "stream")
    alone = diagnose(call, facts)  # without /proc's view the table's says it
    assert alone.cause is not None and alone.cause.evidence == ("conns.listeners",)
    assert f"nothing listens on port {port}" in alone.cause.text


def test_econnrefused_to_a_remote_address_reads_no_table() -> None:
    call = FailedCall("connect", "ECONNREFUSED", 111, "", {"address": "192.0.2.1:80"},
                      "inet", "stream")
    assert "conns.listeners" not in gather(call)


def test_unix_path_bound_by_a_child_is_named(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "held.sock")
    proc = holder(path, "socket.AF_UNIX")
    try:
        with socket.socket(socket.AF_UNIX) as mine:
            exc = fails(mine.bind, path)
        assert exc.errno == errno.EADDRINUSE
        d = explain("bind", exc, f"unix:{path}", "unix")
    finally:
        stop_process(proc)
    assert d.fact("conns.holders").value["address"] == f"unix:{path}"
    assert d.cause is not None and "conns.holders" in d.cause.evidence
    assert f"a live socket listens on {path}" in d.cause.text
    assert f"(pid {proc.pid})" in d.cause.text


def test_unix_path_bound_without_listen_refuses_and_says_who(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "quiet.sock")
    with socket.socket(socket.AF_UNIX) as bound, socket.socket(socket.AF_UNIX) as client:
        bound.bind(path)
        exc = fails(client.connect, path)
        assert exc.errno == errno.ECONNREFUSED
        d = explain("connect", exc, f"unix:{path}", "unix")
    assert d.cause is not None and d.cause.evidence == ("conns.holders",)
    assert f"(pid {os.getpid()}) has bound unix:{path} but does not listen" in d.cause.text
    assert not any("stale" in c.text for c in d.causes)


# -- the workspace's diagnose: a recorded step, explained off the caller's thread --------


def test_workspace_diagnoses_a_bind_to_a_peers_port() -> None:
    from workbench.io.workspace import Workspace

    ws = Workspace(journal=False)
    try:
        name = ws.start_peer("echo")
        sid = int(ws.call("socket", family="inet", type="stream").result["sock"])  # type: ignore[index]
        step = ws.call("bind", sid, address=f"peer:{name}")
        assert step.error is not None and step.error.name == "EADDRINUSE"
        d = ws.diagnose(step.seq).result(timeout=TIMEOUT)
        missing = ws.diagnose(10_000)
    finally:
        ws.close()
    address = d.fact("conns.holders").value["address"]
    assert address == ws.engine.peers[name]
    assert d.call == "bind" and d.name == "EADDRINUSE"
    assert d.cause is not None and f"(pid {os.getpid()})" in d.cause.text
    with pytest.raises(Exception, match="no step #10000"):
        missing.result(timeout=TIMEOUT)
