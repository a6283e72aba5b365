"""The plan: a session as the calls a program makes, with bytes and expectations."""

from __future__ import annotations

import struct

import pytest
from export_sessions import built, example, step

from workbench.core.steps import NotKept, Step
from workbench.export.plan import ExportError, make_plan


def test_stream_receives_count_what_the_socket_had_after_each_step() -> None:
    plan = make_plan(example("tcp-echo"))
    reads = [(c.op, c.total, c.eof, c.auto) for c in plan.calls if c.op in ("recv", "expect")]
    assert reads == [("expect", 13, False, False), ("recv", 13, False, True),
                     ("recv", 35, False, True), ("expect", 35, False, False),
                     ("recv", 35, True, True)]
    assert bytes(plan.received[1].data).startswith(b"hello, echo\r\n\x00\xff")
    assert len(plan.received[1].data) == 35


def test_peer_defaults_come_from_a_connect_result_or_are_missing() -> None:
    tcp = make_plan(example("tcp-echo"))
    assert [(p.name, p.default) for p in tcp.peers] == [("echo", "127.0.0.1:34349")]
    assert tcp.targets == {1: "peer:echo"}
    udp = make_plan(example("udp-echo"))  # sendto records no peer address
    assert [(p.name, p.default) for p in udp.peers] == [("echo", None)]


def test_datagram_receives_count_datagrams() -> None:
    plan = make_plan(example("udp-echo"))
    assert [c.total for c in plan.calls if c.op == "recvfrom"] == [1, 2, 3]
    assert plan.received[1].lengths == [14, 22, 0]


def test_non_blocking_connect_and_its_so_error_read() -> None:
    plan = make_plan(example("connect-refused"))
    connects = [(c.sock, c.error, c.blocking, c.address.kind) for c in plan.calls
                if c.op == "connect" and c.address]
    assert connects == [(2, "ECONNREFUSED", True, "sock"), (3, "EINPROGRESS", False, "sock")]
    so_error = next(c for c in plan.calls if c.op == "getsockopt")
    assert (so_error.so_error, so_error.auto) == ("ECONNREFUSED", True)


def test_auto_accept_makes_the_socket_it_recorded() -> None:
    plan = make_plan(example("tcp-listener"))
    accept = next(c for c in plan.calls if c.op == "accept")
    assert (accept.sock, accept.made, accept.auto) == (1, (3,), True)
    assert plan.sockets[3].type == "stream"
    assert plan.targets == {2: "sock:1"}


def test_a_partial_send_sends_what_the_recording_sent() -> None:
    session = built(step("socket", result={"sock": 1}),
                    step("send", 1, {"sent": 3}, data=b"abcdef"))
    assert next(c for c in make_plan(session).calls if c.op == "send").data == b"abc"


def test_bytes_not_kept_are_gaps_left_out_of_the_comparison() -> None:
    session = built(step("socket", result={"sock": 1}),
                    step("recv", 1, {"data": b"head"}, auto=True),
                    step("recv", 1, {"data": NotKept(5, "budget")}, auto=True),
                    step("recv", 1, {"data": b"tail"}, auto=True))
    rx = make_plan(session).received[1]
    assert rx.gaps == [(4, 5)]
    assert rx.kept_ranges() == [(0, 4), (9, 4)]
    assert bytes(rx.data) == b"head" + bytes(5) + b"tail"


def test_a_peer_the_session_does_not_declare_is_refused() -> None:
    session = built(step("socket", result={"sock": 1}),
                    step("connect", 1, address="peer:ghost"))
    with pytest.raises(ExportError, match="peer:ghost, which the session does not declare"):
        make_plan(session)


def test_typed_option_values_become_structs_or_a_clear_refusal() -> None:
    session = built(step("socket", result={"sock": 1}),
                    step("setsockopt", 1, option="SO_LINGER", value={"on": True, "seconds": 0}),
                    step("setsockopt", 1, option="SO_RCVTIMEO", value=2.5))
    kinds = [c.option.kind for c in make_plan(session).calls if c.option]
    assert kinds == ["linger", "timeval"]
    member = built(step("socket", result={"sock": 1}, type="dgram"),
                   step("setsockopt", 1, option="IP_ADD_MEMBERSHIP",
                        value={"group": "239.1.1.1", "interface": "127.0.0.1"}),
                   step("setsockopt", 1, option="IP_MULTICAST_IF", value="127.0.0.1"))
    joined, chosen = [c.option for c in make_plan(member).calls if c.option]
    assert joined is not None and chosen is not None
    assert (joined.kind, chosen.kind) == ("ip_mreqn", "in_addr")
    assert joined.encoded == bytes([239, 1, 1, 1, 127, 0, 0, 1]) + struct.pack("i", 0)
    odd = built(step("socket", result={"sock": 1}),
                Step("setsockopt", 1, {"option": "SO_RCVBUF", "value": [1, 2]}))
    with pytest.raises(ExportError, match=r"^export: option SO_RCVBUF with a value of "
                                          "kind list is not exported yet$"):
        make_plan(odd)


def test_a_packet_socket_is_refused_in_one_line() -> None:
    session = built(step("socket", result={"sock": 1}, family="packet", type="raw"))
    with pytest.raises(ExportError, match=r"^export: step 0 makes a packet socket, which "
                                          r"export does not write: its frames carry"):
        make_plan(session)


def test_a_cancelled_call_is_skipped_but_bytes_a_cancelled_send_sent_are_sent() -> None:
    from workbench.core.steps import CANCELLED

    accept = step("accept", 1)
    accept.error = CANCELLED
    send = step("send", 2, {"sent": 4}, data=b"abcdefgh")
    send.error = CANCELLED
    session = built(step("socket", result={"sock": 1}), accept,
                    step("socket", result={"sock": 2}), send)
    calls = make_plan(session).calls
    assert (calls[1].skip, calls[1].error) == ("cancelled in the workbench (EINTR), so not "
                                               "made here", None)
    assert (calls[3].skip, calls[3].error, calls[3].data) == ("", None, b"abcd")
