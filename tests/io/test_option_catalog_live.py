"""Acceptance: every catalog option this machine has, exercised through the engine on a
real socket of a type it applies to, as the options pane drives it: set from typed text
(one setsockopt step holding the read-back), read (a getsockopt step), swept (no step)."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import Any

import pytest
from support import HAS_IPV6, ok

from workbench.core.options import (
    GENERIC_WHY,
    OptionSpec,
    Unreadable,
    all_options,
    parse_option_value,
)
from workbench.core.steps import Step
from workbench.io.engine import Engine
from workbench.io.inspectors import available
from workbench.io.option_limits import read_limits

WITHIN = 10.0
LO_INDEX = socket.if_nametoindex("lo")
HERE = [s for s in all_options() if available(s)
        and (HAS_IPV6 or s.families != ("inet6",))]


def _effective_doubled(spec: OptionSpec, asked: Any) -> Any:
    return 2 * asked


# What the kernel documents it does to an example value: the effective value expected.
ADJUSTED: dict[str, Callable[[OptionSpec, Any], Any]] = {
    "SO_RCVBUF": _effective_doubled,
    "SO_SNDBUF": _effective_doubled,
}
# Values to set that this machine decides (its loopback's index, its congestion controls).
VALUES: dict[str, str] = {
    "IPV6_JOIN_GROUP": f"ff02::1:3 {LO_INDEX}",
    "IPV6_LEAVE_GROUP": f"ff02::1:3 {LO_INDEX}",
    "IPV6_MULTICAST_IF": str(LO_INDEX),
}
# Requests that need another one first (blocking a source needs an any-source join).
BEFORE = {"IP_BLOCK_SOURCE": ("IP_ADD_MEMBERSHIP", "239.255.0.2 127.0.0.1")}


class Sockets:
    """One engine socket per (family, type) an option needs, made on first use."""

    def __init__(self, engine: Engine, listener: socket.socket) -> None:
        self.engine = engine
        self.listener = listener  # the other end of a connected IPv4 stream
        self.peers: list[socket.socket] = []
        self.made: dict[tuple[str, str, bool], int] = {}

    def for_option(self, spec: OptionSpec) -> int:
        family = spec.families[0] if spec.families != ("inet", "inet6") else "inet"
        sock_type = next(t for t in ("stream", "dgram", "seqpacket") if t in spec.types)
        connected = spec.states == "connected"
        key = (family, sock_type, connected)
        if key not in self.made:
            self.made[key] = self._make(family, sock_type, connected)
        return self.made[key]

    def _make(self, family: str, sock_type: str, connected: bool) -> int:
        call = self.engine.call
        if family == "unix" and connected:
            return ok(call("socketpair", None, WITHIN, family="unix", type=sock_type)
                      ).result["socks"][0]
        sid = ok(call("socket", None, WITHIN, family=family, type=sock_type)).result["sock"]
        if connected and sock_type == "stream":
            host, port = self.listener.getsockname()
            ok(call("connect", sid, WITHIN, address=f"{host}:{port}"))
            self.peers.append(self.listener.accept()[0])
        elif connected:  # a datagram socket: connect only names the default peer
            ok(call("connect", sid, WITHIN,
                    address="127.0.0.1:9" if family == "inet" else "[::1]:9"))
        return sid


def _set(engine: Engine, sid: int, name: str, text: str) -> Step:
    return engine.call("setsockopt", sid, WITHIN, option=name, value=text)


def _check_set(engine: Engine, sid: int, spec: OptionSpec, privileged: list[str]) -> str:
    """Set the option from its example as typed; "" if all is as expected, else why not."""
    text = VALUES.get(spec.name, spec.example)
    if spec.name in BEFORE:
        ok(_set(engine, sid, *BEFORE[spec.name]))
    before = len(engine.steps())
    step = _set(engine, sid, spec.name, text)
    if step.error is not None and step.error.name in ("EPERM", "EACCES"):  # no privilege
        privileged.append(spec.name)
        return ""
    if step.error is not None:
        return f"{spec.name} {text!r}: {step.error.name} {step.error.message}"
    assert len(engine.steps()) == before + 1, "setting an option is one step"
    asked = parse_option_value(spec, text)
    assert step.args["value"] == asked, spec.name  # recorded in normal form
    if spec.writeonly:
        return "" if step.result is None else f"{spec.name}: a read-back of a request"
    return _check_read_back(spec, asked, step.result or {})


def _check_read_back(spec: OptionSpec, asked: Any, result: dict[str, Any]) -> str:
    if "unreadable" in result:
        return f"{spec.name}: read-back failed with {result['unreadable']}"
    want = ADJUSTED[spec.name](spec, asked) if spec.name in ADJUSTED else asked
    effective = result.get("effective")
    same = bool(effective) == bool(want) if spec.codec == "bool" else effective == want
    if not same and not (spec.name == "IPV6_MTU" and result.get("why")):
        return f"{spec.name}: asked {asked!r}, expected {want!r}, kernel kept {effective!r}"
    if (effective != asked) != ("why" in result):
        return f"{spec.name}: 'why' must be there exactly when the value changed: {result}"
    if result.get("why") == GENERIC_WHY:
        return f"{spec.name}: changed without a reason: {result}"
    return ""


def test_every_option_here_is_exercised_through_the_engine(
        engine: Engine, listener: socket.socket,
        record_property: Callable[[str, object], None]) -> None:
    assert len(HERE) >= 70, "the catalog is available on this machine"
    sockets, privileged = Sockets(engine, listener), []
    try:
        problems = [_exercise(engine, sockets, spec, privileged) for spec in HERE]
    finally:
        for peer in sockets.peers:
            peer.close()
    record_property("skipped_eperm", ", ".join(privileged) or "none")
    assert not [p for p in problems if p], "; ".join(p for p in problems if p)


def _exercise(engine: Engine, sockets: Sockets, spec: OptionSpec, privileged: list[str]) -> str:
    if spec.types == ("raw",):
        return ""  # the engine makes no raw sockets: see the raw test below
    sid = sockets.for_option(spec)
    if not spec.readonly:
        return _check_set(engine, sid, spec, privileged)
    step = engine.call("getsockopt", sid, WITHIN, option=spec.name)
    return f"{spec.name}: read failed with {step.error.name}" if step.error else ""


def test_ip_hdrincl_on_a_raw_socket() -> None:
    try:
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    except PermissionError:
        pytest.skip("raw sockets need CAP_NET_RAW")
    from workbench.core.options import lookup_option
    from workbench.io.inspectors import get_option, set_option

    spec = lookup_option("IP_HDRINCL")
    with raw:
        assert get_option(raw, spec) == 0
        set_option(raw, spec, parse_option_value(spec, "on"))
        assert get_option(raw, spec) == 1


# -- documented adjustments, read back in the step ------------------------------------


@pytest.mark.parametrize(("name", "typed", "expect"), [
    ("SO_RCVBUF", "-1", lambda lim: 2 * lim["net.core.rmem_max"]),
    ("SO_SNDBUF", "2000000000", lambda lim: 2 * lim["net.core.wmem_max"]),
    ("IP_TTL", "-1", lambda lim: 64),
    ("SO_RCVLOWAT", "0", lambda lim: 1),
])
def test_kernel_adjustments_come_with_the_reason(engine: Engine, name: str, typed: str,
                                                 expect: Callable[[dict[str, int]], int]) -> None:
    limits = read_limits()
    if name.startswith("SO_") and "net.core.rmem_max" not in limits:
        pytest.skip("no /proc/sys/net/core here")
    sid = ok(engine.call("socket", None, WITHIN, family="inet", type="stream")).result["sock"]
    step = ok(engine.call("setsockopt", sid, WITHIN, option=name, value=typed))
    assert step.result is not None and step.result["effective"] == expect(limits)
    assert step.result["why"] and step.result["why"] != GENERIC_WHY
    if name == "SO_RCVBUF":
        assert "reads as 4294967295 unsigned; clamped to net.core.rmem_max" in step.result["why"]


@pytest.mark.parametrize(("name", "typed", "says"), [
    ("SO_RCVTIMEO", "0.0001", "clock tick"), ("TCP_DEFER_ACCEPT", "5", "SYN-ACK"),
    ("TCP_WINDOW_CLAMP", "10", "minimum window"), ("TCP_LINGER2", "100000", "capped at"),
    ("SO_RCVBUF", "1", "raised to the minimum"), ("IP_TOS", "0x13", "ECN bits"),
])
def test_other_adjustments_are_said(engine: Engine, name: str, typed: str, says: str) -> None:
    sid = ok(engine.call("socket", None, WITHIN, family="inet", type="stream")).result["sock"]
    step = ok(engine.call("setsockopt", sid, WITHIN, option=name, value=typed))
    assert step.result is not None and step.result["effective"] != step.args["value"]
    assert says in step.result["why"]


def test_a_refused_value_is_the_steps_errno(engine: Engine) -> None:
    sid = ok(engine.call("socket", None, WITHIN, family="inet", type="stream")).result["sock"]
    step = engine.call("setsockopt", sid, WITHIN, option="TCP_MAXSEG", value=87)
    assert step.error is not None and step.error.name == "EINVAL" and step.result is None


# -- reads that are not steps ---------------------------------------------------------


def test_sweeping_options_adds_no_steps_and_setting_adds_one(engine: Engine) -> None:
    sid = ok(engine.call("socket", None, WITHIN, family="inet", type="dgram")).result["sock"]
    from workbench.io.inspectors import looker

    before = len(engine.steps())
    values = engine.inspect(sid, looker("options")).result(WITHIN)
    assert len(engine.steps()) == before
    assert values["SO_TYPE"] == socket.SOCK_DGRAM and values["SO_BROADCAST"] == 0
    assert isinstance(values["IP_MTU"], Unreadable) and values["IP_MTU"].errno == "ENOTCONN"
    assert "IP_ADD_MEMBERSHIP" not in values and "SO_ERROR" not in values
    assert "TCP_NODELAY" not in values  # only options that apply
    ok(engine.call("setsockopt", sid, WITHIN, option="SO_BROADCAST", value="on"))
    assert len(engine.steps()) == before + 1
    assert engine.inspect(sid, looker("option:SO_BROADCAST")).result(WITHIN) == 1
    assert len(engine.steps()) == before + 1


def test_tcp_info_of_a_connection(engine: Engine, listener: socket.socket) -> None:
    from workbench.io.inspectors import looker

    sid = ok(engine.call("socket", None, WITHIN, family="inet", type="stream")).result["sock"]
    host, port = listener.getsockname()
    ok(engine.call("connect", sid, WITHIN, address=f"{host}:{port}"))
    peer, _ = listener.accept()
    with peer:
        info = engine.inspect(sid, looker("tcp_info")).result(WITHIN)
    assert info["state"] == 1  # ESTABLISHED
    assert info["snd_mss"] > 0 and info["snd_cwnd"] > 0 and "rtt" in info
    assert "bytes_acked" in info and "min_rtt" in info


def test_close_on_exec_is_a_step_and_flags_show_it(engine: Engine) -> None:
    from workbench.io.inspectors import looker

    sid = ok(engine.call("socket", None, WITHIN, family="inet", type="stream")).result["sock"]
    flags = engine.inspect(sid, looker("flags")).result(WITHIN)
    assert flags == {"blocking": True, "cloexec": True}
    step = ok(engine.call("set_inheritable", sid, WITHIN, inheritable=True))
    assert step.args == {"inheritable": True}
    assert engine.inspect(sid, looker("flags")).result(WITHIN)["cloexec"] is False
    ok(engine.call("set_blocking", sid, WITHIN, blocking=False))
    ok(engine.call("set_inheritable", sid, WITHIN, inheritable=False))
    assert engine.inspect(sid, looker("flags")).result(WITHIN) == {"blocking": False,
                                                                   "cloexec": True}


def test_linger_on_zero_then_close_resets_the_peer(engine: Engine,
                                                   listener: socket.socket) -> None:
    sid = ok(engine.call("socket", None, WITHIN, family="inet", type="stream")).result["sock"]
    host, port = listener.getsockname()
    ok(engine.call("connect", sid, WITHIN, address=f"{host}:{port}"))
    peer, _ = listener.accept()
    with peer:
        peer.settimeout(WITHIN)
        step = ok(engine.call("setsockopt", sid, WITHIN, option="SO_LINGER", value="on 0"))
        assert step.args["value"] == {"on": True, "seconds": 0}
        assert step.result == {"effective": {"on": True, "seconds": 0}}
        ok(engine.call("close", sid, WITHIN))
        with pytest.raises(ConnectionResetError) as caught:
            peer.recv(16)
        assert caught.value.errno == errno.ECONNRESET


def test_limits_read_from_a_sysctl_tree(tmp_path: Any) -> None:
    from workbench.io.option_limits import congestion_choices, read_limits, read_sysctl

    (tmp_path / "net/core").mkdir(parents=True)
    (tmp_path / "net/ipv4").mkdir(parents=True)
    (tmp_path / "net/core/rmem_max").write_text("212992\n")
    (tmp_path / "net/core/wmem_max").write_text("garbage\n")
    (tmp_path / "net/ipv4/tcp_fin_timeout").write_text("")
    (tmp_path / "net/ipv4/tcp_allowed_congestion_control").write_text("reno cubic\n")
    assert read_limits(tmp_path) == {"net.core.rmem_max": 212992}
    assert read_sysctl("net.core.nothing", tmp_path) is None
    assert congestion_choices(tmp_path) == ["reno", "cubic"]
    assert congestion_choices(tmp_path / "absent") == []
