"""Raw ICMP and ping sockets exported and run in every model: a raw socket's echo
request goes out as recorded and the program compares the ICMP part of what comes
back (the kernel writes the IP header); a ping socket's reply is compared but for
the identifier and checksum the kernel sets."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from export_programs import VARIANTS, Program, build, session_of
from support import HAS_IPV6, ok, wait_until

from workbench.core.ops import normalise
from workbench.core.packets import icmp, ipv4
from workbench.core.session import Session
from workbench.core.steps import Step
from workbench.export.plan import compared_part, make_plan
from workbench.export.python import export_python
from workbench.io.engine import Engine

ROOT = os.geteuid() == 0 and sys.platform.startswith("linux")
WITHIN = 10.0
IDS = [f"{a}-{b}" for a, b in VARIANTS]
# The program in a network namespace of its own where ping sockets are allowed for
# group 0 (they are off by default: ping_group_range "1 0").
PING_ALLOWED = ["unshare", "-n", "sh", "-c", "ip link set lo up && echo '0 0' > "
                "/proc/sys/net/ipv4/ping_group_range && exec \"$@\"", "sh"]



def echo_session(engine: Engine, ident: int, bpf: str = "") -> Session:
    """A raw ICMP socket (with a capture filter when `bpf` holds its words) sends an echo
    request to 127.0.0.1 and sees the request go by on lo and the reply come back
    (auto-receive records both)."""
    sid = ok(engine.call("socket", None, WITHIN, family="inet", type="raw", proto="icmp",
                         approved=True)).result["sock"]
    if bpf:
        ok(engine.call("setsockopt", sid, WITHIN, option="SO_ATTACH_FILTER", value=bpf))
    ok(engine.call("sendto", sid, WITHIN, data=icmp.echo(ident, 7, b"raw echo"),
                   address="127.0.0.1:0"))

    def ours() -> list[bytes]:
        return [compared_part("ip", s.data) for s in engine.steps()
                if s.sock == sid and s.op == "recvfrom" and s.ok]

    reply = icmp.echo(ident, 7, b"raw echo", reply=True)
    wait_until(lambda: reply in ours(), "the echo reply", WITHIN)
    ok(engine.call("close", sid, WITHIN))
    return engine.session


@pytest.mark.skipif(not ROOT, reason="raw sockets need root on Linux")
@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=IDS)
def test_a_raw_icmp_echo_runs_and_its_icmp_part_is_compared(
        engine: Engine, lang: str, model: str, tmp_path: Path) -> None:
    session = echo_session(engine, 0x7000 + VARIANTS.index((lang, model)))
    code, out, err = Program([*build(session, lang, model, tmp_path), "--timeout",
                              "10"]).finish()
    assert code == 0, f"{out}\n{err}"
    assert "as recorded: every call ended as it did" in out, out


@pytest.mark.skipif(not ROOT, reason="raw sockets need root on Linux")
@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=IDS)
def test_a_capture_filter_is_attached_as_the_workbench_compiled_it(
        engine: Engine, lang: str, model: str, tmp_path: Path) -> None:
    """SO_ATTACH_FILTER takes a struct sock_fprog pointing at the filter: a C array, and
    in Python a ctypes buffer; the filter lets the echo through."""
    session = echo_session(engine, 0x7100 + VARIANTS.index((lang, model)),
                           bpf="icmp host 127.0.0.1")
    code, out, err = Program([*build(session, lang, model, tmp_path), "--timeout",
                              "10"]).finish()
    assert code == 0, f"{out}\n{err}"
    assert re.search(r"^step 1: setsockopt\(#1, option=SO_ATTACH_FILTER.*\): ok$", out,
                     re.M), out


def echo6_session(engine: Engine, ident: int) -> Session:
    """A raw ICMPv6 socket that lets only echo replies in (ICMP6_FILTER) pings ::1: the
    kernel fills the checksum, and no IP header comes with what it receives."""
    sid = ok(engine.call("socket", None, WITHIN, family="inet6", type="raw", proto="icmpv6",
                         approved=True)).result["sock"]
    ok(engine.call("setsockopt", sid, WITHIN, option="ICMP6_FILTER", value="129"))
    ok(engine.call("sendto", sid, WITHIN, data=icmp.echo6(ident, 3, b"raw6 echo"),
                   address="[::1]:0"))

    def replies() -> list[bytes]:
        return [s.data[4:] for s in engine.steps()
                if s.sock == sid and s.op == "recvfrom" and s.ok]

    wait_until(lambda: icmp.echo6(ident, 3, b"raw6 echo", reply=True)[4:] in replies(),
               "the echo reply", WITHIN)
    ok(engine.call("close", sid, WITHIN))
    return engine.session


@pytest.mark.skipif(not ROOT or not HAS_IPV6, reason="needs root and IPv6 loopback")
@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=IDS)
def test_a_raw_icmpv6_echo_with_a_type_filter_runs(engine: Engine, lang: str, model: str,
                                                   tmp_path: Path) -> None:
    session = echo6_session(engine, 0x7200 + VARIANTS.index((lang, model)))
    code, out, err = Program([*build(session, lang, model, tmp_path), "--timeout",
                              "10"]).finish()
    assert code == 0, f"{out}\n{err}"
    assert re.search(r"^step 1: setsockopt\(#1, option=ICMP6_FILTER, value=pass 129\): ok$",
                     out, re.M), out


def missing_reply_session() -> Session:
    """A raw ICMP socket whose recording received a reply no echo here will draw."""
    header = ipv4.build(ipv4.IPv4Header(proto=1, ttl=64, src="127.0.0.1", dst="127.0.0.1"),
                        b"")
    never = icmp.echo(0x7300, 1, b"a reply that never comes", reply=True)
    steps = [Step("socket", None, normalise("socket", {"family": "inet", "type": "raw",
                                                       "proto": "icmp", "approved": True}),
                  result={"sock": 1}),
             Step("recvfrom", 1, {}, auto=True, result={"data": header + never, "at": 0}),
             Step("close", 1, {})]
    return session_of("a reply that never comes", steps)


@pytest.mark.skipif(not ROOT, reason="raw sockets need root on Linux")
@pytest.mark.parametrize("lang", ["c", "python"])
def test_a_packet_that_never_comes_ends_the_blocking_program_within_its_timeout(
        lang: str, tmp_path: Path) -> None:
    argv = build(missing_reply_session(), lang, "blocking", tmp_path)
    code, out, err = Program([*argv, "--timeout", "0.5"]).finish()
    assert code == 1, f"{out}\n{err}"
    assert err.startswith("differs: step 1: ") and "within" in err, err


def ping_session() -> Session:
    """A ping socket's echo: the identifier recorded (4660) is not the one a program's
    socket gets, nor is the checksum."""
    ping = {"family": "inet", "type": "dgram", "proto": "icmp"}
    reply = icmp.echo(4660, 9, b"ping echo", reply=True)
    steps = [Step("socket", None, normalise("socket", ping), result={"sock": 1}),
             Step("sendto", 1, normalise("sendto", {"data": icmp.echo(4660, 9, b"ping echo"),
                                                    "address": "127.0.0.1:0"}),
                  result={"sent": 17}),
             Step("recvfrom", 1, {}, auto=True, result={"data": reply, "at": 0,
                                                        "peer": "127.0.0.1:0"}),
             Step("close", 1, {})]
    return session_of("a ping socket", steps)


@pytest.mark.skipif(not ROOT or shutil.which("unshare") is None or shutil.which("ip") is None,
                    reason="needs root, unshare (util-linux) and ip (iproute2)")
@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=IDS)
def test_a_ping_socket_echo_runs_with_another_identifier(lang: str, model: str,
                                                         tmp_path: Path) -> None:
    argv = build(ping_session(), lang, model, tmp_path)
    code, out, err = Program([*PING_ALLOWED, *argv, "--timeout", "10"]).finish()
    if code and "unshare" in err and "not permitted" in err:
        pytest.skip("cannot make a network namespace here")
    assert code == 0, f"{out}\n{err}"
    assert "datagram 1 received" in out, out


def test_what_is_compared_of_raw_and_ping_datagrams() -> None:
    request = icmp.echo(1, 2, b"x")
    packet = ipv4.build(ipv4.IPv4Header(proto=1, ttl=64, src="127.0.0.1", dst="127.0.0.1"),
                        request)
    assert compared_part("ip", packet) == request
    assert compared_part("ping", request) == request[:2] + bytes(4) + request[6:]
    assert compared_part("raw6", request) == request
    plan = make_plan(ping_session())
    assert bytes(plan.received[1].data)[2:6] == bytes(4)
    assert plan.privileges() == ["needs its group in net.ipv4.ping_group_range for its ping "
                                 "sockets"]
    assert "ping_group_range" in export_python(ping_session()).split('"""')[1]

