"""The engine at its limits: a long send queue still lets echoes in, receive buffers stay
bounded however many sockets drain at once, and a socket is never half made (nor a
connection taken and lost) when the descriptors run out. Tests that lower process
limits do it in a child process, never in the test process.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from support import stop_process, wait_until

from workbench.io.engine import Engine, StepDone
from workbench.io.engine.pump import BufferPool

TIMEOUT = 10.0
SENDS = 100_000
PIECE = bytes(range(48))
GATE = b"\x00gate\xff"


@pytest.fixture
def echo_server() -> Iterator[tuple[socket.socket, threading.Event]]:
    """A listener whose one connection first waits for `go`, then sends GATE and echoes
    everything back until the other side closes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(TIMEOUT)
    go = threading.Event()

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(60)
            go.wait(60)
            conn.sendall(GATE)
            while data := conn.recv(65536):
                conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield srv, go
    finally:
        go.set()
        srv.close()
        thread.join(TIMEOUT)


def test_echoes_are_received_while_a_long_send_queue_drains(
        engine: Engine, echo_server: tuple[socket.socket, threading.Event]) -> None:
    """100,000 queued 48-byte sends: the echo must be recorded while they go out, not
    only once the queue is empty (the header once stayed at 29 bytes in meanwhile)."""
    srv, go = echo_server
    order: list[tuple[str, bool, int]] = []  # (op, auto, receive offset) as recorded

    def note(event: object) -> None:
        if isinstance(event, StepDone):
            result = event.step.result or {}
            order.append((event.step.op, event.step.auto, int(result.get("at", -1))))

    engine.subscribe(note)
    sid = engine.call("socket", family="inet", type="stream").result["sock"]  # type: ignore[index]
    assert engine.call("connect", sid, address=f"127.0.0.1:{srv.getsockname()[1]}").ok
    gate = engine.submit("expect", sid, data=GATE, timeout=60.0)  # holds the queue
    calls = [engine.submit("send", sid, data=PIECE) for _ in range(SENDS)]
    go.set()  # now the whole queue is there: let it drain
    last = calls[-1].wait(60)
    assert gate.step is not None and gate.step.ok
    assert last is not None and last.ok
    wait_until(lambda: engine.socket_info(sid).bytes_in == len(GATE) + SENDS * len(PIECE),
               "every echo", 30)
    echoes = [i for i, (op, auto, at) in enumerate(order) if op == "recv" and auto
              and at >= len(GATE)]
    sends = [i for i, (op, _auto, _at) in enumerate(order) if op == "send"]
    assert len(sends) == SENDS
    assert echoes[0] < sends[-1], "no echo was recorded until every send had gone"
    during = sum(1 for i in echoes if i < sends[-1])
    assert during > 10, f"only {during} receives while {SENDS} sends went out"
    assert engine.call("close", sid).ok  # the echo side sees the end and stops


def test_receive_buffers_stay_bounded_however_many_drain_at_once() -> None:
    """A thousand sockets draining at once once each got a zero-filled megabyte."""
    pool = BufferPool(size=1 << 20, keep=4)
    with contextlib.ExitStack() as stack:
        sizes = [len(stack.enter_context(pool.take())) for _ in range(100)]
        assert sizes.count(1 << 20) == 4
        assert sum(sizes) <= 4 * (1 << 20) + 96 * (64 << 10)
    with pool.take() as again:  # the full-size ones are lent again
        assert len(again) == 1 << 20


# A child with every descriptor taken but one, then but three; answers in one line.
SQUEEZED = """
import json, resource, socket
from workbench.io.engine import Engine

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
eng = Engine()
lsn = eng.call("socket", family="inet", type="stream", auto=False).result["sock"]
assert eng.call("bind", lsn, address="127.0.0.1:0").ok
assert eng.call("listen", lsn).ok
host, port = eng.socket_info(lsn).local.rsplit(":", 1)
client = socket.create_connection((host, int(port)))
client.sendall(b"kept waiting")
hogs = []

def take_all():
    try:
        while True:
            hogs.append(open("/dev/null"))
    except OSError:
        pass

def leave(free):
    take_all()
    for _ in range(free):
        hogs.pop().close()

def ended():
    try:
        return client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True

out = {}
leave(1)  # room for the connection, not for its waker too
out["accept"] = str(eng.call("accept", lsn).error)
out["ended"] = ended()
leave(3)  # room for two wakers, not for a pair of sockets too
before = {i.id for i in eng.sockets()}
out["socketpair"] = str(eng.call("socketpair", family="unix", type="stream").error)
out["new_sockets"] = [i.id for i in eng.sockets() if i.id not in before]
took = len(hogs)
take_all()
out["free"] = len(hogs) - took
for hog in hogs:
    hog.close()
step = eng.call("accept", lsn)
out["accepted"] = step.ok
if step.ok:  # accepted with auto-receive off, as its listener: read it
    out["received"] = eng.call("recv", step.result["sock"]).data.decode()
print(json.dumps(out), flush=True)
client.close()
eng.shutdown()
"""


def test_out_of_descriptors_no_socket_is_half_made_nor_a_connection_lost() -> None:
    """The waker is made first: a connection once was accepted and closed (lost) when
    its waker could not be made, and a socketpair left one end running, unrecorded."""
    proc = subprocess.Popen([sys.executable, "-c", SQUEEZED], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err[-2000:]
    finally:
        stop_process(proc)
    got = json.loads(out)
    assert got["accept"] == "EMFILE: Too many open files"
    assert got["ended"] is False  # the connection still waits in the backlog
    assert got["socketpair"] == "EMFILE: Too many open files"
    assert got["new_sockets"] == [] and got["free"] == 3  # nothing made, nothing held
    assert got["accepted"] is True and got["received"] == "kept waiting"
