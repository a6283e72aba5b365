"""Options that take structs and names, recorded by the real engine and exported in
every model: a multicast member joins a group on loopback and receives the datagram
sent to it (a member the test holds sees the program's datagram too), and a
congestion control algorithm set by name reads back as that name."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from export_programs import TIMEOUT, VARIANTS, Program, build
from support import HAS_IPV6, ok, wait_until

from workbench.core.options import all_options
from workbench.core.session import Session
from workbench.export.plan import make_plan
from workbench.io.engine import Engine

GROUP = "239.255.0.7"
WITHIN = 10.0
ALLOWED = Path("/proc/sys/net/ipv4/tcp_allowed_congestion_control")
IDS = [f"{a}-{b}" for a, b in VARIANTS]



@pytest.fixture
def witness() -> Iterator[socket.socket]:
    """A UDP socket in the group, bound to GROUP on a port of its own choosing (shared
    with SO_REUSEADDR): it sees every datagram sent to the group on that port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((GROUP, 0))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                    socket.inet_aton(GROUP) + socket.inet_aton("127.0.0.1"))
    sock.settimeout(TIMEOUT)
    with sock:
        yield sock


def multicast_session(engine: Engine, port: int) -> Session:
    """A member on 0.0.0.0:port joins GROUP on lo; a sender picks lo and sends to it."""
    member = ok(engine.call("socket", None, WITHIN, type="dgram")).result["sock"]
    ok(engine.call("setsockopt", member, WITHIN, option="SO_REUSEADDR", value="on"))
    ok(engine.call("bind", member, WITHIN, address=f"0.0.0.0:{port}"))
    ok(engine.call("setsockopt", member, WITHIN, option="IP_ADD_MEMBERSHIP",
                   value=f"{GROUP} 127.0.0.1"))
    sender = ok(engine.call("socket", None, WITHIN, type="dgram")).result["sock"]
    ok(engine.call("bind", sender, WITHIN, address="127.0.0.1:0"))
    ok(engine.call("setsockopt", sender, WITHIN, option="IP_MULTICAST_IF", value="127.0.0.1"))
    ok(engine.call("sendto", sender, WITHIN, data=b"to the group", address=f"{GROUP}:{port}"))
    wait_until(lambda: any(s.sock == member and s.op == "recvfrom" and s.ok
                           for s in engine.steps()), "the member to receive", WITHIN)
    ok(engine.call("close", sender, WITHIN))
    ok(engine.call("close", member, WITHIN))
    return engine.session


@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=IDS)
def test_a_multicast_member_receives_what_is_sent_to_its_group(
        engine: Engine, witness: socket.socket, lang: str, model: str, tmp_path: Path) -> None:
    port = witness.getsockname()[1]
    session = multicast_session(engine, port)
    assert witness.recv(100) == b"to the group"  # the recording's own datagram
    code, out, err = Program(build(session, lang, model, tmp_path)).finish()
    assert code == 0, f"{out}\n{err}"
    assert "IP_ADD_MEMBERSHIP" in out and "datagram 1 received" in out, out
    assert witness.recv(100) == b"to the group"  # the program's, seen from outside


GROUP6 = "ff02::1:3"


def multicast6_session(engine: Engine, port: int, index: int) -> Session | None:
    """The same on IPv6: a member on [::]:port joins GROUP6 on lo (by its index); None
    when loopback carries no IPv6 multicast here."""
    member = ok(engine.call("socket", None, WITHIN, family="inet6", type="dgram")
                ).result["sock"]
    ok(engine.call("setsockopt", member, WITHIN, option="SO_REUSEADDR", value="on"))
    ok(engine.call("bind", member, WITHIN, address=f"[::]:{port}"))
    ok(engine.call("setsockopt", member, WITHIN, option="IPV6_JOIN_GROUP",
                   value=f"{GROUP6} {index}"))
    sender = ok(engine.call("socket", None, WITHIN, family="inet6", type="dgram")
                ).result["sock"]
    ok(engine.call("bind", sender, WITHIN, address="[::1]:0"))
    ok(engine.call("setsockopt", sender, WITHIN, option="IPV6_MULTICAST_IF", value=index))
    sent = engine.call("sendto", sender, WITHIN, data=b"six", address=f"[{GROUP6}%lo]:{port}")
    if sent.error is not None and sent.error.name == "ENETUNREACH":
        return None
    ok(sent)
    wait_until(lambda: any(s.sock == member and s.op == "recvfrom" and s.ok
                           for s in engine.steps()), "the member to receive", WITHIN)
    ok(engine.call("close", sender, WITHIN))
    ok(engine.call("close", member, WITHIN))
    return engine.session


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback here")
@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=IDS)
def test_an_ipv6_multicast_member_receives_what_is_sent_to_its_group(
        engine: Engine, lang: str, model: str, tmp_path: Path) -> None:
    index = socket.if_nametoindex("lo")
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as witness:
        witness.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        witness.bind(("::", 0))
        witness.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                           socket.inet_pton(socket.AF_INET6, GROUP6)
                           + index.to_bytes(4, sys.byteorder))
        witness.settimeout(TIMEOUT)
        session = multicast6_session(engine, witness.getsockname()[1], index)
        if session is None:
            pytest.skip("loopback carries no IPv6 multicast here (lo has no multicast route)")
        assert witness.recv(100) == b"six"  # the recording's own datagram
        code, out, err = Program(build(session, lang, model, tmp_path)).finish()
        assert code == 0, f"{out}\n{err}"
        assert witness.recv(100) == b"six"  # the program's, seen from outside


def congestion_session(engine: Engine) -> Session:
    sid = ok(engine.call("socket", None, WITHIN)).result["sock"]
    ok(engine.call("setsockopt", sid, WITHIN, option="TCP_CONGESTION", value="reno"))
    read = ok(engine.call("getsockopt", sid, WITHIN, option="TCP_CONGESTION"))
    assert read.result == {"value": "reno"}
    ok(engine.call("close", sid, WITHIN))
    return engine.session


@pytest.mark.skipif(not ALLOWED.exists() or "reno" not in ALLOWED.read_text().split(),
                    reason="reno is not an allowed congestion control here")
@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=IDS)
def test_a_congestion_control_set_by_name_reads_back_as_that_name(
        engine: Engine, lang: str, model: str, tmp_path: Path) -> None:
    session = congestion_session(engine)
    code, out, err = Program(build(session, lang, model, tmp_path)).finish()
    assert code == 0, f"{out}\n{err}"
    quote = '"' if lang == "c" else "'"
    assert f"TCP_CONGESTION): {quote}reno{quote}, as recorded" in out, out
    read = next(s for s in session.steps if s.op == "getsockopt")
    read.result = {"value": "cubic"}  # a recording that read another name: it differs
    (tmp_path / "again").mkdir()
    code, out, err = Program(build(session, lang, model, tmp_path / "again")).finish()
    assert code == 1, f"{out}\n{err}"
    assert "TCP_CONGESTION)" in err and "cubic" in err and "reno" in err, err



def every_option_session(engine: Engine) -> Session:
    """Each option the catalog can set, set to its example on a socket it applies to,
    through the engine: success or the errno it met, as recorded."""
    for spec in all_options():
        if spec.readonly:
            continue
        family = next(f for f in spec.families if f != "packet")
        kind: dict[str, object] = {"family": family, "type": spec.types[0]}
        if spec.types[0] == "raw":
            kind |= {"proto": "icmp" if family == "inet" else "icmpv6", "approved": True}
        sid = ok(engine.call("socket", None, WITHIN, auto=False, **kind)).result["sock"]
        engine.call("setsockopt", sid, WITHIN, option=spec.name, value=spec.example)
        ok(engine.call("close", sid, WITHIN))
    return engine.session


@pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets and SO_BINDTODEVICE need root")
@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=IDS)
def test_every_option_set_through_the_engine_is_set_alike_by_the_program(
        engine: Engine, lang: str, model: str, tmp_path: Path) -> None:
    session = every_option_session(engine)
    code, out, err = Program(build(session, lang, model, tmp_path)).finish()
    assert code == 0, f"{out}\n{err}"
    sets = [c for c in make_plan(session).calls if c.op == "setsockopt"]
    assert len(sets) == sum(not s.readonly for s in all_options())
    for call in sets:  # each ended in the program as in the recording, and said so
        said = "ok" if call.error is None else f"{call.error}, as recorded"
        assert f"step {call.seq}: {call.title}: {said}" in out, (call.title, out)
