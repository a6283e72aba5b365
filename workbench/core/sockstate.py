"""The lifecycle of one socket as a pure state machine.

The rules, in prose (the tables below say the same thing exactly):

- A socket has a kind, fixed at creation: stream (TCP, Unix stream), seqpacket
  (connected, message-preserving), datagram (UDP, Unix datagram) or raw.
  Stream and seqpacket sockets are connection-oriented; datagram and raw are not.
- socket() makes a socket NEW; socketpair() and accept() make CONNECTED ones.
- bind moves NEW to BOUND. listen moves NEW or BOUND to LISTENING (a NEW inet
  socket is bound to an ephemeral port by the kernel; a Unix one must be bound).
- connect on a connection-oriented socket: success makes it CONNECTED; in
  non-blocking mode it returns EINPROGRESS and the socket is CONNECTING until the
  SO_ERROR read that completes it (CONNECTED or FAILED). A refused or failed connect
  makes it FAILED (Linux allows another connect from there); a connect the user
  cancels leaves it ABORTED.
- connect on a datagram or raw socket only sets the default peer: success makes a
  NEW, BOUND or CONNECTED one CONNECTED; failure changes nothing.
- Calls can bind a socket on their own (an inet send, sendto or connect picks a
  port even when it fails); the engine then reports `autobind`: NEW becomes BOUND.
- shutdown of reading on a LISTENING inet socket stops it listening: it is NEW
  again (BOUND if it keeps its address, which the engine reports as `autobind`);
  a Unix listener keeps listening.
- shutdown of reading, writing or both moves CONNECTED to SHUT_RD, SHUT_WR or SHUT;
  the other half later follows (SHUT_RD + wr = SHUT).
- The end of the peer's stream (a recv of 0 bytes) moves CONNECTED to PEER_CLOSED
  and SHUT_WR to SHUT: nothing more can arrive.
- ECONNRESET on a receive or send makes a connection RESET; any other error that
  ends the automatic receive makes it ERROR. Other failed calls (EAGAIN, EINTR,
  EINVAL, ...) change nothing: they are the call's outcome, not the socket's.
- close makes any socket CLOSED, and nothing happens to a closed socket again.

`next_state` answers "what now", `why_not` answers "does this op make sense now, and
if not why", and `predict` says which outcome the kernel gives where that is known
(the family matters there: Unix and inet sockets answer differently).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import NamedTuple

from workbench.core.steps import CANCELLED, Step


class Kind(enum.StrEnum):
    STREAM = "stream"
    SEQPACKET = "seqpacket"
    DATAGRAM = "datagram"
    RAW = "raw"

    @property
    def connected_kind(self) -> bool:
        """Connection-oriented: it listens, accepts and has a connection to lose."""
        return self in (Kind.STREAM, Kind.SEQPACKET)


class State(enum.StrEnum):
    NEW = "new"
    BOUND = "bound"
    LISTENING = "listening"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    SHUT_RD = "shut-rd"
    SHUT_WR = "shut-wr"
    SHUT = "shut"
    PEER_CLOSED = "peer-closed"
    FAILED = "failed"
    ABORTED = "aborted"
    RESET = "reset"
    ERROR = "error"
    CLOSED = "closed"


class Outcome(enum.StrEnum):
    OK = "ok"
    IN_PROGRESS = "in-progress"  # EINPROGRESS from a non-blocking connect
    FAILED = "failed"  # an errno that leaves the socket as it was (or fails a connect)
    CANCELLED = "cancelled"
    EOF = "eof"  # a receive of 0 bytes on a connection
    RESET = "reset"  # ECONNRESET
    BROKEN = "broken"  # another error that ended the automatic receive


S = State
OPEN = frozenset(State) - {S.CLOSED}
UNCONNECTED = frozenset({S.NEW, S.BOUND, S.FAILED})
DOWN = frozenset({S.RESET, S.ERROR, S.ABORTED})
# States from which the peer can still send us bytes: auto-receive reads there.
READABLE = frozenset({S.CONNECTED, S.SHUT_WR})
NO_MORE_INPUT = frozenset({S.SHUT_RD, S.SHUT, S.PEER_CLOSED}) | DOWN | {S.CLOSED}

Key = tuple[State, str, Outcome]


def _rows(states: Iterable[State], event: str, outcome: Outcome, to: State) -> dict[Key, State]:
    return {(state, event, outcome): to for state in states}


# Connection-oriented sockets (stream, seqpacket).
CONNECTED_TABLE: dict[Key, State] = {
    **_rows([S.NEW], "bind", Outcome.OK, S.BOUND),
    **_rows([S.NEW, S.BOUND], "listen", Outcome.OK, S.LISTENING),
    **_rows(UNCONNECTED | {S.ABORTED}, "connect", Outcome.OK, S.CONNECTED),
    **_rows(UNCONNECTED | {S.ABORTED}, "connect", Outcome.IN_PROGRESS, S.CONNECTING),
    **_rows(UNCONNECTED, "connect", Outcome.FAILED, S.FAILED),
    **_rows(UNCONNECTED | {S.CONNECTING}, "connect", Outcome.CANCELLED, S.ABORTED),
    **_rows([S.CONNECTING], "connect-done", Outcome.OK, S.CONNECTED),
    **_rows([S.CONNECTING], "connect-done", Outcome.FAILED, S.FAILED),
    **_rows([S.CONNECTED], "shutdown/rd", Outcome.OK, S.SHUT_RD),
    **_rows([S.CONNECTED], "shutdown/wr", Outcome.OK, S.SHUT_WR),
    **_rows([S.CONNECTED, S.SHUT_RD, S.SHUT_WR, S.PEER_CLOSED], "shutdown/rdwr", Outcome.OK,
            S.SHUT),
    **_rows([S.SHUT_RD], "shutdown/wr", Outcome.OK, S.SHUT),
    **_rows([S.SHUT_WR, S.PEER_CLOSED], "shutdown/rd", Outcome.OK, S.SHUT),
    # Shutting a listener's reading stops it listening: it is unconnected again.
    **_rows([S.LISTENING], "shutdown/rd", Outcome.OK, S.NEW),
    **_rows([S.LISTENING], "shutdown/rdwr", Outcome.OK, S.NEW),
    **_rows([S.NEW], "autobind", Outcome.OK, S.BOUND),
    **_rows([S.CONNECTED], "recv", Outcome.EOF, S.PEER_CLOSED),
    **_rows([S.SHUT_WR], "recv", Outcome.EOF, S.SHUT),
    **_rows(READABLE | {S.PEER_CLOSED, S.SHUT_RD}, "recv", Outcome.RESET, S.RESET),
    **_rows(READABLE | {S.PEER_CLOSED, S.SHUT_RD}, "send", Outcome.RESET, S.RESET),
    **_rows(READABLE, "recv", Outcome.BROKEN, S.ERROR),
}

# Connectionless sockets (datagram, raw).
CONNECTIONLESS_TABLE: dict[Key, State] = {
    **_rows([S.NEW], "bind", Outcome.OK, S.BOUND),
    **_rows([S.NEW], "autobind", Outcome.OK, S.BOUND),
    **_rows([S.NEW, S.BOUND, S.CONNECTED], "connect", Outcome.OK, S.CONNECTED),
    **_rows([S.CONNECTED], "shutdown/rd", Outcome.OK, S.SHUT_RD),
    **_rows([S.CONNECTED], "shutdown/wr", Outcome.OK, S.SHUT_WR),
    **_rows([S.CONNECTED, S.SHUT_RD, S.SHUT_WR], "shutdown/rdwr", Outcome.OK, S.SHUT),
    **_rows([S.SHUT_RD], "shutdown/wr", Outcome.OK, S.SHUT),
    **_rows([S.SHUT_WR], "shutdown/rd", Outcome.OK, S.SHUT),
}


# Where Unix sockets differ: a listener whose reading is shut down keeps listening.
UNIX_TABLE: dict[Key, State] = {
    **_rows([S.LISTENING], "shutdown/rd", Outcome.OK, S.LISTENING),
    **_rows([S.LISTENING], "shutdown/rdwr", Outcome.OK, S.LISTENING),
}


def event_of(op: str, args: dict[str, object] | None = None) -> str:
    """The machine's event for an op: shutdown is one event per direction."""
    if op == "shutdown":
        return f"shutdown/{(args or {}).get('how', 'rdwr')}"
    if op == "recvfrom":
        return "recv"
    if op == "sendto":
        return "send"
    return op


def outcome_of(step: Step, event: str) -> Outcome:
    """What a recorded step means for its socket's state."""
    result = step.result or {}
    if event == "connect-done":
        return Outcome.OK if step.ok and not result.get("value") else Outcome.FAILED
    if step.error is None:
        return Outcome.EOF if result.get("eof") else Outcome.OK
    if step.error == CANCELLED:
        return Outcome.CANCELLED
    name = step.error.name
    if name == "EINPROGRESS":
        return Outcome.IN_PROGRESS
    if name == "ECONNRESET":
        return Outcome.RESET
    if step.auto and event == "recv" and name != "EAGAIN":
        return Outcome.BROKEN
    return Outcome.FAILED


def next_state(kind: Kind, state: State, event: str, outcome: Outcome,
               family: str = "inet") -> State:
    """The state after `event` ended with `outcome`; unchanged where no rule applies."""
    if event == "close":
        return S.CLOSED
    if state is S.CLOSED:
        return state
    key = (state, event, outcome)
    if family == "unix" and key in UNIX_TABLE:
        return UNIX_TABLE[key]
    table = CONNECTED_TABLE if kind.connected_kind else CONNECTIONLESS_TABLE
    return table.get(key, state)


def can_receive(kind: Kind, state: State) -> bool:
    """Whether bytes can still arrive: auto-receive watches the socket only then."""
    if kind.connected_kind:
        return state in READABLE
    return state in (S.NEW, S.BOUND, S.CONNECTED, S.SHUT_WR)


# -- what makes sense now ----------------------------------------------------------------

CONN, LESS = frozenset({Kind.STREAM, Kind.SEQPACKET}), frozenset({Kind.DATAGRAM, Kind.RAW})
ALL_KINDS = CONN | LESS
INET, UNIX = frozenset({"inet", "inet6"}), frozenset({"unix"})
ALL_FAMILIES = INET | UNIX
UNBOUND = frozenset({S.NEW, S.BOUND})
NOT_CONNECTED = frozenset({S.NEW, S.BOUND, S.LISTENING})


class Rule(NamedTuple):
    """Where `op` stands on a socket of these kinds and families in these states.

    `answer` is "" if the call is expected to work, an errno name if the kernel
    refuses it, None where the kernel's answer depends on more than the state (then
    `why` is only advice for the palette and forms). Rows claim only what Linux does:
    a property test runs random op sequences on real sockets against them.
    """

    kinds: frozenset[Kind]
    states: frozenset[State]
    op: str
    answer: str | None
    why: str = ""
    families: frozenset[str] = ALL_FAMILIES

    def matches(self, kind: Kind, state: State, op: str, family: str) -> bool:
        return (kind in self.kinds and state in self.states and op == self.op
                and family in self.families)


_NOT_CONNECTED_WHY = "the socket is not connected: connect first"

# The first row that matches wins.
RULES: tuple[Rule, ...] = (
    Rule(ALL_KINDS, OPEN, "close", ""),
    Rule(ALL_KINDS, frozenset({S.NEW}), "bind", ""),
    # A raw IP socket has no port to hold: binding again only changes its address.
    Rule(frozenset({Kind.RAW}), frozenset({S.BOUND}), "bind", "", families=INET),
    Rule(ALL_KINDS, frozenset({S.BOUND, S.LISTENING}), "bind", "EINVAL",
         "the socket is bound already"),
    # An inet socket that connected has a local port; a Unix one still binds.
    Rule(ALL_KINDS, frozenset({S.CONNECTED, S.CONNECTING}), "bind", "EINVAL",
         "the socket is bound already", INET),
    Rule(LESS, OPEN, "listen", "EOPNOTSUPP", "a connectionless socket cannot listen"),
    Rule(LESS, OPEN, "accept", "EOPNOTSUPP", "a connectionless socket has no connections"),
    Rule(CONN, NOT_CONNECTED, "listen", "", families=INET),  # inet binds a port itself
    Rule(CONN, frozenset({S.NEW}), "listen", "EINVAL", "bind a Unix socket first", UNIX),
    Rule(CONN, frozenset({S.BOUND, S.LISTENING}), "listen", "", families=UNIX),
    Rule(CONN, frozenset({S.CONNECTED, S.CONNECTING}), "listen", "EINVAL",
         "a connected socket cannot listen"),
    Rule(CONN, UNBOUND, "accept", "EINVAL", "accept needs a listening socket: listen first"),
    Rule(CONN, frozenset({S.CONNECTED}), "accept", "EINVAL",
         "accept needs a listening socket; this one is connected"),
    # After a non-blocking connect completes, Linux lets one more connect return 0.
    Rule(CONN, frozenset({S.CONNECTED}), "connect", None, "the socket is connected already"),
    Rule(CONN, frozenset({S.LISTENING}), "connect", "EISCONN",
         "a listening socket cannot connect", INET),
    Rule(CONN, frozenset({S.LISTENING}), "connect", "EINVAL",
         "a listening socket cannot connect", UNIX),
    Rule(frozenset({Kind.STREAM}), NOT_CONNECTED, "send", "EPIPE", _NOT_CONNECTED_WHY, INET),
    Rule(frozenset({Kind.STREAM}), UNBOUND, "send", "ENOTCONN", _NOT_CONNECTED_WHY, UNIX),
    Rule(frozenset({Kind.STREAM}), frozenset({S.LISTENING}), "send", None,
         _NOT_CONNECTED_WHY),
    # A failed shutdown still marks a new TCP socket shut, so recv's answer varies.
    Rule(frozenset({Kind.STREAM}), NOT_CONNECTED, "recv", None, _NOT_CONNECTED_WHY),
    Rule(CONN, UNBOUND, "shutdown", "ENOTCONN", "the socket is not connected", INET),
    Rule(CONN, UNBOUND, "getpeername", "ENOTCONN", "the socket is not connected"),
    Rule(CONN, frozenset({S.CONNECTED}), "getpeername", ""),
    Rule(ALL_KINDS, OPEN, "getsockname", ""),
    Rule(LESS, UNBOUND, "send", "EDESTADDRREQ",
         "not connected: connect to set a default peer, or use sendto", INET),
    Rule(frozenset({Kind.DATAGRAM}), UNBOUND, "send", None,
         "not connected: connect to set a default peer, or use sendto", UNIX),
    Rule(frozenset({Kind.DATAGRAM}), UNBOUND, "getpeername", "ENOTCONN",
         "no default peer: connect first"),
    # The kernel names a peer only by its port, and raw IP has none: even connected.
    Rule(frozenset({Kind.RAW}), OPEN, "getpeername", "ENOTCONN",
         "a raw socket has no peer port, so getpeername fails even after connect", INET),
    Rule(frozenset({Kind.DATAGRAM}), frozenset({S.CONNECTED}), "getpeername", ""),
    Rule(frozenset({Kind.DATAGRAM}), frozenset({S.NEW, S.BOUND, S.CONNECTED}), "connect", ""),
    Rule(frozenset({Kind.RAW}), frozenset({S.NEW, S.BOUND, S.CONNECTED}), "connect", "",
         families=INET),
    Rule(ALL_KINDS, OPEN, "set_blocking", ""),
    Rule(ALL_KINDS, OPEN, "set_auto", ""),
    Rule(ALL_KINDS, OPEN, "set_inheritable", ""),
)


def rule_for(kind: Kind, state: State, op: str, family: str = "inet") -> Rule | None:
    if op == "sendto" and kind is not Kind.STREAM:
        return None  # it names its destination: being unconnected is no reason against it
    base = event_of(op).split("/")[0]
    return next((r for r in RULES if r.matches(kind, state, base, family)), None)


def predict(kind: Kind, state: State, op: str, family: str = "inet") -> str | None:
    """"" if the call should work, an errno name if the kernel refuses it, None if it
    depends on more than the state (the peer, the data, the timing)."""
    if state is S.CLOSED:
        return "EBADF"
    rule = rule_for(kind, state, op, family)
    return None if rule is None else rule.answer


def why_not(kind: Kind, state: State, op: str, family: str = "inet") -> str | None:
    """Why `op` makes no sense now (for the palette and forms), or None if it may."""
    if state is S.CLOSED:
        return "the socket is closed"
    rule = rule_for(kind, state, op, family)
    return (rule.why or None) if rule is not None else None


def kind_of(type_name: str) -> Kind:
    """A socket's kind from its type name in steps ("stream", "dgram", ...)."""
    return {"stream": Kind.STREAM, "seqpacket": Kind.SEQPACKET, "dgram": Kind.DATAGRAM,
            "raw": Kind.RAW}.get(type_name, Kind.DATAGRAM)
