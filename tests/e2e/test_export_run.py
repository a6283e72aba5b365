"""Exported programs run against real peers: every example session, as C (compiled with
gcc -std=c11 -Wall -Wextra -Werror -pedantic) and as Python, in every I/O model.

A capturing relay stands between the program and the peer (a built-in peer, or the
program's own listener), so the bytes each side received are checked by the relay,
not taken from the program's word; the program must also exit 0 (it checks its own
outcomes and bytes against the recording). A hypothesis test sends random payloads
(all 256 byte values, up to 70,000 bytes) to a capturing sink.
"""

from __future__ import annotations

import os
import random
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from capture_relay import Relay
from export_programs import TIMEOUT, VARIANTS, Program, address_text, build, session_of
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workbench.core.ops import normalise
from workbench.core.session import Session
from workbench.core.steps import Step
from workbench.export.plan import Plan, make_plan
from workbench.io.peers import Peer
from workbench.io.sessionfile import load_session

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "sessions").glob("*.json")
                  if not p.name.endswith(".schema.json"))
TRANSPORTS = {"tcp": (socket.AF_INET, socket.SOCK_STREAM),
              "udp": (socket.AF_INET, socket.SOCK_DGRAM),
              "unix-stream": (socket.AF_UNIX, socket.SOCK_STREAM),
              "unix-dgram": (socket.AF_UNIX, socket.SOCK_DGRAM)}


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
    made = {(s.args.get("family"), s.args.get("type")) for s in session.steps
            if s.op == "socket"}
    if any(family == "packet" for family, _ in made):
        pytest.skip("packet sockets are not exported (export says why in one line)")
    if any(kind == "raw" for _, kind in made) and os.geteuid() != 0:
        pytest.skip("raw sockets need root")
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
        kernel = {sid for sid, sock in plan.sockets.items() if sock.cut}  # raw and ping
        assert not any(c.op in ("send", "sendto") and c.sock not in kernel for c in plan.calls)


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
    steps = [Step("socket", None, normalise("socket", {}), result={"sock": 1}),
             Step("connect", 1, normalise("connect", {"address": "peer:sink"}),
                  result={"peer": "127.0.0.1:9"}),
             Step("send", 1, normalise("send", {"data": data}), result={"sent": len(data)}),
             Step("close", 1, {})]
    return session_of("random bytes", steps, peers=("sink",))


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
