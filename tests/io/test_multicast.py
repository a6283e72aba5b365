"""Multicast and broadcast through the engine's steps, on loopback: join a group and
receive what is sent to it, leave and receive no more; broadcast needs SO_BROADCAST."""

from __future__ import annotations

import socket

import pytest
from support import HAS_IPV6, ok, wait_until

from workbench.core.steps import Step
from workbench.io.engine import Engine

WITHIN = 10.0
GROUP = "239.255.0.1"
GROUP6 = "ff02::1:3"


def udp(engine: Engine, family: str = "inet", bind: str = "0.0.0.0:0") -> tuple[int, int]:
    """A UDP engine socket bound to `bind`: its id and port."""
    sid = ok(engine.call("socket", None, WITHIN, family=family, type="dgram")).result["sock"]
    local = ok(engine.call("bind", sid, WITHIN, address=bind)).result["local"]
    return sid, int(local.rsplit(":", 1)[1])


def got(engine: Engine, sid: int) -> list[bytes]:
    """The datagrams the socket has received (auto-receive), in order."""
    steps: list[Step] = [s for s in engine.steps()
                         if s.sock == sid and s.op == "recvfrom" and s.ok]
    return [s.data for s in steps]


def arrives(engine: Engine, sid: int, data: bytes) -> None:
    wait_until(lambda: data in got(engine, sid), f"{data!r} on socket #{sid}", WITHIN)


def members(engine: Engine, multicast_all: str) -> tuple[int, int, int, int]:
    """A member bound to 0.0.0.0:P, a witness bound to GROUP:P (unicast to 127.0.0.1:P
    reaches only the member), both in the group, and a sender: ids and P."""
    member = ok(engine.call("socket", None, WITHIN, type="dgram")).result["sock"]
    ok(engine.call("setsockopt", member, WITHIN, option="SO_REUSEADDR", value="on"))
    ok(engine.call("setsockopt", member, WITHIN, option="IP_MULTICAST_ALL", value=multicast_all))
    local = ok(engine.call("bind", member, WITHIN, address="0.0.0.0:0")).result["local"]
    port = int(local.rsplit(":", 1)[1])
    witness = ok(engine.call("socket", None, WITHIN, type="dgram")).result["sock"]
    ok(engine.call("setsockopt", witness, WITHIN, option="SO_REUSEADDR", value="on"))
    ok(engine.call("bind", witness, WITHIN, address=f"{GROUP}:{port}"))
    for sid in (member, witness):
        step = ok(engine.call("setsockopt", sid, WITHIN, option="IP_ADD_MEMBERSHIP",
                              value=f"{GROUP} 127.0.0.1"))
        assert step.args["value"] == {"group": GROUP, "interface": "127.0.0.1"}
        assert step.result is None  # a request: nothing to read back
    sender, _ = udp(engine, bind="127.0.0.1:0")
    ok(engine.call("setsockopt", sender, WITHIN, option="IP_MULTICAST_IF", value="127.0.0.1"))
    return member, witness, sender, port


def leave_and_send(engine: Engine, member: int, witness: int, sender: int, port: int) -> None:
    """Leave, send to the group, then a unicast marker to the member once the witness
    (still in the group) has the group datagram: a copy for the member would have been
    queued in that same delivery, before the marker."""
    ok(engine.call("setsockopt", member, WITHIN, option="IP_DROP_MEMBERSHIP",
                   value={"group": GROUP, "interface": "127.0.0.1"}))
    ok(engine.call("sendto", sender, WITHIN, data=b"left", address=f"{GROUP}:{port}"))
    arrives(engine, witness, b"left")
    ok(engine.call("sendto", sender, WITHIN, data=b"marker", address=f"127.0.0.1:{port}"))
    arrives(engine, member, b"marker")


def test_join_receive_leave_on_ipv4_loopback(engine: Engine) -> None:
    member, witness, sender, port = members(engine, multicast_all="off")
    ok(engine.call("sendto", sender, WITHIN, data=b"joined", address=f"{GROUP}:{port}"))
    arrives(engine, member, b"joined")
    leave_and_send(engine, member, witness, sender, port)
    assert got(engine, member) == [b"joined", b"marker"]
    assert got(engine, witness) == [b"joined", b"left"]


def test_with_multicast_all_on_a_wildcard_socket_still_gets_groups_others_joined(
        engine: Engine) -> None:
    """The kernel's default, and the pitfall the option's entry names."""
    member, witness, sender, port = members(engine, multicast_all="on")
    leave_and_send(engine, member, witness, sender, port)
    assert got(engine, member) == [b"left", b"marker"]


def test_leaving_a_group_not_joined_is_eaddrnotavail(engine: Engine) -> None:
    sid, _ = udp(engine)
    step = engine.call("setsockopt", sid, WITHIN, option="IP_DROP_MEMBERSHIP",
                       value=f"{GROUP} 127.0.0.1")
    assert step.error is not None and step.error.name == "EADDRNOTAVAIL"


def test_joining_a_unicast_address_is_refused_before_the_kernel(engine: Engine) -> None:
    from workbench.core.errors import InputError

    sid, _ = udp(engine)
    with pytest.raises(InputError, match="not multicast"):
        engine.submit("setsockopt", sid, option="IP_ADD_MEMBERSHIP", value="127.0.0.1")


def test_source_specific_membership_and_blocking(engine: Engine) -> None:
    sid, _ = udp(engine)
    for option, value in (("IP_ADD_SOURCE_MEMBERSHIP", "232.1.1.1 127.0.0.1 127.0.0.1"),
                          ("IP_DROP_SOURCE_MEMBERSHIP", "232.1.1.1 127.0.0.1 127.0.0.1"),
                          ("IP_ADD_MEMBERSHIP", f"{GROUP} 127.0.0.1"),
                          ("IP_BLOCK_SOURCE", f"{GROUP} 127.0.0.2 127.0.0.1"),
                          ("IP_UNBLOCK_SOURCE", f"{GROUP} 127.0.0.2 127.0.0.1")):
        ok(engine.call("setsockopt", sid, WITHIN, option=option, value=value))


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback here")
def test_ipv6_join_and_leave_on_loopback(engine: Engine) -> None:
    index = socket.if_nametoindex("lo")
    member, port = udp(engine, "inet6", "[::]:0")
    ok(engine.call("setsockopt", member, WITHIN, option="IPV6_JOIN_GROUP",
                   value=f"{GROUP6} {index}"))
    sender, _ = udp(engine, "inet6", "[::1]:0")
    ok(engine.call("setsockopt", sender, WITHIN, option="IPV6_MULTICAST_IF", value=index))
    step = engine.call("sendto", sender, WITHIN, data=b"six", address=f"[{GROUP6}%lo]:{port}")
    if step.error is not None and step.error.name == "ENETUNREACH":
        pytest.skip("loopback carries no IPv6 multicast here (lo has no multicast route)")
    ok(step)
    arrives(engine, member, b"six")
    ok(engine.call("setsockopt", member, WITHIN, option="IPV6_LEAVE_GROUP",
                   value={"group": GROUP6, "interface": index}))


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback here")
def test_ipv6_membership_steps_on_loopback(engine: Engine) -> None:
    index = socket.if_nametoindex("lo")
    member, _ = udp(engine, "inet6", "[::]:0")
    for option in ("IPV6_JOIN_GROUP", "IPV6_LEAVE_GROUP"):
        step = ok(engine.call("setsockopt", member, WITHIN, option=option,
                              value=f"{GROUP6}%{index}"))
        assert step.args["value"] == {"group": GROUP6, "interface": index}
    again = engine.call("setsockopt", member, WITHIN, option="IPV6_LEAVE_GROUP",
                        value=f"{GROUP6} {index}")
    assert again.error is not None and again.error.name == "EADDRNOTAVAIL"


def test_broadcast_needs_so_broadcast(engine: Engine) -> None:
    receiver, port = udp(engine)
    sender, _ = udp(engine, bind="127.0.0.1:0")
    where = f"127.255.255.255:{port}"  # loopback's broadcast address
    refused = engine.call("sendto", sender, WITHIN, data=b"no", address=where)
    assert refused.error is not None and refused.error.name == "EACCES"
    step = ok(engine.call("setsockopt", sender, WITHIN, option="SO_BROADCAST", value="on"))
    assert step.result == {"effective": 1}
    ok(engine.call("sendto", sender, WITHIN, data=b"yes", address=where))
    arrives(engine, receiver, b"yes")
    assert got(engine, receiver) == [b"yes"]


def test_eacces_is_explained_for_broadcast() -> None:
    from workbench.core.errnos import lookup

    info = lookup("EACCES")
    assert "SO_BROADCAST" in f"{info.meaning} {info.hint} {' '.join(info.causes)}"
