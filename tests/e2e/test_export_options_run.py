"""Options that take structs and names, recorded by the real engine and exported in
every model: a multicast member joins a group on loopback and receives the datagram
sent to it (a member the test holds sees the program's datagram too), and a
congestion control algorithm set by name reads back as that name."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from export_programs import TIMEOUT, VARIANTS, Program, build
from support import ok, threads_end, wait_until

from workbench.core.session import Session
from workbench.io.engine import Engine

GROUP = "239.255.0.7"
WITHIN = 10.0
ALLOWED = Path("/proc/sys/net/ipv4/tcp_allowed_congestion_control")
IDS = [f"{a}-{b}" for a, b in VARIANTS]


@pytest.fixture
def engine() -> Iterator[Engine]:
    eng = Engine()
    try:
        yield eng
    finally:
        eng.shutdown()
    threads_end()


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

