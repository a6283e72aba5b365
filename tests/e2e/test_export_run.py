"""Exported programs run against real peers: every example session, as C (compiled with
gcc -std=c11 -Wall -Wextra -Werror -pedantic) and as Python, in every I/O model.

A capturing relay stands between the program and the peer (a built-in peer, or the
program's own listener), so the bytes each side received are checked by the relay,
not taken from the program's word; the program must also exit 0 (it checks its own
outcomes and bytes against the recording). A hypothesis test sends random payloads
(all 256 byte values, up to 70,000 bytes) to a capturing sink.
"""

from __future__ import annotations

import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest
from capture_relay import Relay
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support import HAS_IPV6, stop_process, wait_until

from workbench.core.ops import normalise
from workbench.core.session import PeerSpec, Session
from workbench.core.steps import NotKept, Step, StepError
from workbench.export.c import export_c
from workbench.export.plan import Plan, make_plan
from workbench.export.python import export_python
from workbench.io.peers import Peer
from workbench.io.sessionfile import load_session

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "sessions").glob("*.json")
                  if not p.name.endswith(".schema.json"))
VARIANTS = [("c", "blocking"), ("c", "poll"), ("python", "blocking"),
            ("python", "selectors"), ("python", "asyncio")]
GCC = shutil.which("gcc")
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"]
TIMEOUT = 60.0
TRANSPORTS = {"tcp": (socket.AF_INET, socket.SOCK_STREAM),
              "udp": (socket.AF_INET, socket.SOCK_DGRAM),
              "unix-stream": (socket.AF_UNIX, socket.SOCK_STREAM),
              "unix-dgram": (socket.AF_UNIX, socket.SOCK_DGRAM)}


def build(session: Session, lang: str, model: str, where: Path) -> list[str]:
    """The command that runs the exported program (C is compiled first)."""
    if lang == "python":
        path = where / f"program-{model}.py"
        path.write_text(export_python(session, model))
        return [sys.executable, "-X", "dev", str(path)]  # an unclosed socket would warn
    if GCC is None:
        pytest.skip("gcc is not installed")
    source, binary = where / f"program-{model}.c", where / f"program-{model}"
    source.write_text(export_c(session, model))
    done = subprocess.run([GCC, *CFLAGS, "-o", str(binary), str(source)], capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    return [str(binary)]


def address_text(address: object) -> str:
    if isinstance(address, tuple):
        return f"{address[0]}:{address[1]}"
    assert isinstance(address, str)
    return "unix:" + address


def parse_address(text: str) -> object:
    if text.startswith("unix:"):
        return text[5:]
    host, _, port = text.rpartition(":")
    return (host.strip("[]"), int(port))


@dataclass
class Watched:
    """A relay and the socket of the program that talks through it."""

    relay: Relay
    sock: int


@dataclass
class Setup:
    args: list[str] = field(default_factory=list)
    watched: list[Watched] = field(default_factory=list)
    lazy: list[tuple[Relay, int]] = field(default_factory=list)  # upstream: bind step's address


@contextmanager
def peers_for(session: Session, plan: Plan, tmp: Path) -> Iterator[Setup]:
    """Each declared peer started behind a relay; each connect to the program's own
    listener (sock:N) sent through a relay that learns the listener's address later."""
    setup = Setup()
    with ExitStack() as stack:
        for i, spec in enumerate(session.peers):
            family, kind = TRANSPORTS[spec.transport]
            inet = family == socket.AF_INET
            peer = Peer(spec.kind, spec.transport,
                        ("127.0.0.1", 0) if inet else str(tmp / f"peer{i}.sock")).start()
            stack.callback(peer.stop)
            relay = Relay(family, kind, ("127.0.0.1", 0) if inet else str(tmp / f"relay{i}"),
                          peer.address)
            stack.callback(relay.stop)
            setup.args += ["--peer", f"{spec.name}={address_text(relay.address)}"]
            setup.watched += [Watched(relay, sid) for sid, text in plan.targets.items()
                              if text == f"peer:{spec.name}"]
        for sid, text in plan.targets.items():
            own = int(text[5:]) if text.startswith("sock:") else 0
            if own and any(c.op == "listen" and c.sock == own and not c.error
                           for c in plan.calls):
                relay = Relay(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0))
                stack.callback(relay.stop)
                bind = next(c for c in plan.calls if c.op == "bind" and c.sock == own)
                setup.args += ["--target", f"{sid}={address_text(relay.address)}"]
                setup.watched.append(Watched(relay, sid))
                setup.lazy.append((relay, bind.seq))
        yield setup


class Program:
    """A running program whose output lines are read as they come."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, into), daemon=True)
                         for stream, into in ((self.proc.stdout, self.lines),
                                              (self.proc.stderr, self.errors))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str] | None, into: list[str]) -> None:
        assert stream is not None
        for line in stream:
            into.append(line.rstrip("\n"))

    def bound(self, seq: int) -> str:
        pattern = re.compile(rf"step {seq}: .*bound to (\S+)$")
        found: list[str] = []

        def seen() -> bool:
            found[:] = [m.group(1) for line in self.lines if (m := pattern.search(line))]
            return bool(found) or self.proc.poll() is not None

        wait_until(seen, f"step {seq} to say where it bound", TIMEOUT)
        assert found, f"the program ended before binding: {self.lines}"
        return found[0]

    def finish(self) -> tuple[int, str, str]:
        try:
            self.proc.wait(TIMEOUT)
        finally:
            for reader in self._readers:  # the pipes end when the process does
                reader.join(TIMEOUT)
            stop_process(self.proc)
        return self.proc.returncode, "\n".join(self.lines), "\n".join(self.errors)


def sent_by(plan: Plan, sid: int) -> list[bytes]:
    return [c.data for c in plan.calls
            if c.sock == sid and c.op in ("send", "sendto") and c.error is None]


def datagrams(plan: Plan, sid: int) -> list[bytes]:
    rx, out, at = plan.received[sid], [], 0
    for size in rx.lengths:
        out.append(bytes(rx.data[at:at + size]))
        at += size
    return out


@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=[f"{a}-{b}" for a, b in VARIANTS])
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_session_runs_as_recorded(path: Path, lang: str, model: str,
                                          tmp_path: Path) -> None:
    session = load_session(path)
    plan = make_plan(session)
    argv = build(session, lang, model, tmp_path)
    with peers_for(session, plan, tmp_path) as setup:
        program = Program(argv + setup.args)
        for relay, seq in setup.lazy:
            relay.set_upstream(parse_address(program.bound(seq)))
        code, out, err = program.finish()
        assert code == 0, f"{out}\n{err}"
        assert err == ""  # nothing differs, no ResourceWarning (an unclosed socket)
        assert "as recorded" in out.splitlines()[-1]
        for watched in setup.watched:
            sock = plan.sockets[watched.sock]
            if sock.stream:
                assert watched.relay.sent_to_peer == b"".join(sent_by(plan, watched.sock))
                assert watched.relay.sent_to_client == bytes(plan.received[watched.sock].data)
            else:
                assert watched.relay.to_peer == sent_by(plan, watched.sock)
                assert watched.relay.to_client == datagrams(plan, watched.sock)
    for call in plan.calls:  # each recorded error was met again, and said
        if call.error and call.op != "expect":
            assert f"step {call.seq}: {call.title}: {call.error}, as recorded" in out
    if not setup.watched:  # nothing passed between sockets, e.g. connect-refused
        assert not any(c.op in ("send", "sendto") for c in plan.calls)


def test_a_program_run_against_the_wrong_peer_exits_1(tmp_path: Path) -> None:
    """The checks can fail: tcp-echo's program against a chargen peer says what differs."""
    session = load_session(ROOT / "sessions" / "tcp-echo.json")
    for lang, model in (("c", "poll"), ("python", "selectors")):
        argv = build(session, lang, model, tmp_path)
        with Peer("chargen", "tcp", ("127.0.0.1", 0)) as peer:
            program = Program([*argv, "--peer", f"echo={address_text(peer.address)}",
                               "--timeout", "5"])
            code, out, err = program.finish()
        assert code == 1, out
        assert "differs: step 4: expect" in err
        assert "ResourceWarning" not in err  # the socket was closed on the way out


# -- random payloads -------------------------------------------------------------------------


class Sink:
    """A TCP peer that keeps every byte until the end of stream."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.got = bytearray()
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(TIMEOUT)
            while chunk := conn.recv(1 << 16):
                self.got += chunk
        self.done.set()

    def close(self) -> None:
        self._thread.join(TIMEOUT)
        self.sock.close()


def sending(data: bytes) -> Session:
    steps = [Step("socket", None, normalise("socket", {}), t=0.0, result={"sock": 1}),
             Step("connect", 1, normalise("connect", {"address": "peer:sink"}), t=0.1,
                  result={"peer": "127.0.0.1:9"}),
             Step("send", 1, normalise("send", {"data": data}), t=0.2,
                  result={"sent": len(data)}),
             Step("close", 1, {}, t=0.3)]
    session = Session(peers=[PeerSpec("sink", "discard")], title="random bytes")
    for step in steps:
        session.add(step)
    return session


PAYLOADS = st.one_of(
    st.binary(max_size=600),
    st.builds(lambda n, seed: random.Random(seed).randbytes(n),
              st.integers(0, 70_000), st.integers(0, 2**32)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@example(data=bytes(range(256)) * 273 + bytes(range(112)), model="poll",
         py_model="asyncio")  # every byte value, 70,000 bytes
@example(data=b"", model="blocking", py_model="blocking")
@given(data=PAYLOADS, model=st.sampled_from(["blocking", "poll"]),
       py_model=st.sampled_from(["blocking", "selectors", "asyncio"]))
def test_random_payloads_are_sent_exactly(data: bytes, model: str, py_model: str,
                                          tmp_path: Path) -> None:
    session = sending(data)
    for lang, io in (("c", model), ("python", py_model)):
        sink = Sink()
        try:
            argv = build(session, lang, io, tmp_path)
            program = Program([*argv, "--peer", f"sink={address_text(sink.sock.getsockname())}"])
            code, out, err = program.finish()
            assert code == 0, f"{out}\n{err}"
            assert sink.done.wait(TIMEOUT)
        finally:
            sink.close()
        assert bytes(sink.got) == data, f"{lang}: {len(sink.got)} bytes of {len(data)}"


def socketpair_session() -> Session:
    """A socketpair talking to itself: peek, a receive in pieces, a half-close, end of
    stream, an address read, a non-blocking receive that finds nothing (EAGAIN)."""
    steps = [
        Step("socketpair", None, normalise("socketpair", {}), result={"socks": [1, 2]}),
        Step("send", 1, normalise("send", {"data": b"abc\x00def"}), result={"sent": 7}),
        Step("recv", 2, normalise("recv", {"size": 3, "flags": ["MSG_PEEK"]}),
             result={"data": b"abc", "peek": True}),
        Step("recv", 2, normalise("recv", {"size": 4}), result={"data": b"abc\x00", "at": 0}),
        Step("recv", 2, {}, auto=True, result={"data": b"def", "at": 4}),
        Step("getsockname", 2, {}, result={"address": "unix:"}),
        Step("set_inheritable", 1, normalise("set_inheritable", {"inheritable": True})),
        Step("set_blocking", 2, normalise("set_blocking", {"blocking": False})),
        Step("recv", 2, normalise("recv", {}), error=StepError("EAGAIN", 11, "again")),
        Step("shutdown", 1, normalise("shutdown", {"how": "wr"})),
        Step("recv", 2, {}, auto=True, result={"data": b"", "at": 7, "eof": True}),
        Step("close", 1, {}), Step("close", 2, {})]
    session = Session(title="a socketpair")
    for i, one in enumerate(steps):
        one.t = i / 1000
        session.add(one)
    return session


@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=[f"{a}-{b}" for a, b in VARIANTS])
def test_a_socketpair_session_with_peek_eagain_and_eof(lang: str, model: str,
                                                       tmp_path: Path) -> None:
    argv = build(socketpair_session(), lang, model, tmp_path)
    code, out, err = Program(argv).finish()
    assert code == 0, f"{out}\n{err}"
    assert re.search(r"^step 8: recv\(#2.*\): EAGAIN, as recorded$", out, re.M), out
    assert re.search(r"^step 10: (recv\(#2\): )?end of stream$", out, re.M), out
    assert re.search(r"^step 6: set_inheritable\(#1.*\): ok$", out, re.M), out


def flood_session(size: int) -> Session:
    """One socket of a pair sends more than the socket buffers hold to the other, which
    the workbench auto-received while the send went on."""
    data = random.Random(3).randbytes(size)
    steps = [Step("socketpair", None, normalise("socketpair", {}), result={"socks": [1, 2]}),
             Step("send", 1, normalise("send", {"data": data}), result={"sent": size})]
    for at in range(0, size, 1 << 16):
        steps.append(Step("recv", 2, {}, auto=True,
                          result={"data": data[at:at + (1 << 16)], "at": at}))
    steps += [Step("close", 1, {}),
              Step("recv", 2, {}, auto=True, result={"data": b"", "at": size, "eof": True}),
              Step("close", 2, {})]
    session = Session(title="a flood to the program's own socket")
    for i, one in enumerate(steps):
        one.t = i / 1000
        session.add(one)
    return session


@pytest.mark.parametrize(("lang", "model"), [v for v in VARIANTS if v[1] != "blocking"],
                         ids=[f"{a}-{b}" for a, b in VARIANTS if b != "blocking"])
def test_a_send_to_the_programs_own_socket_does_not_wait_for_ever(lang: str, model: str,
                                                                  tmp_path: Path) -> None:
    """1 MiB over a socketpair (buffers of a few hundred KiB): while the send waits, the
    receiving socket takes its bytes, as auto-receive did in the recording."""
    argv = build(flood_session(1 << 20), lang, model, tmp_path)
    code, out, err = Program([*argv, "--timeout", "10"]).finish()
    assert code == 0, f"{out[-2000:]}\n{err}"
    assert f"{1 << 20} bytes sent" in out


def gap_session(sent: bytes) -> Session:
    """A socketpair whose receiving side did not keep its middle bytes (a capture budget)."""
    steps = [Step("socketpair", None, normalise("socketpair", {}), result={"socks": [1, 2]}),
             Step("send", 1, normalise("send", {"data": sent}), result={"sent": len(sent)}),
             Step("recv", 2, {}, auto=True, result={"data": b"head", "at": 0}),
             Step("recv", 2, {}, auto=True, result={"data": NotKept(6, "budget"), "at": 4}),
             Step("recv", 2, {}, auto=True, result={"data": b"tail", "at": 10}),
             Step("close", 1, {}), Step("close", 2, {})]
    session = Session(title="bytes not kept")
    for i, one in enumerate(steps):
        one.t = i / 1000
        session.add(one)
    return session


@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=[f"{a}-{b}" for a, b in VARIANTS])
def test_bytes_not_kept_are_read_but_not_compared(lang: str, model: str,
                                                  tmp_path: Path) -> None:
    code, out, err = Program(build(gap_session(b"head??????tail"), lang, model,
                                   tmp_path)).finish()
    assert code == 0, f"{out}\n{err}"
    (tmp_path / "again").mkdir()
    session = gap_session(b"head??????tail")
    session.steps[1].args["data"] = b"HEAD??????tail"  # the kept bytes differ now
    code, out, err = Program(build(session, lang, model, tmp_path / "again")).finish()
    assert code == 1 and "first difference at offset 0" in err, f"{out}\n{err}"


def ipv6_session() -> Session:
    """A listener on [::1] and a client of it: v6 addresses bound, connected, accepted."""
    inet6 = {"family": "inet6"}
    steps = [Step("socket", None, normalise("socket", inet6), result={"sock": 1}),
             Step("bind", 1, normalise("bind", {"address": "[::1]:0"}),
                  result={"local": "[::1]:40000"}),
             Step("listen", 1, normalise("listen", {}), result={"local": "[::1]:40000"}),
             Step("socket", None, normalise("socket", inet6), result={"sock": 2}),
             Step("connect", 2, normalise("connect", {"address": "sock:1"}),
                  result={"peer": "[::1]:40000", "local": "[::1]:40001"}),
             Step("accept", 1, {}, auto=True, result={"sock": 3, "peer": "[::1]:40001"}),
             Step("send", 2, normalise("send", {"data": b"over v6"}), result={"sent": 7}),
             Step("recv", 3, {}, auto=True, result={"data": b"over v6", "at": 0}),
             Step("close", 2, {}),
             Step("recv", 3, {}, auto=True, result={"data": b"", "at": 7, "eof": True}),
             Step("close", 3, {}), Step("close", 1, {})]
    session = Session(title="IPv6 on loopback")
    for i, one in enumerate(steps):
        one.t = i / 1000
        session.add(one)
    return session


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback here")
@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=[f"{a}-{b}" for a, b in VARIANTS])
def test_an_ipv6_session_runs(lang: str, model: str, tmp_path: Path) -> None:
    code, out, err = Program(build(ipv6_session(), lang, model, tmp_path)).finish()
    assert code == 0, f"{out}\n{err}"
    assert re.search(r"^step 1: .*bound to \[::1\]:\d+$", out, re.M), out


def datagram_pair_session(kind: str = "dgram") -> Session:
    """A datagram (or seqpacket) socketpair: an expect that needs the second message,
    then the auto receives it covered, then an empty message."""
    dgram = {"type": kind}
    steps = [Step("socketpair", None, normalise("socketpair", dgram), result={"socks": [1, 2]}),
             Step("send", 1, normalise("send", {"data": b"one"}), result={"sent": 3}),
             Step("send", 1, normalise("send", {"data": b"two\x00"}), result={"sent": 4}),
             Step("expect", 2, normalise("expect", {"data": b"two"}), result={"at": 3}),
             Step("recv", 2, {}, auto=True, result={"data": b"one", "at": 0}),
             Step("recv", 2, {}, auto=True, result={"data": b"two\x00", "at": 3}),
             Step("send", 1, normalise("send", {"data": b""}), result={"sent": 0}),
             Step("recv", 2, {}, auto=True, result={"data": b"", "at": 7}),
             Step("close", 1, {}), Step("close", 2, {})]
    session = Session(title="datagrams over a socketpair")
    for i, one in enumerate(steps):
        one.t = i / 1000
        session.add(one)
    return session


@pytest.mark.parametrize("kind", ["dgram", "seqpacket"])
@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=[f"{a}-{b}" for a, b in VARIANTS])
def test_datagram_expect_and_an_empty_datagram(lang: str, model: str, kind: str,
                                               tmp_path: Path) -> None:
    code, out, err = Program(build(datagram_pair_session(kind), lang, model,
                                   tmp_path)).finish()
    assert code == 0, f"{out}\n{err}"
    assert re.search(r"^step 3: expect\(#2.*\): found at 3$", out, re.M), out


def reset_session() -> Session:
    """A client whose peer resets the connection while the workbench was receiving."""
    steps = [Step("socket", None, normalise("socket", {}), result={"sock": 1}),
             Step("connect", 1, normalise("connect", {"address": "peer:rst"}),
                  result={"peer": "127.0.0.1:9", "local": "127.0.0.1:40000"}),
             Step("send", 1, normalise("send", {"data": b"x"}), result={"sent": 1}),
             Step("recv", 1, {}, auto=True,
                  error=StepError("ECONNRESET", 104, "Connection reset by peer")),
             Step("close", 1, {})]
    session = Session(peers=[PeerSpec("rst", "echo")], title="a reset")
    for i, one in enumerate(steps):
        one.t = i / 1000
        session.add(one)
    return session


@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=[f"{a}-{b}" for a, b in VARIANTS])
def test_an_error_a_receive_met_later_is_waited_for(lang: str, model: str,
                                                    tmp_path: Path) -> None:
    """The reset comes only once the program is receiving (after it said step 2): a
    non-blocking program must wait for it, not meet EAGAIN first."""
    argv = build(reset_session(), lang, model, tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as server:
        program = Program([*argv, "--peer", f"rst={address_text(server.getsockname())}"])
        server.settimeout(TIMEOUT)
        conn, _ = server.accept()
        with conn:
            assert conn.recv(1) == b"x"
            wait_until(lambda: any(line.startswith("step 2:") for line in program.lines)
                       or program.proc.poll() is not None, "the program to send", TIMEOUT)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        code, out, err = program.finish()  # closed with linger {1, 0}: a reset
    assert code == 0, f"{out}\n{err}"
    assert "step 3: recv(#1): ECONNRESET, as recorded" in out
