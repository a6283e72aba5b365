"""The socket state machine: the rules of the module docstring, one table row each."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.sockstate import (
    CONNECTED_TABLE,
    CONNECTIONLESS_TABLE,
    RULES,
    Kind,
    Outcome,
    State,
    can_receive,
    event_of,
    kind_of,
    next_state,
    outcome_of,
    predict,
    rule_for,
    why_not,
)
from workbench.core.steps import CANCELLED, Step, StepError

S, R = State, Outcome  # R for the result of an event
STREAM, SEQPACKET, DGRAM, RAW = Kind.STREAM, Kind.SEQPACKET, Kind.DATAGRAM, Kind.RAW
OPEN_STATES = [s for s in State if s is not S.CLOSED]

# (kind, state, event, outcome, the state after): the docstring's rules, row by row.
CONNECTION_RULES = [
    # bind moves NEW to BOUND; listen moves NEW or BOUND to LISTENING
    (STREAM, S.NEW, "bind", R.OK, S.BOUND),
    (STREAM, S.NEW, "listen", R.OK, S.LISTENING),
    (STREAM, S.BOUND, "listen", R.OK, S.LISTENING),
    (SEQPACKET, S.BOUND, "listen", R.OK, S.LISTENING),
    # connect: success connects, EINPROGRESS is CONNECTING until the SO_ERROR read
    (STREAM, S.NEW, "connect", R.OK, S.CONNECTED),
    (STREAM, S.BOUND, "connect", R.OK, S.CONNECTED),
    (STREAM, S.NEW, "connect", R.IN_PROGRESS, S.CONNECTING),
    (STREAM, S.BOUND, "connect", R.IN_PROGRESS, S.CONNECTING),
    (STREAM, S.CONNECTING, "connect-done", R.OK, S.CONNECTED),
    (STREAM, S.CONNECTING, "connect-done", R.FAILED, S.FAILED),
    # a refused connect fails the socket; Linux allows another connect from there
    (STREAM, S.NEW, "connect", R.FAILED, S.FAILED),
    (STREAM, S.BOUND, "connect", R.FAILED, S.FAILED),
    (STREAM, S.FAILED, "connect", R.OK, S.CONNECTED),
    (STREAM, S.FAILED, "connect", R.IN_PROGRESS, S.CONNECTING),
    (STREAM, S.FAILED, "connect", R.FAILED, S.FAILED),
    # a connect the user cancels leaves it ABORTED (and it may connect again)
    (STREAM, S.NEW, "connect", R.CANCELLED, S.ABORTED),
    (STREAM, S.CONNECTING, "connect", R.CANCELLED, S.ABORTED),
    (STREAM, S.ABORTED, "connect", R.OK, S.CONNECTED),
    (STREAM, S.ABORTED, "connect", R.IN_PROGRESS, S.CONNECTING),
    # shutdown of one half, then the other
    (STREAM, S.CONNECTED, "shutdown/rd", R.OK, S.SHUT_RD),
    (STREAM, S.CONNECTED, "shutdown/wr", R.OK, S.SHUT_WR),
    (STREAM, S.CONNECTED, "shutdown/rdwr", R.OK, S.SHUT),
    (STREAM, S.SHUT_RD, "shutdown/wr", R.OK, S.SHUT),
    (STREAM, S.SHUT_WR, "shutdown/rd", R.OK, S.SHUT),
    (STREAM, S.SHUT_RD, "shutdown/rdwr", R.OK, S.SHUT),
    (STREAM, S.SHUT_WR, "shutdown/rdwr", R.OK, S.SHUT),
    (STREAM, S.PEER_CLOSED, "shutdown/rd", R.OK, S.SHUT),
    (STREAM, S.PEER_CLOSED, "shutdown/rdwr", R.OK, S.SHUT),
    (SEQPACKET, S.CONNECTED, "shutdown/wr", R.OK, S.SHUT_WR),
    # the end of the peer's stream
    (STREAM, S.CONNECTED, "recv", R.EOF, S.PEER_CLOSED),
    (STREAM, S.SHUT_WR, "recv", R.EOF, S.SHUT),
    (SEQPACKET, S.CONNECTED, "recv", R.EOF, S.PEER_CLOSED),
    # ECONNRESET resets; another error that ends the automatic receive is ERROR
    (STREAM, S.CONNECTED, "recv", R.RESET, S.RESET),
    (STREAM, S.CONNECTED, "send", R.RESET, S.RESET),
    (STREAM, S.SHUT_WR, "recv", R.RESET, S.RESET),
    (STREAM, S.SHUT_RD, "send", R.RESET, S.RESET),
    (STREAM, S.PEER_CLOSED, "send", R.RESET, S.RESET),
    (STREAM, S.CONNECTED, "recv", R.BROKEN, S.ERROR),
    (STREAM, S.SHUT_WR, "recv", R.BROKEN, S.ERROR),
    # other failed calls change nothing: they are the call's outcome, not the socket's
    (STREAM, S.CONNECTED, "recv", R.FAILED, S.CONNECTED),
    (STREAM, S.CONNECTED, "send", R.FAILED, S.CONNECTED),
    (STREAM, S.CONNECTED, "connect", R.FAILED, S.CONNECTED),  # EISCONN
    (STREAM, S.LISTENING, "accept", R.FAILED, S.LISTENING),  # EAGAIN
    (STREAM, S.LISTENING, "connect", R.FAILED, S.LISTENING),
    (STREAM, S.BOUND, "bind", R.FAILED, S.BOUND),  # EINVAL
    (STREAM, S.NEW, "shutdown/rd", R.FAILED, S.NEW),  # ENOTCONN
    (STREAM, S.CONNECTED, "setsockopt", R.FAILED, S.CONNECTED),
    (STREAM, S.CONNECTED, "getsockname", R.OK, S.CONNECTED),
    (STREAM, S.LISTENING, "accept", R.OK, S.LISTENING),  # the new socket is another one
    (STREAM, S.CONNECTED, "send", R.OK, S.CONNECTED),
    (STREAM, S.CONNECTED, "recv", R.OK, S.CONNECTED),
]

CONNECTIONLESS_RULES = [
    (DGRAM, S.NEW, "bind", R.OK, S.BOUND),
    # connect only sets the default peer: success connects, failure changes nothing
    (DGRAM, S.NEW, "connect", R.OK, S.CONNECTED),
    (DGRAM, S.BOUND, "connect", R.OK, S.CONNECTED),
    (DGRAM, S.CONNECTED, "connect", R.OK, S.CONNECTED),
    (DGRAM, S.NEW, "connect", R.FAILED, S.NEW),
    (DGRAM, S.BOUND, "connect", R.FAILED, S.BOUND),
    (DGRAM, S.CONNECTED, "connect", R.FAILED, S.CONNECTED),
    (RAW, S.NEW, "connect", R.OK, S.CONNECTED),
    (RAW, S.BOUND, "connect", R.FAILED, S.BOUND),
    # shutdown of a connected datagram socket
    (DGRAM, S.CONNECTED, "shutdown/rd", R.OK, S.SHUT_RD),
    (DGRAM, S.CONNECTED, "shutdown/wr", R.OK, S.SHUT_WR),
    (DGRAM, S.CONNECTED, "shutdown/rdwr", R.OK, S.SHUT),
    (DGRAM, S.SHUT_RD, "shutdown/wr", R.OK, S.SHUT),
    (DGRAM, S.SHUT_WR, "shutdown/rd", R.OK, S.SHUT),
    (DGRAM, S.SHUT_RD, "shutdown/rdwr", R.OK, S.SHUT),
    # no connection to lose, listen for or end: these change nothing
    (DGRAM, S.NEW, "listen", R.FAILED, S.NEW),
    (DGRAM, S.BOUND, "listen", R.OK, S.BOUND),
    (DGRAM, S.CONNECTED, "recv", R.EOF, S.CONNECTED),
    (DGRAM, S.CONNECTED, "recv", R.RESET, S.CONNECTED),
    (DGRAM, S.CONNECTED, "recv", R.BROKEN, S.CONNECTED),  # e.g. ECONNREFUSED from ICMP
    (DGRAM, S.CONNECTED, "send", R.RESET, S.CONNECTED),
    (DGRAM, S.BOUND, "recv", R.FAILED, S.BOUND),
    (DGRAM, S.NEW, "connect", R.IN_PROGRESS, S.NEW),
    (DGRAM, S.BOUND, "bind", R.FAILED, S.BOUND),
]


def _id(row: tuple[Kind, State, str, Outcome, State]) -> str:
    kind, state, event, outcome, after = row
    return f"{kind}-{state}-{event}-{outcome}->{after}"


@pytest.mark.parametrize("row", CONNECTION_RULES + CONNECTIONLESS_RULES, ids=_id)
def test_next_state(row: tuple[Kind, State, str, Outcome, State]) -> None:
    kind, state, event, outcome, after = row
    assert next_state(kind, state, event, outcome) is after


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("outcome", list(Outcome))
def test_close_makes_any_socket_closed(kind: Kind, state: State, outcome: Outcome) -> None:
    assert next_state(kind, state, "close", outcome) is S.CLOSED


EVENTS = sorted({key[1] for key in (*CONNECTED_TABLE, *CONNECTIONLESS_TABLE)}
                | {"close", "send", "recv", "accept", "getsockname", "getpeername",
                   "setsockopt", "getsockopt", "set_blocking", "set_auto", "set_inheritable",
                   "expect", "wait"})


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("event", EVENTS)
@pytest.mark.parametrize("outcome", list(Outcome))
def test_closed_is_terminal(kind: Kind, event: str, outcome: Outcome) -> None:
    assert next_state(kind, S.CLOSED, event, outcome) is S.CLOSED


def test_the_tables_name_only_states_and_known_events() -> None:
    for table in (CONNECTED_TABLE, CONNECTIONLESS_TABLE):
        for (state, event, outcome), after in table.items():
            assert isinstance(state, State) and isinstance(after, State)
            assert isinstance(outcome, Outcome)
            assert event in EVENTS
            assert state is not S.CLOSED and after is not S.CLOSED  # only close closes


def test_connectionless_sockets_only_reach_bound_connected_or_shut_states() -> None:
    reached = {after for after in CONNECTIONLESS_TABLE.values()}
    assert reached <= {S.BOUND, S.CONNECTED, S.SHUT_RD, S.SHUT_WR, S.SHUT}


# -- outcomes ----------------------------------------------------------------------------


def error(name: str) -> StepError:
    return StepError(name, getattr(errno, name), "from the kernel")


@pytest.mark.parametrize(("step", "event", "outcome"), [
    (Step("bind", 1, result={"local": "127.0.0.1:5"}), "bind", R.OK),
    (Step("close", 1), "close", R.OK),
    (Step("recv", 1, result={"data": b"hi", "at": 0}), "recv", R.OK),
    (Step("recv", 1, auto=True, result={"data": b"", "at": 2, "eof": True}), "recv", R.EOF),
    (Step("recv", 1, result={"data": b"", "at": 0, "eof": True}), "recv", R.EOF),
    (Step("connect", 1, error=error("EINPROGRESS")), "connect", R.IN_PROGRESS),
    (Step("connect", 1, error=CANCELLED), "connect", R.CANCELLED),
    (Step("send", 1, result={"sent": 3}, error=CANCELLED), "send", R.CANCELLED),
    (Step("connect", 1, error=error("EINTR")), "connect", R.FAILED),  # a real EINTR
    (Step("connect", 1, error=error("ECONNREFUSED")), "connect", R.FAILED),
    (Step("recv", 1, auto=True, error=error("ECONNRESET")), "recv", R.RESET),
    (Step("send", 1, error=error("ECONNRESET")), "send", R.RESET),
    (Step("recv", 1, auto=True, error=error("ETIMEDOUT")), "recv", R.BROKEN),
    (Step("recvfrom", 1, auto=True, error=error("ECONNREFUSED")), "recv", R.BROKEN),
    (Step("recv", 1, auto=True, error=error("EAGAIN")), "recv", R.FAILED),
    (Step("recv", 1, error=error("ETIMEDOUT")), "recv", R.FAILED),  # a user's call
    (Step("send", 1, auto=True, error=error("EPIPE")), "send", R.FAILED),
    (Step("getsockopt", 1, auto=True, result={"value": 0, "peer": "127.0.0.1:7"}),
     "connect-done", R.OK),
    (Step("getsockopt", 1, auto=True, result={"value": errno.ECONNREFUSED,
                                              "errno": "ECONNREFUSED"}),
     "connect-done", R.FAILED),
    (Step("getsockopt", 1, auto=True, error=error("EBADF")), "connect-done", R.FAILED),
])
def test_outcome_of(step: Step, event: str, outcome: Outcome) -> None:
    assert outcome_of(step, event) is outcome


def test_every_outcome_is_reachable() -> None:
    seen = {outcome_of(step, event) for step, event, _ in [
        (Step("bind", 1), "bind", None),
        (Step("connect", 1, error=error("EINPROGRESS")), "connect", None),
        (Step("connect", 1, error=error("ECONNREFUSED")), "connect", None),
        (Step("connect", 1, error=CANCELLED), "connect", None),
        (Step("recv", 1, result={"data": b"", "eof": True}), "recv", None),
        (Step("recv", 1, error=error("ECONNRESET")), "recv", None),
        (Step("recv", 1, auto=True, error=error("EPIPE")), "recv", None),
    ]}
    assert seen == set(Outcome)


@pytest.mark.parametrize(("op", "args", "event"), [
    ("shutdown", {"how": "rd"}, "shutdown/rd"), ("shutdown", {"how": "wr"}, "shutdown/wr"),
    ("shutdown", {"how": "rdwr"}, "shutdown/rdwr"), ("shutdown", None, "shutdown/rdwr"),
    ("recvfrom", {}, "recv"), ("sendto", {}, "send"), ("connect", {}, "connect"),
])
def test_event_of(op: str, args: dict[str, object] | None, event: str) -> None:
    assert event_of(op, args) == event


# -- predictions -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("op", ["bind", "send", "recv", "close", "getsockname"])
def test_a_closed_socket_is_ebadf_for_every_op(kind: Kind, op: str) -> None:
    assert predict(kind, S.CLOSED, op) == "EBADF"
    assert why_not(kind, S.CLOSED, op) == "the socket is closed"


def test_every_refusing_rule_says_why_and_every_working_one_does_not() -> None:
    for rule in RULES:
        for kind in rule.kinds:
            for state in rule.states:
                for family in rule.families:
                    if rule_for(kind, state, rule.op, family) is not rule:
                        continue  # an earlier row wins there
                    assert predict(kind, state, rule.op, family) == rule.answer
                    if rule.answer == "":  # expected to work: nothing to warn about
                        assert why_not(kind, state, rule.op, family) is None, rule
                    else:  # refused, or uncertain: the palette says why
                        assert why_not(kind, state, rule.op, family), rule


@pytest.mark.parametrize(("kind", "state", "op", "answer"), [
    (STREAM, S.NEW, "bind", ""), (STREAM, S.BOUND, "bind", "EINVAL"),
    (DGRAM, S.NEW, "listen", "EOPNOTSUPP"), (DGRAM, S.BOUND, "accept", "EOPNOTSUPP"),
    (STREAM, S.NEW, "accept", "EINVAL"), (STREAM, S.CONNECTED, "connect", None),
    (STREAM, S.LISTENING, "connect", "EISCONN"),
    (STREAM, S.NEW, "send", "EPIPE"), (STREAM, S.NEW, "recv", None),
    (STREAM, S.NEW, "recvfrom", None), (STREAM, S.BOUND, "shutdown", "ENOTCONN"),
    (DGRAM, S.NEW, "send", "EDESTADDRREQ"), (DGRAM, S.CONNECTED, "getpeername", ""),
    (STREAM, S.CONNECTED, "send", None), (STREAM, S.LISTENING, "accept", None),
    (STREAM, S.CONNECTING, "connect", None),
])
def test_predict(kind: Kind, state: State, op: str, answer: str | None) -> None:
    assert predict(kind, state, op) == answer


@pytest.mark.parametrize(("kind", "state", "can"), [
    (STREAM, S.CONNECTED, True), (STREAM, S.SHUT_WR, True), (STREAM, S.SHUT_RD, False),
    (STREAM, S.PEER_CLOSED, False), (STREAM, S.NEW, False), (STREAM, S.LISTENING, False),
    (DGRAM, S.NEW, True), (DGRAM, S.BOUND, True), (DGRAM, S.CONNECTED, True),
    (DGRAM, S.SHUT_RD, False), (DGRAM, S.CLOSED, False), (STREAM, S.CLOSED, False),
])
def test_can_receive(kind: Kind, state: State, can: bool) -> None:
    assert can_receive(kind, state) is can


def test_kind_of() -> None:
    assert [kind_of(t) for t in ("stream", "seqpacket", "dgram", "raw")] == [
        STREAM, SEQPACKET, DGRAM, RAW]
    assert Kind.STREAM.connected_kind and Kind.SEQPACKET.connected_kind
    assert not Kind.DATAGRAM.connected_kind and not Kind.RAW.connected_kind


# -- random event sequences --------------------------------------------------------------

EVENT_STEPS = st.tuples(st.sampled_from(EVENTS), st.sampled_from(list(Outcome)))


@settings(max_examples=500, deadline=None)
@given(kind=st.sampled_from(list(Kind)), start=st.sampled_from(OPEN_STATES),
       events=st.lists(EVENT_STEPS, max_size=30))
def test_random_events_stay_in_state_and_close_ends_in_closed(
        kind: Kind, start: State, events: list[tuple[str, Outcome]]) -> None:
    state, closed = start, False
    for event, outcome in events:
        state = next_state(kind, state, event, outcome)
        assert isinstance(state, State)
        closed = closed or event == "close"
        assert (state is S.CLOSED) is closed, (event, outcome, state)
    state = next_state(kind, state, "close", Outcome.OK)
    assert state is S.CLOSED


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("state", OPEN_STATES)
def test_close_on_exec_works_in_every_open_state(kind: Kind, state: State) -> None:
    assert predict(kind, state, "set_inheritable") == ""
    assert why_not(kind, state, "set_inheritable") is None
    assert next_state(kind, state, "set_inheritable", Outcome.OK) is state


@pytest.mark.parametrize(("state", "op", "answer"), [
    (S.BOUND, "bind", ""),  # a raw socket has no port to hold: it binds again
    (S.CONNECTED, "bind", "EINVAL"),
    (S.NEW, "send", "EDESTADDRREQ"), (S.NEW, "listen", "EOPNOTSUPP"),
    (S.NEW, "connect", ""), (S.CONNECTED, "getpeername", "ENOTCONN"),  # no peer port
    (S.NEW, "recv", None),
])
def test_predict_raw(state: State, op: str, answer: str | None) -> None:
    assert predict(Kind.RAW, state, op, "inet") == answer


def test_packet_sockets_are_not_predicted_beyond_what_every_socket_does() -> None:
    """Rows claim only what the live test checks: none for packet sockets yet."""
    assert predict(Kind.RAW, S.NEW, "bind", "packet") is None
    assert predict(Kind.RAW, S.CLOSED, "bind", "packet") == "EBADF"


@pytest.mark.parametrize("kind", [Kind.DATAGRAM, Kind.RAW])
def test_sendto_on_an_unconnected_connectionless_socket_is_not_discouraged(kind: Kind) -> None:
    """send needs a default peer; sendto names one, so the palette must not say "not now"."""
    assert why_not(kind, State.NEW, "send") is not None
    assert why_not(kind, State.NEW, "sendto") is None
    assert why_not(kind, State.BOUND, "sendto") is None
