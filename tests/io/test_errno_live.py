"""Errors made for real through the engine: the workbench records the right errno name,
and the diagnosis gives the meaning for the call that failed and, where the live
system shows it, the cause."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import pytest
from live_errors import cause, explain, failed, new
from support import ok, stop_process, wait_until

from workbench.core.diagnosis import Diagnosis
from workbench.core.steps import Step
from workbench.io.engine import Engine
from workbench.io.evidence import diagnose_step

TIMEOUT = 10.0


@pytest.fixture
def sock_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="wb-live-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def held_port() -> Iterator[int]:
    """A TCP port bound and kept but never listening: connecting to it is refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


# -- connecting ---------------------------------------------------------------------------


def test_econnrefused(engine: Engine, held_port: int) -> None:
    sid = new(engine)
    d = explain(engine, failed(engine.call("connect", sid, address=f"127.0.0.1:{held_port}"),
                               "ECONNREFUSED"))
    assert "reset" in d.meaning and "stale" not in d.meaning
    assert f"nothing listens on port {held_port}" in cause(d)


def test_einprogress_and_ealready(engine: Engine) -> None:
    with socket.socket() as server, socket.socket() as first:
        server.bind(("127.0.0.1", 0))
        server.listen(0)  # one connection fills the queue; later SYNs wait unanswered
        port = server.getsockname()[1]
        first.connect(("127.0.0.1", port))
        wait_until(lambda: _queued(port) >= 1, "the first connection queued")
        sid = new(engine)
        ok(engine.call("set_blocking", sid, blocking=False))
        d = explain(engine, failed(engine.call("connect", sid, address=f"127.0.0.1:{port}"),
                                   "EINPROGRESS"))
        assert "SO_ERROR" in d.meaning and d.soft
        d = explain(engine, failed(engine.call("connect", sid, address=f"127.0.0.1:{port}"),
                                   "EALREADY"))
        assert "already in progress" in d.meaning
        assert "still in progress (its state is connecting)" in cause(d)


def _queued(port: int) -> int:
    from support import accept_queue

    return accept_queue(port) or 0


def test_eisconn(engine: Engine, listener: socket.socket) -> None:
    sid = new(engine)
    address = f"127.0.0.1:{listener.getsockname()[1]}"
    ok(engine.call("connect", sid, address=address))
    d = explain(engine, failed(engine.call("connect", sid, address=address), "EISCONN"))
    assert "connects once" in d.meaning
    assert "connected already (its state is connected)" in cause(d)


def test_enotconn_on_getpeername_and_shutdown(engine: Engine) -> None:
    sid = new(engine)
    d = explain(engine, failed(engine.call("getpeername", sid), "ENOTCONN"))
    assert "no peer" in d.meaning and "it never connected (its state is new)" in cause(d)
    d = explain(engine, failed(engine.call("shutdown", sid, how="wr"), "ENOTCONN"))
    assert "shutdown" in d.meaning


def test_econnreset_on_recv(engine: Engine, listener: socket.socket) -> None:
    sid = new(engine)
    ok(engine.call("connect", sid, address=f"127.0.0.1:{listener.getsockname()[1]}"))
    peer, _ = listener.accept()
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()  # an abortive close: the other side gets a reset
    d = explain(engine, failed(engine.call("recv", sid), "ECONNRESET"))
    assert "reset the connection" in d.meaning


def test_epipe_after_shutdown(engine: Engine, listener: socket.socket) -> None:
    sid = new(engine)
    ok(engine.call("connect", sid, address=f"127.0.0.1:{listener.getsockname()[1]}"))
    ok(engine.call("shutdown", sid, how="wr"))
    d = explain(engine, failed(engine.call("send", sid, data=b"late"), "EPIPE"))
    assert "shutdown" in d.meaning
    assert "shut down for writing (its state is shut-wr)" in cause(d)


# -- binding and listening ----------------------------------------------------------------


def test_eaddrinuse_names_the_holder(engine: Engine, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    sid = new(engine)
    d = explain(engine, failed(engine.call("bind", sid, address=f"127.0.0.1:{port}"),
                               "EADDRINUSE"))
    assert f"a socket listens on 127.0.0.1:{port}" in cause(d)
    assert "TIME_WAIT" in d.meaning  # the bind meaning, not the connect one


def test_einval_on_a_second_bind(engine: Engine) -> None:
    sid = new(engine)
    ok(engine.call("bind", sid, address="127.0.0.1:0"))
    d = explain(engine, failed(engine.call("bind", sid, address="127.0.0.1:0"), "EINVAL"))
    assert "already bound" in d.meaning
    assert "bound already: a socket binds once (its state is bound)" in cause(d)


def test_eaddrnotavail(engine: Engine) -> None:
    sid = new(engine)
    d = explain(engine, failed(engine.call("bind", sid, address="203.0.113.77:0"),
                               "EADDRNOTAVAIL"))
    assert "203.0.113.77 is not assigned" in cause(d)


def test_eopnotsupp_listen_on_udp(engine: Engine) -> None:
    sid = new(engine, type_="dgram")
    d = explain(engine, failed(engine.call("listen", sid, backlog=1), "EOPNOTSUPP"))
    assert "cannot listen" in d.meaning


# -- creating and options -----------------------------------------------------------------


def test_eprotonosupport(engine: Engine) -> None:
    step = failed(engine.call("socket", family="inet", type="stream", proto=17),
                  "EPROTONOSUPPORT")
    assert "protocol" in explain(engine, step).meaning


def test_esocktnosupport(engine: Engine) -> None:
    step = engine.call("socket", family="inet", type="seqpacket")
    if step.ok:
        pytest.skip("SCTP is loaded here: inet seqpacket sockets exist")
    assert "type is not supported" in explain(engine, failed(step, "ESOCKTNOSUPPORT")).meaning


def test_enoprotoopt_tcp_option_on_udp(engine: Engine) -> None:
    sid = new(engine, type_="dgram")
    step = failed(engine.call("setsockopt", sid, option="TCP_NODELAY", value=1), "ENOPROTOOPT")
    assert "another protocol" in explain(engine, step).meaning


def test_einval_option_out_of_range(engine: Engine) -> None:
    sid = new(engine)
    step = failed(engine.call("setsockopt", sid, option="TCP_MAXSEG", value=1), "EINVAL")
    assert "out of range" in explain(engine, step).meaning


# -- datagrams ----------------------------------------------------------------------------


def test_edestaddrreq(engine: Engine) -> None:
    sid = new(engine, type_="dgram")
    d = explain(engine, failed(engine.call("send", sid, data=b"x"), "EDESTADDRREQ"))
    assert "no default peer" in d.meaning


def test_emsgsize(engine: Engine, held_port: int) -> None:
    sid = new(engine, type_="dgram")
    step = failed(engine.call("sendto", sid, data=b"x" * 70000,
                              address=f"127.0.0.1:{held_port}"), "EMSGSIZE")
    assert "65507" in cause(explain(engine, step))


def test_eacces_on_broadcast(engine: Engine) -> None:
    sid = new(engine, type_="dgram")
    step = failed(engine.call("sendto", sid, data=b"x", address="255.255.255.255:9"), "EACCES")
    d = explain(engine, step)
    assert "SO_BROADCAST" in d.meaning and "SO_BROADCAST is not set" in cause(d)


def test_eagain_on_a_non_blocking_recv(engine: Engine, held_port: int) -> None:
    sid = new(engine, type_="dgram")
    ok(engine.call("bind", sid, address="127.0.0.1:0"))
    ok(engine.call("set_blocking", sid, blocking=False))
    d = explain(engine, failed(engine.call("recvfrom", sid), "EAGAIN"))
    assert "non-blocking and nothing was queued" in cause(d)


# -- a cancelled call ---------------------------------------------------------------------


def test_eintr_after_cancel_is_explained_as_a_cancel(engine: Engine) -> None:
    sid = new(engine)
    ok(engine.call("bind", sid, address="127.0.0.1:0"))
    ok(engine.call("listen", sid, backlog=1))
    call = engine.submit("accept", sid)
    wait_until(lambda: engine.socket_info(sid).pending == "accept", "accept in progress")
    engine.cancel(call)
    step = call.wait(TIMEOUT)
    assert step is not None
    d = explain(engine, failed(step, "EINTR"))
    assert d.cancelled and d.meaning.startswith("you cancelled the call")
    assert "signal" not in d.cause.text.replace("no signal", "")  # type: ignore[union-attr]


# -- calls the engine never makes this way, made directly ---------------------------------


def _raised(fn: object) -> OSError:
    with pytest.raises(OSError) as caught:
        fn()  # type: ignore[operator]
    return caught.value


def _explained_raw(exc: OSError, op: str, family: str = "") -> Diagnosis:
    from workbench.core.diagnosis import FailedCall, diagnose
    from workbench.core.errnos import from_oserror

    info = from_oserror(exc)
    return diagnose(FailedCall(op, info.name, info.number, info.message, family=family))


def test_eafnosupport_for_a_family_the_kernel_lacks() -> None:
    exc = _raised(lambda: socket.socket(4, socket.SOCK_DGRAM))  # AF_IPX, long gone from Linux
    d = _explained_raw(exc, "socket")
    assert d.name == "EAFNOSUPPORT" and "no support for this address family" in d.meaning


def test_ebadf_after_the_descriptor_is_closed() -> None:
    sock = socket.socket()
    os.close(sock.fileno())  # closed under the socket object, as another thread might
    try:
        d = _explained_raw(_raised(lambda: sock.send(b"x")), "send")
    finally:
        sock.detach()
    assert d.name == "EBADF" and "not open" in d.meaning


def test_enotsock_on_a_pipe() -> None:
    read, write = os.pipe()
    try:
        d = _explained_raw(_raised(lambda: socket.socket(fileno=read)), "getsockopt")
    finally:
        os.close(read)
        os.close(write)
    assert d.name == "ENOTSOCK" and "not a socket" in d.meaning


def test_enametoolong_from_pythons_own_check(sock_dir: str) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        exc = _raised(lambda: sock.bind(os.path.join(sock_dir, "x" * 200)))
    assert exc.errno is None  # Python refuses it before the kernel sees it
    d = _explained_raw(exc, "bind", "unix")
    assert d.name == "ENAMETOOLONG" and "sun_path" in d.meaning


def test_epipe_on_a_tcp_socket_that_never_connected(engine: Engine) -> None:
    sid = new(engine)
    d = explain(engine, failed(engine.call("send", sid, data=b"x"), "EPIPE"))
    assert "never connected" in d.meaning
    assert "the socket never connected (its state is new)" in cause(d)


def test_einval_on_a_udp_send_to_port_0(engine: Engine) -> None:
    sid = new(engine, type_="dgram")
    d = explain(engine, failed(engine.call("sendto", sid, data=b"x", address="127.0.0.1:0"),
                               "EINVAL"))
    assert "port is 0" in d.meaning


def test_einval_on_listen_after_connect(engine: Engine, listener: socket.socket) -> None:
    sid = new(engine)
    ok(engine.call("connect", sid, address=f"127.0.0.1:{listener.getsockname()[1]}"))
    d = explain(engine, failed(engine.call("listen", sid, backlog=1), "EINVAL"))
    assert "connected or connecting" in d.meaning
    assert "only a fresh socket listens (its state is connected)" in cause(d)


def test_einval_on_accept_without_listen(engine: Engine) -> None:
    sid = new(engine)
    ok(engine.call("set_blocking", sid, blocking=False))
    d = explain(engine, failed(engine.call("accept", sid), "EINVAL"))
    assert "not listening" in d.meaning
    assert "listen was not called (its state is new)" in cause(d)


def test_eopnotsupp_on_msg_oob_over_udp(engine: Engine, held_port: int) -> None:
    sid = new(engine, type_="dgram")
    step = engine.call("sendto", sid, data=b"x", address=f"127.0.0.1:{held_port}",
                       flags=["MSG_OOB"])
    assert "MSG_OOB" in explain(engine, failed(step, "EOPNOTSUPP")).meaning


def test_enoent_on_an_unknown_congestion_algorithm(engine: Engine) -> None:
    sid = new(engine)
    step = failed(engine.call("setsockopt", sid, option="TCP_CONGESTION", value="nosuchalgo"),
                  "ENOENT")
    d = explain(engine, step)
    assert "TCP_CONGESTION" in d.meaning and "Unix" not in d.meaning
    assert "'nosuchalgo' is not among this kernel's algorithms" in cause(d)


def test_a_refused_non_blocking_connect_is_explained_from_its_so_error_read(
        engine: Engine, held_port: int) -> None:
    sid = new(engine)
    ok(engine.call("set_blocking", sid, blocking=False))
    address = f"127.0.0.1:{held_port}"
    failed(engine.call("connect", sid, address=address), "EINPROGRESS")

    def so_error() -> Step | None:
        return next((s for s in list(engine.session.steps) if s.op == "getsockopt"
                     and s.sock == sid and s.auto), None)

    wait_until(lambda: so_error() is not None, "the SO_ERROR read that ends the connect")
    step = so_error()
    assert step is not None and step.error is None and step.result["errno"] == "ECONNREFUSED"
    d = diagnose_step(step, "inet", "stream", resolved=address)
    assert (d.name, d.call) == ("ECONNREFUSED", "connect")
    assert f"nothing listens on port {held_port}" in cause(d)


def test_etimedout_of_an_expect_is_not_a_dead_connection(engine: Engine,
                                                          listener: socket.socket) -> None:
    sid = new(engine)
    ok(engine.call("connect", sid, address=f"127.0.0.1:{listener.getsockname()[1]}"))
    step = failed(engine.call("expect", sid, data=b"never sent", timeout=0.2), "ETIMEDOUT")
    d = explain(engine, step)
    assert d.call == "expect" and "did not arrive within the step's timeout" in d.meaning


def test_a_taken_four_tuple_on_connect(engine: Engine, listener: socket.socket) -> None:
    target = f"127.0.0.1:{listener.getsockname()[1]}"
    with socket.socket() as first:
        first.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        first.bind(("127.0.0.1", 0))
        first.connect(listener.getsockname())  # this pair of ends is now taken
        sid = new(engine)
        ok(engine.call("setsockopt", sid, option="SO_REUSEADDR", value=1))
        ok(engine.call("bind", sid, address=f"127.0.0.1:{first.getsockname()[1]}"))
        step = failed(engine.call("connect", sid, address=target), "EADDRNOTAVAIL")
        info = engine.socket_info(sid)
        d = diagnose_step(step, info.family, info.type, local=info.local)
    assert d.fact("tcp.four_tuple").value["states"] == ["ESTABLISHED"]
    assert f"to {target} already exists (ESTABLISHED)" in cause(d)
    assert "four-tuple" in d.meaning


def test_eaddrinuse_on_listen_after_both_bound_with_reuseaddr(engine: Engine) -> None:
    with socket.socket() as first:
        first.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        first.bind(("127.0.0.1", 0))
        port = first.getsockname()[1]
        sid = new(engine)
        ok(engine.call("setsockopt", sid, option="SO_REUSEADDR", value=1))
        ok(engine.call("bind", sid, address=f"127.0.0.1:{port}"))  # both bound, none listens
        first.listen()
        d = explain(engine, failed(engine.call("listen", sid, backlog=1), "EADDRINUSE"))
    assert "only one may listen" in d.meaning
    assert f"a socket listens on 127.0.0.1:{port}" in cause(d)


def test_econnaborted_after_ss_kills_the_connection(engine: Engine,
                                                    listener: socket.socket) -> None:
    if os.geteuid() != 0 or shutil.which("ss") is None:
        pytest.skip("needs root and ss to kill a socket")
    sid = new(engine)
    ok(engine.call("connect", sid, address=f"127.0.0.1:{listener.getsockname()[1]}"))
    port = int(engine.socket_info(sid).local.rsplit(":", 1)[1])
    killed = subprocess.run(["ss", "-K", "-t", "src", "127.0.0.1", "sport", "=", f":{port}"],
                            capture_output=True, text=True, timeout=TIMEOUT)
    if f":{port}" not in killed.stdout:
        pytest.skip("this kernel cannot destroy sockets (no CONFIG_INET_DIAG_DESTROY)")
    d = explain(engine, failed(engine.call("recv", sid), "ECONNABORTED"))
    assert "`ss -K`" in d.meaning


# -- SO_REUSEPORT groups ------------------------------------------------------------------

REUSEPORT = {"SO_REUSEPORT": 1}  # what the workbench knows its socket set


def _reuseport_bind(engine: Engine, port: int) -> Diagnosis:
    sid = new(engine)
    ok(engine.call("setsockopt", sid, option="SO_REUSEPORT", value=1))
    step = failed(engine.call("bind", sid, address=f"127.0.0.1:{port}"), "EADDRINUSE")
    return diagnose_step(step, "inet", "stream", options=REUSEPORT)


def test_so_reuseport_with_a_listener_that_did_not_set_it(engine: Engine,
                                                          listener: socket.socket) -> None:
    d = _reuseport_bind(engine, listener.getsockname()[1])
    assert "the listener on 127.0.0.1:" in cause(d) and "did not" in cause(d)
    assert "option.SO_REUSEPORT" in d.cause.evidence  # type: ignore[union-attr]


HOLDER = """
import socket, sys
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
sock.bind(("127.0.0.1", 0))
sock.listen()
print(sock.getsockname()[1], flush=True)
sys.stdin.read()  # hold the port until the test closes our stdin or kills us
"""


def test_so_reuseport_across_users(engine: Engine) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to hold a port as another user")
    holder = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               "--", sys.executable, "-c", HOLDER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        port = int(holder.stdout.readline())
        d = _reuseport_bind(engine, port)
    finally:
        stop_process(holder)
    assert f"belongs to uid 65534, this process is uid {os.geteuid()}" in cause(d)


def test_diagnosed_with_what_the_session_knows(engine: Engine,
                                               listener: socket.socket) -> None:
    """The options the session set reach the rules: SO_REUSEPORT from its setsockopt."""
    from workbench.io.evidence import diagnose_in_session

    sid = new(engine)
    ok(engine.call("setsockopt", sid, option="SO_REUSEPORT", value=1))
    step = failed(engine.call("bind", sid, address=f"127.0.0.1:{listener.getsockname()[1]}"),
                  "EADDRINUSE")
    d = diagnose_in_session(step, engine.socket_info(sid), list(engine.session.steps))
    assert d.fact("option.SO_REUSEPORT") is not None
    assert "this socket set SO_REUSEPORT, but the listener" in cause(d)
    assert d.fact("socket.state").value == "new"


def test_eopnotsupp_reading_a_tcp_option_on_udp(engine: Engine) -> None:
    sid = new(engine, type_="dgram")
    step = failed(engine.call("getsockopt", sid, option="TCP_NODELAY"), "EOPNOTSUPP")
    assert "another protocol" in explain(engine, step).meaning


def test_einval_binding_a_mapped_address_on_a_v6only_socket(engine: Engine) -> None:
    sid = new(engine, family="inet6")
    ok(engine.call("setsockopt", sid, option="IPV6_V6ONLY", value=1))
    step = failed(engine.call("bind", sid, address="[::ffff:127.0.0.1]:0"), "EINVAL")
    assert "IPV6_V6ONLY" in explain(engine, step).meaning
