"""The engine against real sockets: built-in peers, raw Python sockets, loopback only."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Iterator

import pytest
from support import HAS_IPV6, Recorder, accept_queue, ok, tcp_connection, wait_until

from workbench.core.errors import InputError
from workbench.core.session import Session
from workbench.core.steps import Step
from workbench.io.capture import IN, OUT, ByteLog
from workbench.io.engine import CallStarted, Engine, SocketChanged, StepDone
from workbench.io.peers import Peer, format_address

TIMEOUT = 5.0


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def engine(recorder: Recorder) -> Iterator[Engine]:
    eng = Engine(listener=recorder)
    try:
        yield eng
    finally:
        eng.shutdown()
    wait_until(lambda: not [t for t in threading.enumerate() if t.name.startswith("socket-")],
               "the engine's socket threads to end", 3.0)


@pytest.fixture
def sock_dir() -> Iterator[str]:
    """A short directory for Unix socket paths (sun_path is 108 bytes)."""
    path = tempfile.mkdtemp(prefix="wb-eng-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def addr_text(sock: socket.socket) -> str:
    return format_address(sock.getsockname())


def steps_of(engine: Engine, sid: int, op: str | None = None, auto: bool | None = None
             ) -> list[Step]:
    return [s for s in list(engine.session.steps)
            if s.sock == sid and (op is None or s.op == op) and (auto is None or s.auto == auto)]


def received(engine: Engine, sid: int) -> bytes:
    return engine.capture(sid).stream(IN)


def new_socket(engine: Engine, family: str = "inet", type_: str = "stream", **extra: object
               ) -> int:
    step = engine.call("socket", family=family, type=type_, **extra)
    assert step.ok, step.error
    return int(step.result["sock"])  # type: ignore[index]


def barrier(engine: Engine, sid: int) -> None:
    """A call on the socket's actor: it is recorded only after whatever that actor did
    before it (auto-receive, auto-accept, earlier calls), so absence can be checked after."""
    ok(engine.call("getsockopt", sid, option="SO_TYPE", within=TIMEOUT))


def queued_bytes(engine: Engine, sid: int, peer: str) -> int:
    """Bytes waiting unread in the engine socket's kernel receive queue."""
    kernel = tcp_connection(engine.socket_info(sid).local, peer)
    return kernel.rx_queue if kernel is not None else -1


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        chunk = sock.recv(size - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


BINARY = bytes(range(256)) + b"\x00\xff\x00\xff"


# -- exchanges with the built-in peers ---------------------------------------------------


def test_tcp_echo_exchange(engine: Engine, recorder: Recorder) -> None:
    with Peer("echo", "tcp", ("127.0.0.1", 0)) as peer:
        sid = new_socket(engine)
        connect = ok(engine.call("connect", sid, address=format_address(peer.address)))
        assert connect.result and connect.result["peer"] == format_address(peer.address)
        assert ok(engine.call("send", sid, data=b"hello\r\n")).result == {"sent": 7}
        wait_until(lambda: received(engine, sid) == b"hello\r\n", "the echo")
        assert ok(engine.call("send", sid, data=BINARY)).result == {"sent": len(BINARY)}
        wait_until(lambda: len(received(engine, sid)) == 7 + len(BINARY), "the binary echo")
        assert received(engine, sid) == b"hello\r\n" + BINARY
        ok(engine.call("shutdown", sid, how="wr"))
        wait_until(lambda: steps_of(engine, sid, "recv", auto=True)[-1].result.get("eof"),
                   "the peer's EOF")
    recvs = steps_of(engine, sid, "recv", auto=True)
    assert all(s.ok for s in recvs)
    assert b"".join(s.data for s in recvs) == b"hello\r\n" + BINARY
    assert [s.result["at"] for s in recvs] == [0, *list(
        __import__("itertools").accumulate(len(s.data) for s in recvs[:-1]))]
    info = engine.socket_info(sid)
    assert (info.state, info.bytes_in, info.bytes_out) == ("shut", 7 + len(BINARY),
                                                          7 + len(BINARY))
    ok(engine.call("close", sid))
    done = [e.step for e in recorder.of(StepDone)]
    assert done == engine.session.steps  # the listener saw every step, in order
    assert [s.seq for s in engine.session.steps] == list(range(len(engine.session.steps)))


def test_tcp_echo_of_one_mebibyte_in_one_send(engine: Engine) -> None:
    blob = os.urandom(1 << 20)
    with Peer("echo", "tcp", ("127.0.0.1", 0)) as peer:
        sid = new_socket(engine)
        ok(engine.call("connect", sid, address=format_address(peer.address)))
        # The send waits for room while auto-receive drains the echo: no deadlock.
        assert ok(engine.call("send", sid, data=blob)).result == {"sent": len(blob)}
        wait_until(lambda: engine.capture(sid).totals[IN] == len(blob), "1 MiB back")
    assert received(engine, sid) == blob
    assert engine.capture(sid).stream(OUT) == blob


def test_udp_exchange_keeps_datagrams_and_peers(engine: Engine) -> None:
    with Peer("echo", "udp", ("127.0.0.1", 0)) as peer:
        where = format_address(peer.address)
        sid = new_socket(engine, type_="dgram")
        bound = ok(engine.call("bind", sid, address="127.0.0.1:0")).result
        assert bound and bound["local"].startswith("127.0.0.1:") and bound["local"] != "127.0.0.1:0"
        grams = [b"one", b"\x00\xff\x00", b"", b"x" * 1400]
        for gram in grams:
            assert ok(engine.call("sendto", sid, data=gram, address=where)).result == {
                "sent": len(gram)}
        wait_until(lambda: len(steps_of(engine, sid, "recvfrom", auto=True)) == len(grams),
                   "four datagrams back")
    got = steps_of(engine, sid, "recvfrom", auto=True)
    assert [s.data for s in got] == grams
    assert {s.result["peer"] for s in got} == {where}
    chunks = engine.capture(sid).chunks(IN)
    assert [c.size for c in chunks] == [len(g) for g in grams]
    assert [c.offset for c in chunks] == [0, 3, 6, 6]
    assert {c.peer for c in chunks} == {where}


def test_connected_udp_send(engine: Engine) -> None:
    with Peer("echo", "udp", ("127.0.0.1", 0)) as peer:
        sid = new_socket(engine, type_="dgram")
        ok(engine.call("connect", sid, address=format_address(peer.address)))
        assert engine.socket_info(sid).state == "connected"
        ok(engine.call("send", sid, data=b"ping"))
        wait_until(lambda: steps_of(engine, sid, "recvfrom", auto=True), "the reply")
    assert steps_of(engine, sid, "recvfrom", auto=True)[0].data == b"ping"


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback here")
def test_tcp6_echo(engine: Engine) -> None:
    with Peer("echo", "tcp", ("::1", 0, 0, 0)) as peer:
        sid = new_socket(engine, family="inet6")
        step = ok(engine.call("connect", sid, address=format_address(peer.address)))
        assert step.result and step.result["local"].startswith("[::1]:")
        ok(engine.call("send", sid, data=BINARY))
        wait_until(lambda: received(engine, sid) == BINARY, "the echo over IPv6")


def test_unix_stream_echo(engine: Engine, sock_dir: str) -> None:
    path = os.path.join(sock_dir, "echo.sock")
    with Peer("echo", "unix-stream", path):
        sid = new_socket(engine, family="unix")
        step = ok(engine.call("connect", sid, address=f"unix:{path}"))
        assert step.result and step.result["peer"] == f"unix:{path}"
        ok(engine.call("send", sid, data=BINARY))
        wait_until(lambda: received(engine, sid) == BINARY, "the echo over a unix stream")


def test_unix_dgram_echo_needs_a_bound_client(engine: Engine, sock_dir: str) -> None:
    path = os.path.join(sock_dir, "echo.sock")
    mine = os.path.join(sock_dir, "me.sock")
    with Peer("echo", "unix-dgram", path):
        sid = new_socket(engine, family="unix", type_="dgram")
        assert ok(engine.call("bind", sid, address=f"unix:{mine}")).result == {
            "local": f"unix:{mine}"}
        for gram in (b"first", b"\x00second\xff"):
            ok(engine.call("sendto", sid, data=gram, address=f"unix:{path}"))
        wait_until(lambda: len(steps_of(engine, sid, "recvfrom", auto=True)) == 2, "2 replies")
    got = steps_of(engine, sid, "recvfrom", auto=True)
    assert [(s.data, s.result["peer"]) for s in got] == [
        (b"first", f"unix:{path}"), (b"\x00second\xff", f"unix:{path}")]


def test_unix_autobind_gets_an_abstract_name(engine: Engine) -> None:
    sid = new_socket(engine, family="unix", type_="dgram")
    local = ok(engine.call("bind", sid, address="unix:")).result["local"]  # type: ignore[index]
    assert local.startswith("unix:@") and len(local) > len("unix:@")


def test_unix_seqpacket_keeps_message_boundaries(engine: Engine, sock_dir: str) -> None:
    path = os.path.join(sock_dir, "seq.sock")
    with Peer("echo", "unix-seqpacket", path):
        sid = new_socket(engine, family="unix", type_="seqpacket", auto=False)
        ok(engine.call("connect", sid, address=f"unix:{path}"))
        ok(engine.call("send", sid, data=b"abc"))
        ok(engine.call("send", sid, data=b"\x00\xff"))
        first = ok(engine.call("recv", sid, size=100))
        second = ok(engine.call("recv", sid, size=100))
    assert (first.data, second.data) == (b"abc", b"\x00\xff")
    assert (first.result["at"], second.result["at"]) == (0, 3)  # type: ignore[index]


def test_auto_receive_keeps_seqpacket_messages_apart(engine: Engine) -> None:
    a, b = ok(engine.call("socketpair", family="unix", type="seqpacket", auto=False)
              ).result["socks"]  # type: ignore[index]
    messages = [b"one", b"\x00two\xff", b"three"]
    for message in messages:
        ok(engine.call("send", b, data=message))
    ok(engine.call("set_auto", a, auto=True))  # all three are queued: drain them at once
    wait_until(lambda: len(steps_of(engine, a, "recv")) == 3, "three auto recvs")
    assert [s.data for s in steps_of(engine, a, "recv")] == messages
    assert [c.size for c in engine.capture(a).chunks(IN)] == [3, 5, 5]


def test_auto_receive_of_a_unix_datagram_above_64_kib(engine: Engine) -> None:
    a, b = ok(engine.call("socketpair", family="unix", type="dgram")).result["socks"]  # type: ignore[index]
    big = bytes(range(256)) * 400  # 102,400 bytes in one datagram
    assert ok(engine.call("send", b, data=big)).result == {"sent": len(big)}
    ok(engine.call("send", b, data=b""))
    wait_until(lambda: len(steps_of(engine, a, "recvfrom")) == 2, "both datagrams")
    assert [s.data for s in steps_of(engine, a, "recvfrom")] == [big, b""]


def test_hostnames_are_resolved_and_the_resolution_recorded(
    engine: Engine, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    sid = new_socket(engine)
    step = ok(engine.call("connect", sid, address=f"localhost:{port}"))
    assert step.result is not None and step.result["resolved"] == "localhost -> 127.0.0.1"
    assert step.result["peer"] == f"127.0.0.1:{port}"


def test_socketpair_both_ends(engine: Engine) -> None:
    step = ok(engine.call("socketpair", family="unix", type="stream"))
    a, b = step.result["socks"]  # type: ignore[index]
    assert engine.socket_info(a).state == engine.socket_info(b).state == "connected"
    ok(engine.call("send", a, data=b"\x00to b\xff"))
    ok(engine.call("send", b, data=b"to a"))
    wait_until(lambda: received(engine, b) == b"\x00to b\xff" and received(engine, a) == b"to a",
               "both directions")
    ok(engine.call("close", a))
    wait_until(lambda: any(s.result and s.result.get("eof") for s in steps_of(engine, b, "recv")),
               "EOF on the other end")
    assert engine.socket_info(b).state == "peer-closed"


# -- listeners: auto-accept and manual accept --------------------------------------------


def test_auto_accept_records_children_with_their_parent(engine: Engine) -> None:
    srv = new_socket(engine)
    ok(engine.call("setsockopt", srv, option="SO_REUSEADDR", value=1))
    ok(engine.call("bind", srv, address="127.0.0.1:0"))
    local = ok(engine.call("listen", srv, backlog=4)).result["local"]  # type: ignore[index]
    host, port = local.rsplit(":", 1)
    clients = [socket.create_connection((host, int(port)), timeout=TIMEOUT) for _ in range(2)]
    try:
        wait_until(lambda: len(steps_of(engine, srv, "accept")) == 2, "two auto accepts")
        accepts = steps_of(engine, srv, "accept")
        assert all(s.auto and s.ok for s in accepts)
        children = [s.result["sock"] for s in accepts]
        assert {s.result["peer"] for s in accepts} == {
            format_address(c.getsockname()) for c in clients}
        for child in children:
            info = engine.socket_info(child)
            assert (info.parent, info.state, info.auto) == (srv, "connected", True)
        by_peer = {s.result["peer"]: s.result["sock"] for s in accepts}
        for n, client in enumerate(clients):
            client.sendall(b"from client %d\x00" % n)
        for n, client in enumerate(clients):
            child = by_peer[format_address(client.getsockname())]
            wait_until(lambda c=child, n=n: received(engine, c) == b"from client %d\x00" % n,
                       "each child's bytes")
            ok(engine.call("send", child, data=b"\xffreply %d" % n))
            assert recv_exactly(client, 8) == b"\xffreply %d" % n
    finally:
        for client in clients:
            client.close()
    for child in children:
        wait_until(lambda c=child: engine.socket_info(c).state == "peer-closed", "client EOF")


def test_manual_listener_accepts_only_when_asked(engine: Engine) -> None:
    srv = new_socket(engine, auto=False)
    assert engine.socket_info(srv).auto is False
    local = ok(engine.call("listen", srv, backlog=4)).result["local"]  # type: ignore[index]
    host, port = local.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as client:
        client.sendall(b"queued")
        wait_until(lambda: accept_queue(int(port)) == 1 or steps_of(engine, srv, "accept"),
                   "the connection to wait in the accept queue")
        barrier(engine, srv)
        assert steps_of(engine, srv, "accept") == []  # nobody asked yet
        assert accept_queue(int(port)) == 1  # still waiting in the kernel
        step = ok(engine.call("accept", srv))
        assert not step.auto
        child = step.result["sock"]  # type: ignore[index]
        assert engine.socket_info(child).parent == srv
        assert engine.socket_info(child).auto is False  # children inherit manual mode
        mine = format_address(client.getsockname())
        wait_until(lambda: queued_bytes(engine, child, mine) == 6
                   or steps_of(engine, child, "recv"), "the bytes queued on the child")
        barrier(engine, child)
        assert steps_of(engine, child, "recv") == []
        assert queued_bytes(engine, child, mine) == 6  # nobody read them
        got = ok(engine.call("recv", child, size=3))
        assert (got.data, got.auto, got.result["at"]) == (b"que", False, 0)  # type: ignore[index]
        got = ok(engine.call("recv", child, size=100))
        assert (got.data, got.result["at"]) == (b"ued", 3)  # type: ignore[index]
        # Switching auto on drains what arrives from then on.
        ok(engine.call("set_auto", child, auto=True))
        client.sendall(b"later")
        wait_until(lambda: steps_of(engine, child, "recv", auto=True), "an auto recv")
        assert steps_of(engine, child, "recv", auto=True)[0].data == b"later"
    assert received(engine, child) == b"queuedlater"


def test_set_auto_off_leaves_bytes_for_an_explicit_recv(engine: Engine, listener: socket.socket
                                                        ) -> None:
    sid = new_socket(engine)
    ok(engine.call("set_auto", sid, auto=False))
    ok(engine.call("connect", sid, address=addr_text(listener)))
    conn, _ = listener.accept()
    with conn:
        conn.sendall(b"\x00\xffwaiting")
        peer = addr_text(listener)
        wait_until(lambda: queued_bytes(engine, sid, peer) == 9 or steps_of(engine, sid, "recv"),
                   "the bytes queued on the socket")
        barrier(engine, sid)
        assert steps_of(engine, sid, "recv") == []
        assert queued_bytes(engine, sid, peer) == 9  # nobody read them
        assert engine.capture(sid).totals[IN] == 0
        assert ok(engine.call("recv", sid, size=64, flags=["MSG_PEEK"])).result == {
            "data": b"\x00\xffwaiting", "peek": True}
        assert engine.capture(sid).totals[IN] == 0  # a peek leaves the bytes queued
        assert ok(engine.call("recv", sid, size=64)).data == b"\x00\xffwaiting"


# -- blocking mode is real ----------------------------------------------------------------


def test_nonblocking_recv_and_accept_record_eagain(engine: Engine, listener: socket.socket
                                                   ) -> None:
    sid = new_socket(engine, auto=False)
    ok(engine.call("connect", sid, address=addr_text(listener)))
    ok(engine.call("set_blocking", sid, blocking=False))
    assert engine.socket_info(sid).blocking is False
    step = engine.call("recv", sid)
    assert step.error is not None and step.error.name == "EAGAIN"
    assert step.error.number == errno.EAGAIN and step.result is None
    srv = new_socket(engine, auto=False)
    ok(engine.call("listen", srv))
    ok(engine.call("set_blocking", srv, blocking=False))
    step = engine.call("accept", srv)
    assert step.error is not None and step.error.name == "EAGAIN"


def test_nonblocking_connect_records_einprogress_then_so_error(
    engine: Engine, listener: socket.socket
) -> None:
    sid = new_socket(engine)
    ok(engine.call("set_blocking", sid, blocking=False))
    step = engine.call("connect", sid, address=addr_text(listener))
    assert step.error is not None and step.error.name == "EINPROGRESS"
    wait_until(lambda: steps_of(engine, sid, "getsockopt"), "the SO_ERROR step")
    done = steps_of(engine, sid, "getsockopt")[0]
    assert done.auto and done.args == {"option": "SO_ERROR"}
    assert done.result == {"value": 0, "peer": addr_text(listener)}
    assert engine.socket_info(sid).state == "connected"
    assert done.seq > step.seq


def test_nonblocking_connect_to_a_closed_port(engine: Engine) -> None:
    closed = new_socket(engine)
    ok(engine.call("bind", closed, address="127.0.0.1:0"))  # bound, not listening: refused
    sid = new_socket(engine)
    ok(engine.call("set_blocking", sid, blocking=False))
    step = engine.call("connect", sid, address=f"sock:{closed}")
    assert step.error is not None and step.error.name == "EINPROGRESS"
    wait_until(lambda: steps_of(engine, sid, "getsockopt"), "the SO_ERROR step")
    done = steps_of(engine, sid, "getsockopt")[0]
    assert done.result == {"value": errno.ECONNREFUSED, "errno": "ECONNREFUSED"}
    assert engine.socket_info(sid).state == "failed"
    blocking = new_socket(engine)
    step = engine.call("connect", blocking, address=f"sock:{closed}")
    assert step.error is not None and step.error.name == "ECONNREFUSED"


def test_blocking_recv_is_pending_and_cancellable(
    engine: Engine, recorder: Recorder, listener: socket.socket
) -> None:
    sid = new_socket(engine, auto=False)
    ok(engine.call("connect", sid, address=addr_text(listener)))
    conn, _ = listener.accept()
    with conn:
        started = time.monotonic()
        call = engine.submit("recv", sid, size=10)
        assert time.monotonic() - started < 0.5  # the caller is not blocked
        wait_until(lambda: call in engine.pending(), "the recv to show as pending")
        assert engine.socket_info(sid).pending == "recv"
        assert any(e.call is call for e in recorder.of(CallStarted))
        assert call.step is None
        engine.cancel(call)
        step = call.wait(TIMEOUT)
        assert step is not None and step.error is not None and step.error.name == "EINTR"
        assert engine.pending() == [] and engine.socket_info(sid).pending == ""
        # The socket is still fine: the next recv gets what the peer sends.
        call = engine.submit("recv", sid, size=10)
        wait_until(lambda: call in engine.pending(), "a second pending recv")
        conn.sendall(b"\x00late\xff")
        step = call.wait(TIMEOUT)
        assert step is not None and step.ok and step.data == b"\x00late\xff"


def test_calls_queue_behind_a_pending_one_in_order(engine: Engine, listener: socket.socket
                                                   ) -> None:
    sid = new_socket(engine, auto=False)
    ok(engine.call("connect", sid, address=addr_text(listener)))
    conn, _ = listener.accept()
    with conn:
        first = engine.submit("recv", sid, size=4)
        second = engine.submit("getsockopt", sid, option="SO_TYPE")
        wait_until(lambda: first in engine.pending(), "the recv to wait for bytes")
        assert first.step is None and second.step is None
        sent_at = len(engine.session.steps)  # neither may be recorded before the bytes are sent
        conn.sendall(b"data")
        assert first.wait(TIMEOUT) is not None and second.wait(TIMEOUT) is not None
        assert sent_at <= first.step.seq < second.step.seq  # type: ignore[union-attr]
        assert second.step.result == {"value": socket.SOCK_STREAM}  # type: ignore[union-attr]


@pytest.fixture
def full_listener() -> Iterator[socket.socket]:
    """A listener whose accept queue is full, so new SYNs are dropped and connect blocks."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    fillers: list[socket.socket] = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(srv.getsockname())
            fillers.append(filler)
        # Full once the kernel holds one connection for accept() (backlog 0): SYNs are dropped.
        wait_until(lambda: (accept_queue(srv.getsockname()[1]) or 0) >= 1,
                   "the accept queue to fill")
        yield srv
    finally:
        for filler in fillers:
            filler.close()
        srv.close()


def test_blocking_connect_that_blocks_is_cancellable(
    engine: Engine, recorder: Recorder, full_listener: socket.socket
) -> None:
    sid = new_socket(engine)
    local = ok(engine.call("bind", sid, address="127.0.0.1:0")).result["local"]  # type: ignore[index]
    call = engine.submit("connect", sid, address=addr_text(full_listener))
    wait_until(lambda: any(e.call is call for e in recorder.of(CallStarted)), "CallStarted")
    seen = time.monotonic()

    def kernel_state() -> str:
        kernel = tcp_connection(local, full_listener.getsockname())
        return kernel.state if kernel is not None else "not listed"

    # The SYN is out; the listener's queue is full, so the kernel drops it unanswered.
    wait_until(lambda: kernel_state() != "not listed", "the SYN to be sent")
    assert kernel_state() == "SYN_SENT"
    assert (accept_queue(full_listener.getsockname()[1]) or 0) >= 1
    assert call.step is None, "the connect should still be waiting for its SYN-ACK"
    assert engine.socket_info(sid).pending == "connect"
    assert call in engine.pending()
    blocked = time.monotonic() - seen
    engine.cancel(call)
    step = call.wait(TIMEOUT)
    assert step is not None and step.error is not None and step.error.name == "EINTR"
    assert step.dur >= blocked - 1e-6  # the step covers all the time it was blocked
    assert engine.socket_info(sid).pending == ""
    assert call not in engine.pending()


def test_close_cancels_a_pending_call(engine: Engine, listener: socket.socket) -> None:
    sid = new_socket(engine, auto=False)
    ok(engine.call("connect", sid, address=addr_text(listener)))
    call = engine.submit("recv", sid)
    wait_until(lambda: call in engine.pending(), "the pending recv")
    ok(engine.call("close", sid))
    assert call.step is not None and call.step.error is not None
    assert call.step.error.name == "EINTR"
    assert [s.op for s in steps_of(engine, sid)][-2:] == ["recv", "close"]


# -- the peer going away: recorded, never raised ------------------------------------------


def test_peer_eof_is_a_recorded_step(engine: Engine, listener: socket.socket) -> None:
    sid = new_socket(engine)
    ok(engine.call("connect", sid, address=addr_text(listener)))
    conn, _ = listener.accept()
    conn.sendall(b"bye")
    conn.close()
    wait_until(lambda: engine.socket_info(sid).state == "peer-closed", "peer-closed")
    recvs = steps_of(engine, sid, "recv", auto=True)
    assert b"".join(s.data for s in recvs) == b"bye"
    last = recvs[-1]
    assert last.result is not None and last.data == b""
    assert (last.result["at"], last.result["eof"]) == (3, True)


def test_peer_reset_is_a_recorded_econnreset(engine: Engine, listener: socket.socket) -> None:
    sid = new_socket(engine)
    ok(engine.call("connect", sid, address=addr_text(listener)))
    conn, _ = listener.accept()
    conn.sendall(b"\x00data before the reset\xff")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # linger 0: RST instead of FIN
    wait_until(lambda: engine.socket_info(sid).state == "reset", "the reset")
    recvs = steps_of(engine, sid, "recv", auto=True)
    assert b"".join(s.data for s in recvs if s.ok) == b"\x00data before the reset\xff"
    last = recvs[-1]
    assert last.error is not None and last.error.name == "ECONNRESET"
    assert last.error.number == errno.ECONNRESET and last.result is None
    # Later calls on the dead socket are recorded too.
    step = engine.call("send", sid, data=b"anyone?")
    assert step.error is not None and step.error.name in ("EPIPE", "ECONNRESET")


def test_send_after_peer_closed_records_epipe(engine: Engine, listener: socket.socket) -> None:
    sid = new_socket(engine)
    ok(engine.call("connect", sid, address=addr_text(listener)))
    conn, _ = listener.accept()
    conn.close()
    wait_until(lambda: engine.socket_info(sid).state == "peer-closed", "the peer's FIN")
    local, peer = engine.socket_info(sid).local, addr_text(listener)
    kernel = tcp_connection(local, peer)
    assert kernel is not None and kernel.state == "CLOSE_WAIT"
    first = engine.call("send", sid, data=b"one")  # accepted locally; the peer answers RST
    assert first.ok
    # The RST closes the socket in the kernel, which then no longer lists it.
    wait_until(lambda: tcp_connection(local, peer) is None, "the peer's RST")
    errors = []
    for _ in range(3):
        step = engine.call("send", sid, data=b"two")
        errors.append(step.error.name if step.error else "ok")
    assert errors == ["EPIPE"] * 3
    assert engine.capture(sid).stream(OUT) == b"one"


# -- wait and expect ----------------------------------------------------------------------


def test_expect_finds_bytes_and_times_out(engine: Engine) -> None:
    with Peer("echo", "tcp", ("127.0.0.1", 0)) as peer:
        sid = new_socket(engine)
        ok(engine.call("connect", sid, address=format_address(peer.address)))
        ok(engine.call("send", sid, data=b"abc\x00def"))
        assert ok(engine.call("expect", sid, data=b"\x00d", timeout=5)).result == {"at": 3}
        started = time.monotonic()
        step = engine.call("expect", sid, data=b"abc", timeout=0.2)  # already consumed
        assert step.error is not None and step.error.name == "ETIMEDOUT"
        assert 0.15 < time.monotonic() - started < 3
    wait = ok(engine.call("wait", seconds=0.1))
    assert wait.sock is None and wait.dur >= 0.09


# -- input mistakes: InputError, one line, nothing recorded -------------------------------


@pytest.mark.parametrize(("op", "args", "words"), [
    ("connect", {"address": "127.0.0.1:99999"}, ["port"]),
    ("connect", {"address": "not an address"}, ["not an address"]),
    ("connect", {"address": "unix:/tmp/x.sock"}, ["unix", "inet"]),
    ("connect", {"address": "[::1]:80"}, ["inet6", "inet"]),
    ("connect", {}, ["needs an address"]),
    ("bind", {"address": "peer:nobody"}, ["no built-in peer", "'nobody'"]),
    ("connect", {"address": "sock:99"}, ["no socket #99"]),
    ("setsockopt", {"option": "SO_NONSENSE", "value": 1}, ["SO_NONSENSE"]),
    ("setsockopt", {"option": "SO_REUSEADDR", "value": "maybe"}, ["SO_REUSEADDR takes on or off"]),
    ("getsockopt", {"option": ""}, []),
    ("send", {"data": "text, not bytes"}, ["needs data"]),
    ("send", {"data": b"x", "flags": ["MSG_BOGUS"]}, ["MSG_BOGUS"]),
    ("recv", {"size": -1}, ["out of range"]),
    ("shutdown", {"how": "sideways"}, ["sideways", "rdwr"]),
])
def test_input_mistakes_raise_one_line(engine: Engine, op: str, args: dict[str, object],
                                       words: list[str]) -> None:
    sid = new_socket(engine)
    before = len(engine.session.steps)
    with pytest.raises(InputError) as info:
        engine.submit(op, sid, **args)
    message = str(info.value)
    assert message and "\n" not in message
    for word in words:
        assert word in message
    barrier(engine, sid)  # had the mistake been queued, it would be recorded before this
    assert [s.op for s in engine.session.steps[before:]] == ["getsockopt"]  # not a step


@pytest.mark.parametrize(("op", "sock", "args", "words"), [
    ("send", 42, {"data": b"x"}, ["no socket #42", "#1"]),
    ("send", None, {"data": b"x"}, ["no socket #None"]),
    ("frobnicate", 1, {}, ["unknown step", "'frobnicate'"]),
    ("socket", None, {"family": "ipx"}, ["unknown family", "'ipx'", "inet6"]),
    ("socket", None, {"type": "raw-ish"}, ["unknown type", "stream"]),
    ("wait", None, {"seconds": -1}, ["out of range"]),
])
def test_bad_sockets_and_ops_raise_one_line(engine: Engine, op: str, sock: int | None,
                                            args: dict[str, object], words: list[str]) -> None:
    new_socket(engine)
    with pytest.raises(InputError) as info:
        engine.submit(op, sock, **args)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_a_closed_socket_is_an_input_mistake_but_its_capture_stays(engine: Engine) -> None:
    a, b = ok(engine.call("socketpair", family="unix")).result["socks"]  # type: ignore[index]
    ok(engine.call("send", b, data=b"kept"))
    wait_until(lambda: received(engine, a) == b"kept", "the bytes")
    ok(engine.call("close", a))
    with pytest.raises(InputError, match="is closed"):
        engine.submit("send", a, data=b"x")
    assert engine.capture(a).stream(IN) == b"kept"  # still viewable after close
    assert engine.socket_info(a).state == "closed"


def test_os_errors_are_recorded_not_raised(engine: Engine, listener: socket.socket) -> None:
    first = new_socket(engine)
    taken = addr_text(listener)
    step = engine.call("bind", first, address=taken)
    assert step.error is not None and step.error.name == "EADDRINUSE"
    step = engine.call("listen", new_socket(engine, type_="dgram"))
    assert step.error is not None and step.error.name == "EOPNOTSUPP"
    step = engine.call("recv", new_socket(engine, auto=False))  # never connected
    assert step.error is not None and step.error.name == "ENOTCONN"


# -- the capture store --------------------------------------------------------------------


def test_capture_offsets_per_direction(engine: Engine, listener: socket.socket) -> None:
    sid = new_socket(engine)
    ok(engine.call("connect", sid, address=addr_text(listener)))
    conn, _ = listener.accept()
    with conn:
        sent = [b"aaaa", b"\x00\xff", b"ccc"]
        for chunk in sent:
            ok(engine.call("send", sid, data=chunk))
        assert recv_exactly(conn, 9) == b"".join(sent)
        replies = [b"12345", b"\xff\x00"]
        for reply in replies:
            conn.sendall(reply)
            want = sum(map(len, replies[:replies.index(reply) + 1]))
            wait_until(lambda w=want: engine.capture(sid).totals[IN] == w, "the reply")
    wait_until(lambda: engine.socket_info(sid).state == "peer-closed", "the peer's EOF")
    store = engine.capture(sid)
    assert [(c.offset, c.size) for c in store.chunks(OUT)] == [(0, 4), (4, 2), (6, 3)]
    # The EOF is an empty chunk, so the timeline shows where the stream ended.
    assert [(c.offset, c.size) for c in store.chunks(IN)] == [(0, 5), (5, 2), (7, 0)]
    assert store.totals == [7, 9]
    assert store.read(OUT, 3, 4) == b"a\x00\xffc"  # across chunk boundaries
    assert store.read(IN, 4, 10) == b"5\xff\x00"
    times = [c.t for c in store.chunks()]
    assert times == sorted(times)
    recv_ats = [s.result["at"] for s in steps_of(engine, sid, "recv") if s.ok]
    assert recv_ats == [0, 5, 7]


def test_engine_byte_log_spills_and_reads_back(recorder: Recorder) -> None:
    log = ByteLog(spill_threshold=4096)
    eng = Engine(Session(), recorder, log=log)
    blob = os.urandom(300_000)
    try:
        with Peer("echo", "tcp", ("127.0.0.1", 0)) as peer:
            sid = new_socket(eng)
            ok(eng.call("connect", sid, address=format_address(peer.address)))
            ok(eng.call("send", sid, data=blob))
            wait_until(lambda: sum(len(s.data) for s in steps_of(eng, sid, "recv") if s.ok)
                       == len(blob), "the echo's recv steps")
        assert log.flush(TIMEOUT) and log.in_memory == 0 and len(log) == 2 * len(blob)
        assert eng.capture(sid).stream(IN) == blob
        assert b"".join(s.data for s in steps_of(eng, sid, "recv")) == blob
    finally:
        eng.shutdown()
        log.close()


def test_socket_changed_events_name_the_socket(engine: Engine, recorder: Recorder) -> None:
    sid = new_socket(engine)
    ok(engine.call("bind", sid, address="127.0.0.1:0"))
    assert sid in {e.sock for e in recorder.of(SocketChanged)}
    infos = {i.id: i for i in engine.sockets()}
    assert infos[sid].state == "bound" and infos[sid].family == "inet"
