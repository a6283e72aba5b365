"""The state machine's predictions against the kernel: random op sequences on real sockets.

Each example makes one engine socket (manual mode, non-blocking, so nothing waits)
and a peer the test owns (a listener or a bound datagram socket on loopback or in a
tmp dir). Before each call it asks `predict` with the engine's own idea of the
socket's state; where the prediction is definite, the recorded step must match it.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support import wait_until

from workbench.core.errors import InputError
from workbench.core.packets import icmp
from workbench.core.sockstate import RULES, Kind, State, event_of, predict, why_not
from workbench.io.engine import Engine
from workbench.io.peers import format_address

WITHIN = 5.0


@dataclass(frozen=True)
class SocketKind:
    family: str  # as steps name it: "inet", "unix"
    type: str  # "stream", "dgram", "seqpacket", "raw"
    proto: int = 0

    @property
    def connection(self) -> bool:
        return self.type not in ("dgram", "raw")


KINDS = {
    "tcp": SocketKind("inet", "stream"),
    "udp": SocketKind("inet", "dgram"),
    "unix-stream": SocketKind("unix", "stream"),
    "unix-dgram": SocketKind("unix", "dgram"),
    "unix-seqpacket": SocketKind("unix", "seqpacket"),
    # A raw ICMP socket (root only): the peer is an address, the data an echo request.
    "raw-icmp": SocketKind("inet", "raw", 1),
}
RAW_KINDS = {"raw-icmp"}
ROOT = os.geteuid() == 0


def kinds_here() -> list[Any]:
    return [pytest.param(name, marks=pytest.mark.skipif(
        name in RAW_KINDS and not ROOT, reason="raw sockets need root")) for name in KINDS]


# The actions drawn; `Harness.args` turns each into an engine op and its arguments.
ACTIONS = ("bind", "listen", "connect", "accept", "send", "recv", "shutdown-rd",
           "shutdown-wr", "shutdown-rdwr", "getsockname", "getpeername", "close")


class Harness:
    """One example: the engine, its socket, and the peer the test owns."""

    def __init__(self, kind: SocketKind, directory: str) -> None:
        self.kind, self.dir, self.count = kind, directory, 0
        self.engine = Engine()
        self.peer = self._make_peer()
        step = self.engine.call("socket", family=kind.family, type=kind.type, auto=False,
                                proto=kind.proto, approved=kind.type == "raw", within=WITHIN)
        assert step.ok, step.error
        self.sid = int(step.result["sock"])  # type: ignore[index]
        step = self.engine.call("set_blocking", self.sid, within=WITHIN, blocking=False)
        assert step.ok, step.error
        self.history: list[str] = []

    def _make_peer(self) -> socket.socket:
        family = socket.AF_INET if self.kind.family == "inet" else socket.AF_UNIX
        sock_type = {"stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM,
                     "raw": socket.SOCK_DGRAM,  # not used: raw ICMP needs no listener
                     "seqpacket": socket.SOCK_SEQPACKET}[self.kind.type]
        peer = socket.socket(family, sock_type)
        peer.bind(("127.0.0.1", 0) if family == socket.AF_INET else self._path("peer"))
        if self.kind.connection:
            peer.listen(16)
        return peer

    def _path(self, name: str) -> str:
        self.count += 1
        return f"{self.dir}/{name}{self.count}"

    def fresh_address(self) -> str:
        if self.kind.family == "inet":
            return "127.0.0.1:0"
        return f"unix:{self._path('b')}"

    def peer_address(self) -> str:
        if self.kind.type == "raw":
            return "127.0.0.1:0"  # raw IP addresses have no port
        return format_address(self.peer.getsockname())

    def close(self) -> None:
        self.engine.shutdown()
        self.peer.close()

    def args(self, action: str) -> tuple[str, dict[str, Any]]:
        if action == "bind":
            return "bind", {"address": self.fresh_address()}
        if action == "connect":
            return "connect", {"address": self.peer_address()}
        if action == "send":
            return "send", {"data": icmp.echo(1, 1) if self.kind.type == "raw" else b"x"}
        if action.startswith("shutdown-"):
            return "shutdown", {"how": action.split("-", 1)[1]}
        return action, {}

    def state(self) -> tuple[Kind, State]:
        info = self.engine.socket_info(self.sid)
        return Kind(info.kind), State(info.state)

    @property
    def family(self) -> str:
        return self.engine.socket_info(self.sid).family

    def run(self, action: str) -> None:
        """Run one action and check it against the prediction made just before it."""
        op, args = self.args(action)
        kind, state = self.state()
        family = self.family
        expected = predict(kind, state, op, family)
        where = (f"{' '.join(self.history) or '(nothing)'} then {action} on a {kind} "
                 f"socket in state {state}")
        self.history.append(action)
        if state is State.CLOSED:
            with pytest.raises(InputError):
                self.engine.call(op, self.sid, within=WITHIN, **args)
            return
        step = self.engine.call(op, self.sid, within=WITHIN, **args)
        # A non-blocking connect in progress ends on the actor: wait for the definite end.
        wait_until(lambda: self.state()[1] is not State.CONNECTING, "the connect to end")
        if expected is None:
            return
        got = "" if step.ok else step.error.name  # type: ignore[union-attr]
        assert got == expected, (
            f"{where}: {rule_row(kind, state, op, family)} predicts {expected or 'success'} "
            f"({why_not(kind, state, op, family) or 'no reason: it should work'}), "
            f"the kernel gave {got or 'success'}")


def rule_row(kind: Kind, state: State, op: str, family: str) -> str:
    """Which row of RULES made the prediction (the first that matches wins)."""
    base = event_of(op).split("/")[0]
    for i, rule in enumerate(RULES):
        if rule.matches(kind, state, base, family):
            return f"RULES[{i}] ({rule.op} -> {rule.answer or 'success'})"
    return "no row"


@contextmanager
def harness(kind: SocketKind) -> Iterator[Harness]:
    directory = tempfile.mkdtemp(prefix="wb-live-")  # short: sun_path is 108 bytes
    try:
        h = Harness(kind, directory)
        try:
            yield h
        finally:
            h.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


SEQUENCES = st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=8)


@pytest.mark.parametrize("name", kinds_here())
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
# The shortest sequences behind each disagreement seen so far, so every run tries them.
@example(actions=["connect", "connect"])
@example(actions=["send", "bind"])
@example(actions=["listen"])
@example(actions=["shutdown-rd", "recv"])
@example(actions=["bind", "send"])
@example(actions=["connect", "bind"])
@example(actions=["listen", "shutdown-rd", "connect"])
@example(actions=["connect", "close", "send"])
@given(actions=SEQUENCES)
def test_predictions_match_the_kernel(name: str, actions: list[str]) -> None:
    with harness(KINDS[name]) as h:
        for action in actions:
            h.run(action)


@pytest.mark.parametrize("name", kinds_here())
def test_the_harness_connects_and_closes(name: str) -> None:
    """The harness itself works: connect really connects and close really closes."""
    with harness(KINDS[name]) as h:
        h.run("connect")
        assert h.state()[1] is State.CONNECTED
        h.run("getsockname")
        h.run("close")
        assert h.state()[1] is State.CLOSED
        with pytest.raises(InputError):
            h.engine.call("getsockname", h.sid, within=WITHIN)
