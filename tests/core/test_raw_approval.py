"""The words of the raw-socket approval: what each kind can see and send."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.raw_approval import (
    describe,
    needs_approval,
    raw_steps,
    replay_refusal,
    without_privilege,
)
from workbench.core.steps import Step


def test_raw_icmp_says_it_sees_other_programs_traffic() -> None:
    a = describe("inet", "raw", 1)
    assert a is not None and a.needs_approval
    assert a.title == "Raw IPv4 socket for ICMP (1)"
    assert "other programs' pings" in a.sees[0]
    assert any("IP_HDRINCL" in line for line in a.sends)
    text = a.text()
    assert text.startswith("Raw IPv4 socket for ICMP (1)\n\nIt can see:\n  - every ICMP")
    assert "It needs CAP_NET_RAW" in text
    assert a.record() == {"family": "inet", "type": "raw", "proto": 1,
                          "approved": "Raw IPv4 socket for ICMP (1)"}


def test_ipv6_raw_icmp_has_no_ip_header_and_no_hdrincl() -> None:
    a = describe("inet6", "raw", 58)
    assert a is not None
    assert "without the IPv6 header" in a.sees[0]
    assert not any("IP_HDRINCL" in line for line in a.sends)
    assert any("neighbor discovery" in line for line in a.sends)


def test_protocol_255_sends_only() -> None:
    a = describe("inet", "raw", 255)
    assert a is not None and a.sees == ("nothing: a protocol-255 socket receives no packets",)
    assert "IP_HDRINCL is always on" in a.sends[0]


def test_protocol_0_is_explained_as_refused() -> None:
    a = describe("inet", "raw", 0)
    assert a is not None and a.problem is not None and "EPROTONOSUPPORT" in a.problem


def test_packet_sockets() -> None:
    raw = describe("packet", "raw", 3)
    cooked = describe("packet", "dgram", 0x0800)
    assert raw is not None and cooked is not None
    assert raw.title == "Packet socket, raw (with the Ethernet header), for every protocol"
    assert "both directions" in raw.sees[0] and "every program" in raw.sees[1]
    assert cooked.title.endswith("for ethertype 0x0800 (IPv4)")
    assert "kernel writes the link header" in cooked.sends[0]
    assert describe("packet", "raw", 0).sees == ("nothing until it is bound with a protocol",)


def test_ping_sockets_need_no_approval() -> None:
    a = describe("inet", "dgram", 1)
    assert a is not None and not a.needs_approval
    assert "ping_group_range" in a.privilege
    assert not needs_approval("inet6", "dgram", 58)
    assert needs_approval("inet6", "raw", 58)


@pytest.mark.parametrize(("family", "kind", "proto"), [
    ("inet", "stream", 0), ("inet", "dgram", 0), ("inet", "dgram", 17), ("unix", "dgram", 0),
    ("inet6", "dgram", 1)])
def test_ordinary_sockets_have_nothing_to_approve(family: str, kind: str, proto: int) -> None:
    assert describe(family, kind, proto) is None and not needs_approval(family, kind, proto)


@given(st.sampled_from(("inet", "inet6", "packet")), st.sampled_from(("raw", "dgram")),
       st.integers(0, 0xFFFF))
def test_every_raw_or_packet_kind_has_words(family: str, kind: str, proto: int) -> None:
    a = describe(family, kind, proto)
    if kind == "raw" or family == "packet":
        assert a is not None and a.needs_approval
        assert a.title and (a.sees or a.problem) and "\n\n" in a.text()
    line = without_privilege(family, kind, proto)
    assert "\n" not in line and ("CAP_NET_RAW" in line or "ping_group_range" in line)


def test_without_privilege_offers_ping_sockets_for_icmp() -> None:
    assert "ping socket" in without_privilege("inet", "raw", 1)
    assert "ping socket" not in without_privilege("inet", "raw", 17)
    assert without_privilege("inet", "dgram", 1).startswith("ping sockets are off")


def _socket(seq: int, family: str, kind: str, proto: int = 0) -> Step:
    return Step("socket", args={"family": family, "type": kind, "proto": proto}, seq=seq)


def test_replay_refuses_raw_steps_in_one_line() -> None:
    steps = [_socket(0, "inet", "dgram"), Step("bind", sock=1, seq=1),
             _socket(2, "inet", "raw", 1), _socket(3, "packet", "raw", 3),
             _socket(4, "inet", "dgram", 1)]
    assert [(s.seq, a.title) for s, a in raw_steps(steps)] == [
        (2, "Raw IPv4 socket for ICMP (1)"),
        (3, "Packet socket, raw (with the Ethernet header), for every protocol")]
    assert replay_refusal(steps) == (
        "step 2 creates a raw IPv4 socket for ICMP (1), which sees every ICMP packet this "
        "host receives, other programs' included (2 raw or packet sockets in all): pass "
        "--allow-raw to replay it")
    assert replay_refusal(steps[:2] + steps[4:]) is None  # a ping socket needs no approval


@given(st.sampled_from(("inet", "inet6", "packet")), st.integers(0, 300))
def test_every_refusal_is_one_line_with_a_summary(family: str, proto: int) -> None:
    line = replay_refusal([_socket(7, family, "raw", proto)])
    assert line is not None and "\n" not in line and "which  " not in line
    assert line.startswith("step 7 creates a ") and line.endswith("--allow-raw to replay it")
