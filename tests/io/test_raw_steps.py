"""Raw, packet and ping sockets as engine steps, on loopback, as root: what comes back is
recorded as steps and decoded with the link the recording says (`receive_link`).

Every wait is bounded and ends on a definite event (the step the test waits for);
packet sockets see other tests' loopback traffic too, so each test looks only for its
own packets (its ports, its ICMP identifier)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from support import wait_until

from workbench.core.errors import InputError
from workbench.core.packets import icmp, ipv4, udp
from workbench.core.packets.decode import decode, receive_link
from workbench.core.packets.field import Field
from workbench.core.steps import Step
from workbench.io.engine import Engine

ROOT = os.geteuid() == 0
LINUX = sys.platform.startswith("linux")
needs_root = pytest.mark.skipif(not (ROOT and LINUX), reason="raw sockets need root on Linux")
WITHIN = 10.0



def made(step: Step) -> int:
    assert step.ok, step.error
    return int(step.result["sock"])  # type: ignore[index]


def decoded(step: Step, family: str, sock_type: str, proto: int) -> Field:
    """A received step's bytes decoded as its socket's kind and the frame's ethertype say."""
    result = step.result or {}
    return decode(step.data, receive_link(family, sock_type, proto, result.get("ethertype")))


def first_received(eng: Engine, sid: int, wanted: object, what: str) -> tuple[Step, Field]:
    """The first recvfrom step on `sid` whose decode `wanted(root)` accepts (bounded)."""
    found: list[tuple[Step, Field]] = []

    def look() -> bool:
        for step in eng.steps():
            if step.sock == sid and step.op == "recvfrom" and step.ok and step.data:
                root = wanted(step)  # type: ignore[operator]
                if root is not None:
                    found.append((step, root))
                    return True
        return False

    wait_until(look, what, WITHIN)
    return found[0]


def test_a_raw_socket_step_without_approval_is_refused_and_not_recorded(engine: Engine
                                                                       ) -> None:
    with pytest.raises(InputError) as caught:
        engine.call("socket", family="inet", type="raw", proto="icmp")
    assert "needs approval" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(InputError):
        engine.call("socket", family="packet", type="raw", proto="all")
    assert engine.steps() == []  # nothing was created, nothing recorded


@needs_root
def test_icmp_echo_through_a_raw_socket_step_gets_the_reply_decoded(engine: Engine) -> None:
    ident, seq, payload = os.getpid() & 0xFFFF, 515, b"echo through a step"
    sid = made(engine.call("socket", family="inet", type="raw", proto="icmp", approved=True))
    assert engine.steps()[0].args["approved"] is True  # the yes is in the recorded step
    sent = engine.call("sendto", sid, data=icmp.echo(ident, seq, payload),
                       address="127.0.0.1:0")
    assert sent.ok and sent.result == {"sent": 8 + len(payload), "link": "icmp"}

    def reply(step: Step) -> Field | None:
        root = decoded(step, "inet", "raw", 1)
        m = root.find("icmp")
        if m is None or m.find("type").value != icmp.ECHO_REPLY:  # type: ignore[union-attr]
            return None
        return root if m.find("ident").value == ident else None  # type: ignore[union-attr]

    _step, root = first_received(engine, sid, reply, "the echo reply as a recvfrom step")
    m = root.find("icmp")
    assert m is not None and not root.truncated
    assert (m.find("ident").value, m.find("seq").value) == (ident, seq)  # type: ignore
    assert m.find("data").value == payload  # type: ignore[union-attr]
    assert "(correct)" in m.find("checksum").text  # type: ignore[union-attr]


@pytest.fixture
def udp_receiver() -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        s.settimeout(WITHIN)
        yield s
    finally:
        s.close()


@needs_root
@pytest.mark.parametrize(("sock_type", "proto"), [("raw", "all"), ("dgram", "ipv4")])
def test_a_packet_socket_step_on_lo_sees_a_udp_datagram(engine: Engine,
                                                        udp_receiver: socket.socket,
                                                        sock_type: str, proto: str) -> None:
    port = udp_receiver.getsockname()[1]
    sid = made(engine.call("socket", family="packet", type=sock_type, proto=proto,
                           approved=True))
    # Only this test's port, compiled for the socket's link: other tests' loopback
    # floods cannot fill its queue and push our datagram out.
    assert engine.call("setsockopt", sid, option="SO_ATTACH_FILTER",
                       value=f"udp port {port}").ok
    bound = engine.call("bind", sid, address="iface:lo")
    ethertype = {"all": 3, "ipv4": 0x0800}[proto]
    assert bound.ok and bound.result == {"local": f"iface:lo,ethertype=0x{ethertype:04x}"}
    payload = b"seen by a packet socket step"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.bind(("127.0.0.1", 0))
        sender.sendto(payload, ("127.0.0.1", port))
        sport = sender.getsockname()[1]
        assert udp_receiver.recv(100) == payload  # it really went by

    def ours(step: Step) -> Field | None:
        root = decoded(step, "packet", sock_type, 0x0800)
        u = root.find("udp")
        return root if u is not None and u.find("dport").value == port else None  # type: ignore

    step, root = first_received(engine, sid, ours, "our UDP datagram on lo")
    u = root.find("udp")
    assert u is not None
    assert (u.find("sport").value, u.find("dport").value) == (sport, port)  # type: ignore
    assert root.find("udp", "data").value == payload  # type: ignore[union-attr]
    assert step.result["ethertype"] == 0x0800  # type: ignore[index]
    assert step.result["ifindex"] == socket.if_nametoindex("lo")  # type: ignore[index]
    assert step.result["pkttype"] in ("host", "outgoing")  # type: ignore[index]
    assert step.result["peer"].startswith("iface:lo,ethertype=0x0800")  # type: ignore[index]


@needs_root
def test_ip_hdrincl_with_a_hand_built_header_through_steps_is_delivered(
        engine: Engine, udp_receiver: socket.socket) -> None:
    port = udp_receiver.getsockname()[1]
    payload = b"a header built by hand"
    datagram = udp.build(40000, port, payload, "127.0.0.1", "127.0.0.1")
    packet = ipv4.build(ipv4.IPv4Header(proto=17, ttl=7, ident=0x4242), datagram)
    sid = made(engine.call("socket", family="inet", type="raw", proto="udp", approved=True,
                           auto=False))
    assert engine.call("setsockopt", sid, option="IP_HDRINCL", value="on").ok
    sent = engine.call("sendto", sid, data=packet, address="127.0.0.1:0")
    assert sent.ok and sent.result == {"sent": len(packet), "link": "ipv4"}
    data, addr = udp_receiver.recvfrom(100)
    assert (data, addr) == (payload, ("127.0.0.1", 40000))


@needs_root
def test_bad_packet_addresses_are_one_line_input_errors(engine: Engine) -> None:
    sid = made(engine.call("socket", family="packet", type="raw", proto="all", approved=True,
                           auto=False))
    for address, word in (("127.0.0.1:0", "iface:lo"), ("iface:", "interface"),
                          ("iface:lo,mac=zz", "mac")):
        with pytest.raises(InputError) as caught:
            engine.call("bind", sid, address=address)
        assert word in str(caught.value) and "\n" not in str(caught.value)
    # An interface is looked up when the call runs: the step records the mistake.
    step = engine.call("bind", sid, address="iface:nosuch0")
    assert step.error is not None and step.error.name == "INPUT"
    assert "no network interface named 'nosuch0'" in step.error.message


DROPPED = """
import json, sys
from workbench.io.engine import Engine
eng = Engine()
try:
    step = eng.call("socket", family=sys.argv[1], type=sys.argv[2], proto=sys.argv[3],
                    approved=True)
    print(json.dumps({"error": step.error.name if step.error else None,
                      "message": step.error.message if step.error else ""}))
finally:
    eng.shutdown()
"""


@needs_root
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
@pytest.mark.parametrize(("family", "sock_type", "proto", "words"), [
    ("inet", "raw", "icmp", ("CAP_NET_RAW", "ping socket")),
    ("packet", "raw", "all", ("CAP_NET_RAW", "setcap")),
])
def test_without_cap_net_raw_the_step_records_the_explanation(
        family: str, sock_type: str, proto: str, words: tuple[str, ...]) -> None:
    import json

    cmd = ["setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw", sys.executable, "-c",
           DROPPED, family, sock_type, proto]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    got = json.loads(done.stdout)
    assert got["error"] == "EPERM"
    for word in words:
        assert word in got["message"], got["message"]


@needs_root
def test_a_recorded_packet_session_fits_the_schema_and_loads_back(
        engine: Engine, udp_receiver: socket.socket) -> None:
    import json
    from pathlib import Path

    import jsonschema

    from workbench.core.session import dumps_session, loads_session

    port = udp_receiver.getsockname()[1]
    sid = made(engine.call("socket", family="packet", type="dgram", proto="ipv4",
                           approved=True))
    assert engine.call("setsockopt", sid, option="SO_ATTACH_FILTER",
                       value=f"udp port {port}").ok
    assert engine.call("bind", sid, address="iface:lo").ok
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"schema", ("127.0.0.1", port))
    first_received(engine, sid, lambda step: decoded(step, "packet", "dgram", 0x800).find(
        "udp"), "the datagram")
    text = dumps_session(engine.session)
    schema = json.loads((Path(__file__).resolve().parents[2] / "sessions" /
                         "session.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(json.loads(text))
    loaded = loads_session(text)
    created = loaded.steps[0]
    assert created.args == {"family": "packet", "type": "dgram", "proto": 0x800,
                            "auto": True, "approved": True}
    got = next(s for s in loaded.steps if s.op == "recvfrom")
    assert got.result["ethertype"] == 0x800  # type: ignore[index]


# In a network namespace of its own (`unshare -n`): ping sockets are off there ("1 0"),
# so the step records EACCES with the words; then allowed for group 0, a ping socket
# step (no approval needed) gets its echo reply as a recvfrom step.
PING_STEPS = r"""
import json, subprocess
from workbench.core.packets import icmp
from workbench.core.packets.decode import decode, receive_link
from workbench.io.engine import Engine
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
out = {}
eng = Engine()
try:
    refused = eng.call("socket", family="inet", type="dgram", proto="icmp")
    out["refused"] = [refused.error.name, refused.error.message]
    with open("/proc/sys/net/ipv4/ping_group_range", "w") as f:
        f.write("0 0")
    step = eng.call("socket", family="inet", type="dgram", proto="icmp", auto=False)
    sid = step.result["sock"]
    out["args"] = step.args
    out["sent"] = eng.call("sendto", sid, data=icmp.echo(0, 91, b"ping step"),
                           address="127.0.0.1:0").result
    got = eng.call("recvfrom", sid, within=10, size=2048)
    root = decode(got.data, receive_link("inet", "dgram", 1))
    m = root.find("icmp")
    out["reply"] = [m.find("type").value, m.find("seq").value, m.find("data").value.decode()]
finally:
    eng.shutdown()
print(json.dumps(out))
"""


@needs_root
@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None,
                    reason="needs unshare (util-linux) and ip (iproute2)")
def test_ping_socket_steps_refused_then_allowed_by_ping_group_range() -> None:
    import json

    done = subprocess.run(["unshare", "-n", sys.executable, "-c", PING_STEPS],
                          capture_output=True, text=True, timeout=60,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    if done.returncode and "unshare" in done.stderr and "not permitted" in done.stderr:
        pytest.skip("cannot make a network namespace here")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    name, message = out["refused"]
    assert name == "EACCES" and "ping_group_range" in message
    assert out["args"] == {"family": "inet", "type": "dgram", "proto": 1, "auto": False,
                           "approved": False}  # a ping socket needs no approval
    assert out["sent"] == {"sent": 17, "link": "icmp"}
    assert out["reply"] == [icmp.ECHO_REPLY, 91, "ping step"]


@needs_root
def test_the_icmpv6_filter_step_keeps_only_echo_replies(engine: Engine) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    sid = made(engine.call("socket", family="inet6", type="raw", proto="icmpv6",
                           approved=True, auto=False))
    step = engine.call("setsockopt", sid, option="ICMP6_FILTER", value="129")
    assert step.ok and step.result == {"effective": [icmp.ECHO6_REPLY]}, step
    got = engine.call("getsockopt", sid, option="ICMP6_FILTER")
    assert got.result == {"value": [icmp.ECHO6_REPLY]}


def test_stepping_through_a_file_does_not_take_its_recorded_approval() -> None:
    """The Replayer the app steps with: a raw socket step approved in the file is refused
    unless the replay itself allows raw sockets (--allow-raw)."""
    from workbench.core.session import Session
    from workbench.io.replay import Replayer

    recorded = Session()
    recorded.add(Step("socket", None, {"family": "inet", "type": "raw", "proto": 1,
                                       "auto": False, "approved": True},
                      result={"sock": 1}))
    eng = Engine()
    try:
        replayer = Replayer(recorded, eng, 5.0)
        assert replayer.run()[0].message.startswith("step 0: Raw IPv4 socket for ICMP (1) "
                                                    "needs approval")
        assert eng.steps() == []  # nothing was created
    finally:
        eng.shutdown()
