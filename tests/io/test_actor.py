"""The socket actor and the engine's edges: failures inside calls, inspections that are
not steps, subscriptions, address reads that replay, and big sends stored once."""

from __future__ import annotations

import errno
import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import Recorder, ok, threads_end, wait_until

from workbench.core.errors import InputError
from workbench.core.session import Session
from workbench.io.capture import IN
from workbench.io.engine import Engine, StepDone, handlers
from workbench.io.engine.api import ERRORS_LOG
from workbench.io.journal import DATA, Journal, load_journal
from workbench.io.peers import Peer, format_address
from workbench.io.replay import replay_session
from workbench.io.sessionfile import load_session, save_session
from workbench.io.workspace import Workspace

WITHIN = 5.0
MIB = 1 << 20


@pytest.fixture
def journal_engine(tmp_path: Path) -> Iterator[tuple[Engine, Journal]]:
    journal = Journal(tmp_path / "journal")
    session = Session()
    journal.start(session)
    eng = Engine(session, journal=journal)
    try:
        yield eng, journal
    finally:
        eng.shutdown()
        journal.close()
    threads_end()


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    ws = Workspace(journal=False)
    try:
        yield ws
    finally:
        ws.close()
    threads_end()


def new_socket(eng: Engine | Workspace, family: str = "inet", type_: str = "stream",
               **extra: object) -> int:
    step = ok(eng.call("socket", family=family, type=type_, **extra))
    return int(step.result["sock"])  # type: ignore[index]


def one_line(text: str) -> bool:
    return bool(text.strip()) and "\n" not in text and "\r" not in text


# -- (a) an exception in a handler -------------------------------------------------------


def boom(eng: Engine, s: object, call: object) -> None:
    raise RuntimeError("boom\n  and a second line")


def test_the_actor_survives_a_handler_exception(journal_engine: tuple[Engine, Journal],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    engine, journal = journal_engine
    monkeypatch.setitem(handlers.HANDLERS, "getsockname", boom)
    sid = new_socket(engine)

    step = engine.call("getsockname", sid, within=WITHIN)
    assert step.error is not None and step.error.name == "INTERNAL"
    assert one_line(step.error.message), step.error.message
    assert "RuntimeError: boom and a second line" in step.error.message
    log = journal.dir / ERRORS_LOG
    assert f"(traceback in {log})" in step.error.message
    assert engine.steps()[-1] is step

    # The same socket's actor goes on, promptly, and the socket is as it was.
    ok(engine.call("set_blocking", sid, within=1.0, blocking=False))
    assert engine.socket_info(sid).state == "new"
    assert engine.socket_info(sid).blocking is False

    traceback = engine.internal_errors[-1]
    assert traceback.startswith("Traceback (most recent call last)")
    assert "RuntimeError: boom" in traceback and "in boom" in traceback
    text = log.read_text()
    assert "getsockname" in text.splitlines()[0]
    assert "Traceback (most recent call last)" in text and "RuntimeError: boom" in text
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600


def test_an_internal_error_without_a_journal_keeps_the_traceback_in_memory(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(handlers.HANDLERS, "getsockname", boom)
    sid = new_socket(engine)
    step = engine.call("getsockname", sid, within=WITHIN)
    assert step.error is not None and step.error.name == "INTERNAL"
    assert one_line(step.error.message) and "traceback in" not in step.error.message
    assert len(engine.internal_errors) == 1 and "RuntimeError: boom" in engine.internal_errors[0]
    monkeypatch.undo()
    assert ok(engine.call("getsockname", sid, within=1.0)).result == {"address": "0.0.0.0:0"}


# -- (b) an input error found only when the call runs ------------------------------------


def test_an_input_error_at_run_time_is_recorded_and_the_actor_goes_on(engine: Engine) -> None:
    target = new_socket(engine, type_="dgram")
    ok(engine.call("bind", target, address="127.0.0.1:0"))
    sid = new_socket(engine, type_="dgram")

    # A blocking recv with nothing to read holds the actor's queue: the connect waits.
    recv = engine.submit("recv", sid)
    wait_until(lambda: engine.pending(sid) == [recv], "the recv to wait for data")
    connect = engine.submit("connect", sid, address=f"sock:{target}")  # #target is open now
    ok(engine.call("close", target, within=WITHIN))
    engine.cancel(recv)

    cancelled = recv.wait(WITHIN)
    assert cancelled is not None and cancelled.error is not None
    assert cancelled.error.name == "EINTR"
    step = connect.wait(WITHIN)
    assert step is not None and step.error is not None, "the connect never finished"
    assert step.error.name == "INPUT"
    assert one_line(step.error.message) and f"#{target}" in step.error.message
    assert engine.socket_info(sid).state == "new"  # no syscall was made

    ok(engine.call("getsockname", sid, within=1.0))
    ok(engine.call("connect", sid, within=1.0, address="127.0.0.1:9"))
    assert engine.socket_info(sid).state == "connected"


# -- (c) inspections are not steps -------------------------------------------------------


def test_inspections_read_without_adding_steps(workspace: Workspace) -> None:
    workspace.start_peer("echo", "tcp", name="echo")
    sid = new_socket(workspace)
    ok(workspace.call("connect", sid, address="peer:echo"))
    info = workspace.socket_info(sid)
    assert info is not None
    before = len(workspace.engine.steps())

    local = workspace.inspect(sid, "local").result(WITHIN)
    peer = workspace.inspect(sid, "peer").result(WITHIN)
    options = workspace.inspect(sid, "options").result(WITHIN)
    rcvbuf = workspace.inspect(sid, "option:SO_RCVBUF").result(WITHIN)

    assert local == info.local and local.startswith("127.0.0.1:")
    assert peer == info.peer == workspace.peer_addresses()["echo"]
    assert isinstance(rcvbuf, int) and rcvbuf > 0
    assert options["SO_RCVBUF"] == rcvbuf and options["SO_TYPE"] == socket.SOCK_STREAM
    assert len(workspace.engine.steps()) == before
    # A call after them is recorded as the next step: the inspections took no numbers.
    step = ok(workspace.call("getsockname", sid))
    assert step.seq == before and step.result == {"address": local}


def test_an_inspection_fails_with_the_errno_or_an_input_error(workspace: Workspace) -> None:
    sid = new_socket(workspace)
    with pytest.raises(OSError) as caught:
        workspace.inspect(sid, "peer").result(WITHIN)  # not connected
    assert caught.value.errno == errno.ENOTCONN
    with pytest.raises(InputError) as bad:
        workspace.inspect(sid, "colour")
    assert one_line(str(bad.value))
    with pytest.raises(InputError):
        workspace.inspect(sid, "option:SO_NOPE")
    with pytest.raises(InputError):
        workspace.inspect(99, "local")


def test_an_inspection_on_a_socket_that_closes_fails_with_an_input_error(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    sid = new_socket(workspace)
    entered, release = threading.Event(), threading.Event()
    real_close = handlers.HANDLERS["close"]

    def gated_close(eng: Engine, s: object, call: object) -> object:
        entered.set()  # the actor is inside the close: the inspection queues behind it
        if not release.wait(WITHIN):
            raise TimeoutError("the test never released the close")
        return real_close(eng, s, call)  # type: ignore[arg-type]

    monkeypatch.setitem(handlers.HANDLERS, "close", gated_close)
    close = workspace.submit("close", sid)
    assert entered.wait(WITHIN), "the close never started"
    future = workspace.inspect(sid, "local")
    release.set()
    closed = close.wait(WITHIN)
    assert closed is not None and closed.ok, closed
    with pytest.raises(InputError) as caught:
        future.result(WITHIN)
    assert one_line(str(caught.value)) and f"#{sid}" in str(caught.value)
    with pytest.raises(InputError):  # and on a closed socket it is refused at once
        workspace.inspect(sid, "local")


# -- (d) subscriptions -------------------------------------------------------------------


def test_subscribers_get_every_step_in_order_until_they_unsubscribe(
        workspace: Workspace) -> None:
    first, second = Recorder(), Recorder()
    base = workspace.subscriber_count()
    unsubscribe_first = workspace.subscribe(first)
    workspace.subscribe(second)  # fed after `first` on every event
    assert workspace.subscriber_count() == base + 2

    sid = new_socket(workspace, type_="dgram")
    for op, args in [("set_blocking", {"blocking": False}), ("bind", {"address": "127.0.0.1:0"}),
                     ("getsockname", {}), ("getsockopt", {"option": "SO_TYPE"}),
                     ("connect", {"address": f"sock:{sid}"}), ("recv", {})]:
        workspace.call(op, sid, **args)
    steps = workspace.steps()
    wait_until(lambda: second.settled_after(steps[-1].seq), "the last step's events")

    assert first.step_seqs() == second.step_seqs() == [s.seq for s in steps]
    assert [s.seq for s in steps] == list(range(len(steps)))
    done = [e.step for e in first.snapshot() if isinstance(e, StepDone)]
    assert all(a is b for a, b in zip(done, steps, strict=True))  # the recorded steps

    seen = len(first.snapshot())
    unsubscribe_first()
    unsubscribe_first()  # twice is harmless
    assert workspace.subscriber_count() == base + 1

    later = ok(workspace.call("getsockname", sid))
    wait_until(lambda: second.settled_after(later.seq), "the later step's events")
    assert second.step_seqs()[-1] == later.seq
    assert len(first.snapshot()) == seen, "an unsubscribed listener was fed"


# -- (e) getsockname and getpeername, recorded and replayed ------------------------------


def test_address_reads_on_a_connected_socket(engine: Engine,
                                             listener: socket.socket) -> None:
    sid = new_socket(engine)
    where = format_address(listener.getsockname())
    ok(engine.call("connect", sid, address=where))
    conn, client = listener.accept()
    try:
        name = ok(engine.call("getsockname", sid)).result
        peer = ok(engine.call("getpeername", sid)).result
        assert name == {"address": format_address(client)}
        assert name == {"address": engine.socket_info(sid).local}
        assert peer == {"address": where}
    finally:
        conn.close()


def test_address_reads_round_trip_through_a_file_and_replay(tmp_path: Path) -> None:
    ws = Workspace(journal=False)
    try:
        ws.start_peer("echo", "tcp", name="echo")
        sid = new_socket(ws)
        ok(ws.call("connect", sid, address="peer:echo"))
        local = ok(ws.call("getsockname", sid)).result
        remote = ok(ws.call("getpeername", sid)).result
        assert remote == {"address": ws.peer_addresses()["echo"]}
        ok(ws.call("send", sid, data=b"ping"))
        ok(ws.call("expect", sid, data=b"ping"))
        ok(ws.call("close", sid))
        path = save_session(ws.session, tmp_path / "addresses.json")
    finally:
        ws.close()
    threads_end()

    loaded = load_session(path)
    assert [p.name for p in loaded.peers] == ["echo"]
    user = [s for s in loaded.ordered() if not s.auto]
    assert [s.op for s in user] == ["socket", "connect", "getsockname", "getpeername",
                                    "send", "expect", "close"]
    assert user[2].result == local and user[3].result == remote

    report = replay_session(loaded, timeout=WITHIN)
    threads_end()
    assert report.ok, [m.message for m in report.mismatches]
    assert report.steps_run == len(user)
    assert report.live is not None
    replayed = {s.op: s for s in report.live.steps if not s.auto}
    for op in ("getsockname", "getpeername"):
        assert replayed[op].ok and str(replayed[op].result["address"]).startswith("127.0.0.1:")


# -- (f) a big send is stored once -------------------------------------------------------


def test_a_big_send_is_stored_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    session = Session()
    journal.start(session)
    engine = Engine(session, journal=journal)
    engine.log.lossless = True  # every byte kept: the sizes below are exact
    payload = bytes(range(256)) * (MIB // 256)
    try:
        with Peer("echo", "tcp", ("127.0.0.1", 0)) as peer:
            sid = new_socket(engine)
            ok(engine.call("connect", sid, address=format_address(peer.address)))
            sent = ok(engine.call("send", sid, within=30, data=payload))
            assert sent.result == {"sent": MIB}
            wait_until(lambda: engine.capture(sid).totals[IN] == MIB, "the echo of 1 MiB", 30)
            assert engine.capture(sid).stream(IN) == payload
            ok(engine.call("close", sid))
    finally:
        engine.shutdown()
        journal.close()
    threads_end()

    size = (journal.dir / DATA).stat().st_size
    assert 2 * MIB <= size < 2 * MIB + 64 * 1024, (
        f"{DATA} holds {size / MIB:.2f} MiB: the 1 MiB sent must be stored once, "
        "beside the 1 MiB received")
    again = load_journal(journal.dir)
    sends = [s for s in again.steps if s.op == "send"]
    assert len(sends) == 1 and sends[0].data == payload
    received = b"".join(s.data for s in again.ordered() if s.op == "recv" and s.ok)
    assert received == payload


def test_an_engine_shortens_the_interpreters_switch_interval() -> None:
    """A receiving socket's thread must get the interpreter's lock back soon after
    each recv, even while another thread (the UI) is busy."""
    import sys

    from workbench.io.engine import Engine
    from workbench.io.engine.api import SWITCH_INTERVAL

    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        engine = Engine()
        assert sys.getswitchinterval() <= SWITCH_INTERVAL
        engine.shutdown()
    finally:
        sys.setswitchinterval(before)


class ArrivingSocket:
    """A stream whose bytes arrive while it is read: each recv returns the next piece
    (a short read, as when the queue was emptied), then EAGAIN once none are left."""

    def __init__(self, pieces: list[bytes], kind: int = socket.SOCK_STREAM) -> None:
        self.pieces, self.type, self.calls = list(pieces), kind, 0

    def recv_into(self, view: memoryview, size: int, flags: int = 0) -> int:
        self.calls += 1
        if not self.pieces:
            raise BlockingIOError(errno.EAGAIN, "would block")
        piece = self.pieces.pop(0)
        view[:len(piece)] = piece
        return len(piece)


def test_a_drain_reads_on_past_a_short_read_until_the_queue_is_empty() -> None:
    """In a flood more arrives while a drain copies: one drain takes it all (fewer,
    larger steps); a seqpacket drain still takes one message."""
    from types import SimpleNamespace

    from workbench.io.engine.pump import _drain

    stream = ArrivingSocket([b"a" * 10, b"b" * 20, b"c" * 5])
    view = memoryview(bytearray(100))
    assert _drain(None, SimpleNamespace(sock=stream, type=socket.SOCK_STREAM), view) == (
        35, False, None)  # type: ignore[arg-type]
    assert bytes(view[:35]) == b"a" * 10 + b"b" * 20 + b"c" * 5 and stream.calls == 4
    packets = ArrivingSocket([b"one", b"two"], socket.SOCK_SEQPACKET)
    assert _drain(None, SimpleNamespace(sock=packets, type=socket.SOCK_SEQPACKET), view)[0] == 3  # type: ignore[arg-type]
