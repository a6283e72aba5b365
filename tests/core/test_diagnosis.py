"""The diagnosis: the meaning for the failed call, causes resting on facts, fixes."""

from __future__ import annotations

import errno
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from workbench.core.diagnosis import (
    Diagnosis,
    Fact,
    FailedCall,
    cause,
    diagnose,
    explain,
    words_for_step,
)
from workbench.core.steps import CANCELLED, Step, StepError


def fact(key: str, value: Any) -> Fact:
    return Fact(key, value, "test", f"{key} = {value}")


def failed(op: str, error: str, address: str = "", family: str = "inet",
           sock_type: str = "stream", **more: Any) -> FailedCall:
    args = {"address": address} if address else {}
    return FailedCall(op, error, getattr(errno, error, 0), "", args, family, sock_type, **more)


def cited(d: Diagnosis) -> set[str]:
    return {key for claim in d.causes + d.fixes for key in claim.evidence}


def assert_cites_known_facts(d: Diagnosis) -> None:
    keys = {f.key for f in d.facts}
    assert cited(d) <= keys


# -- EINTR after a cancel ------------------------------------------------------------------


def test_cancelled_connect_says_you_cancelled_it() -> None:
    step = Step("connect", 1, {"address": "127.0.0.1:9"}, error=CANCELLED)
    d = diagnose(FailedCall.from_step(step, "inet", "stream"))
    assert d.cancelled and d.name == "EINTR"
    assert d.meaning.startswith("you cancelled the connect")
    assert "signal interrupted" not in d.meaning
    assert "new socket" in d.hint
    assert d.cause is not None and d.cause.evidence == ("step.cancelled",)
    assert_cites_known_facts(d)


def test_cancelled_recv_and_a_real_signal_differ() -> None:
    cancelled = diagnose(FailedCall("recv", "EINTR", errno.EINTR, CANCELLED.message))
    assert cancelled.meaning.startswith("you cancelled the call")
    signalled = diagnose(FailedCall("recv", "EINTR", errno.EINTR, "Interrupted system call"))
    assert not signalled.cancelled
    assert "signal arrived" in signalled.meaning
    assert all("cancelled the call (esc)" not in c.text for c in signalled.causes)


# -- EACCES ------------------------------------------------------------------------------


def test_eacces_on_an_icmp_datagram_socket_is_the_ping_range() -> None:
    f = FailedCall.from_step(Step("socket", None, {"family": "inet", "type": "dgram",
                                                   "proto": 1},
                                  error=StepError("EACCES", 13, "Permission denied")))
    d = diagnose(f, [fact("sysctl.ping_group_range", [1, 0]),
                     fact("process.ids", {"uid": 1000, "gid": 1000, "groups": [1000]}),
                     fact("sysctl.ip_unprivileged_port_start", 1024)])
    assert d.call == "socket"
    assert "ping_group_range" in d.meaning and "unprivileged_port" not in d.meaning
    assert d.cause is not None
    assert d.cause.evidence == ("sysctl.ping_group_range", "process.ids")
    assert "1 0" in d.cause.text and "no group" in d.cause.text
    assert any("1000 1000" in f.text for f in d.fixes)
    assert_cites_known_facts(d)


def test_eacces_ping_range_that_lets_the_group_in_is_not_blamed() -> None:
    f = failed("socket", "EACCES", sock_type="dgram", proto=1)
    d = diagnose(f, [fact("sysctl.ping_group_range", [0, 2000]),
                     fact("process.ids", {"uid": 1000, "gid": 1000, "groups": []})])
    assert all("ping_group_range is" not in c.text for c in d.causes)


def test_eacces_on_bind_below_the_unprivileged_start() -> None:
    facts = [fact("sysctl.ip_unprivileged_port_start", 1024),
             fact("process.caps", {"CAP_NET_BIND_SERVICE": False, "CAP_NET_RAW": False})]
    d = diagnose(failed("bind", "EACCES", "127.0.0.1:80"), facts)
    assert d.cause is not None
    assert "port 80" in d.cause.text and "(1024)" in d.cause.text
    assert "CAP_NET_BIND_SERVICE" in d.cause.text
    assert set(d.cause.evidence) == {"step.address", "sysctl.ip_unprivileged_port_start",
                                     "process.caps"}
    assert_cites_known_facts(d)


def test_eacces_on_bind_with_the_capability_points_elsewhere() -> None:
    facts = [fact("sysctl.ip_unprivileged_port_start", 1024),
             fact("process.caps", {"CAP_NET_BIND_SERVICE": True})]
    d = diagnose(failed("bind", "EACCES", "127.0.0.1:80"), facts)
    assert d.cause is not None and "security module" in d.cause.text


def test_eacces_on_broadcast_without_so_broadcast() -> None:
    f = failed("sendto", "EACCES", "255.255.255.255:9", sock_type="dgram")
    bcast = fact("address.broadcast", {"address": "255.255.255.255", "broadcast": True})
    d = diagnose(f, [bcast])
    assert d.cause is not None and "SO_BROADCAST" in d.cause.text
    with_option = FailedCall(f.op, f.error, f.number, "", f.args, "inet", "dgram",
                             options={"SO_BROADCAST": 1})
    assert all("SO_BROADCAST is not set" not in c.text
               for c in diagnose(with_option, [bcast]).causes)


# -- EADDRINUSE --------------------------------------------------------------------------


def test_eaddrinuse_meaning_differs_by_call() -> None:
    meanings = {op: diagnose(failed(op, "EADDRINUSE", "127.0.0.1:5000")).meaning
                for op in ("bind", "listen", "connect")}
    assert len(set(meanings.values())) == 3
    assert "four-tuple" in meanings["connect"]


def test_eaddrinuse_names_the_listener() -> None:
    facts = [fact("tcp.listeners", {"port": 5000, "listeners": ["0.0.0.0:5000"]}),
             fact("tcp.port", {"port": 5000, "states": {}})]
    d = diagnose(failed("bind", "EADDRINUSE", "127.0.0.1:5000"), facts)
    assert d.cause is not None and "0.0.0.0:5000" in d.cause.text
    assert d.cause.evidence == ("tcp.listeners",)


def test_eaddrinuse_time_wait_only_suggests_so_reuseaddr() -> None:
    facts = [fact("tcp.listeners", {"port": 5000, "listeners": []}),
             fact("tcp.port", {"port": 5000, "states": {"TIME_WAIT": 3}})]
    d = diagnose(failed("bind", "EADDRINUSE", "127.0.0.1:5000"), facts)
    assert d.cause is not None and "TIME_WAIT (3)" in d.cause.text
    assert d.fixes[0].text.startswith("set SO_REUSEADDR")


def test_eaddrinuse_with_nothing_visible_is_a_bound_socket() -> None:
    facts = [fact("tcp.listeners", {"port": 5000, "listeners": []}),
             fact("tcp.port", {"port": 5000, "states": {}})]
    d = diagnose(failed("bind", "EADDRINUSE", "127.0.0.1:5000"), facts)
    assert d.cause is not None and "bound but not listening" in d.cause.text


def test_eaddrinuse_on_a_unix_path() -> None:
    path = {"path": "/tmp/x.sock", "kind": "socket", "mode": "0o755", "uid": 0}
    stale = diagnose(failed("bind", "EADDRINUSE", "unix:/tmp/x.sock", "unix"),
                     [fact("unix.path", path),
                      fact("unix.listener", {"listening": False, "bound": False})])
    assert stale.cause is not None and "stale" in stale.cause.text
    assert "bind never replaces" in stale.meaning
    regular = diagnose(failed("bind", "EADDRINUSE", "unix:/tmp/x.sock", "unix"),
                       [fact("unix.path", {**path, "kind": "regular file"})])
    assert regular.cause is not None and "regular file, not a socket" in regular.cause.text


# -- ECONNREFUSED ------------------------------------------------------------------------


def test_econnrefused_no_listener_here() -> None:
    facts = [fact("address.local", {"address": "127.0.0.1", "local": True}),
             fact("tcp.listeners", {"port": 5000, "listeners": []})]
    d = diagnose(failed("connect", "ECONNREFUSED", "127.0.0.1:5000"), facts)
    assert d.cause is not None and "nothing listens on port 5000" in d.cause.text
    assert "stale" not in d.meaning  # the inet meaning, not the Unix one


def test_econnrefused_listener_on_the_other_family() -> None:
    facts = [fact("tcp.listeners", {"port": 5000, "listeners": ["[::1]:5000"]})]
    d = diagnose(failed("connect", "ECONNREFUSED", "127.0.0.1:5000"), facts)
    assert d.cause is not None and "[::1]:5000" in d.cause.text
    assert "another address or address family" in d.cause.text
    wild = [fact("tcp.listeners", {"port": 5000, "listeners": ["0.0.0.0:5000"]})]
    same = diagnose(failed("connect", "ECONNREFUSED", "127.0.0.1:5000"), wild)
    assert same.cause is not None and "started after the attempt" in same.cause.text


def test_econnrefused_from_a_full_queue_with_abort_on_overflow() -> None:
    facts = [fact("tcp.listeners", {"port": 5000, "listeners": ["127.0.0.1:5000"],
                                    "queued": {"127.0.0.1:5000": 4}}),
             fact("sysctl.tcp_abort_on_overflow", 1)]
    d = diagnose(failed("connect", "ECONNREFUSED", "127.0.0.1:5000"), facts)
    assert d.cause is not None and "tcp_abort_on_overflow is on" in d.cause.text


def test_etimedout_to_a_listener_with_a_full_queue() -> None:
    facts = [fact("tcp.listeners", {"port": 5000, "listeners": ["127.0.0.1:5000"],
                                    "queued": {"127.0.0.1:5000": 129}}),
             fact("sysctl.somaxconn", 4096),
             fact("route", {"address": "127.0.0.1", "dev": "lo", "type": "local"})]
    d = diagnose(failed("connect", "ETIMEDOUT", "127.0.0.1:5000"), facts)
    assert d.cause is not None and "129 connection(s) waiting" in d.cause.text
    assert "somaxconn = 4096" in d.cause.text


def test_econnrefused_remote_host() -> None:
    facts = [fact("address.local", {"address": "192.0.2.9", "local": False})]
    d = diagnose(failed("connect", "ECONNREFUSED", "192.0.2.9:80"), facts)
    assert d.cause is not None and "not an address of this machine" in d.cause.text


def test_econnrefused_stale_unix_socket() -> None:
    facts = [fact("unix.path", {"path": "/tmp/s", "kind": "socket"}),
             fact("unix.listener", {"listening": False, "bound": False})]
    d = diagnose(failed("connect", "ECONNREFUSED", "unix:/tmp/s", "unix"), facts)
    assert d.cause is not None and "stale socket file" in d.cause.text
    assert any("rm /tmp/s" in f.text for f in d.fixes)


# -- others ------------------------------------------------------------------------------


def test_emfile_counts_descriptors() -> None:
    facts = [fact("process.nofile", [64, 4096]), fact("process.open_fds", 64)]
    d = diagnose(failed("socket", "EMFILE"), facts)
    assert d.cause is not None and "64 descriptors are open against a limit of 64" in d.cause.text
    assert any("ulimit -n 4096" in f.text for f in d.fixes)


def test_emsgsize_compares_the_datagram() -> None:
    f = FailedCall("sendto", "EMSGSIZE", errno.EMSGSIZE, "", {"data": b"x" * 70000,
                                                              "address": "127.0.0.1:9"},
                   "inet", "dgram")
    d = diagnose(f)
    assert d.cause is not None and "70000 bytes" in d.cause.text and "65507" in d.cause.text


def test_eaddrnotavail_on_bind_names_the_address() -> None:
    facts = [fact("address.local", {"address": "192.0.2.77", "local": False})]
    d = diagnose(failed("bind", "EADDRNOTAVAIL", "192.0.2.77:0"), facts)
    assert d.cause is not None and "192.0.2.77 is not assigned" in d.cause.text


def test_no_facts_gives_the_general_causes_without_evidence() -> None:
    d = diagnose(failed("connect", "ECONNREFUSED", "127.0.0.1:5000"))
    assert d.causes and all(c.evidence == () for c in d.causes)
    assert "here:" not in d.summary()


def test_summary_carries_meaning_cause_and_hint() -> None:
    facts = [fact("tcp.listeners", {"port": 5000, "listeners": []})]
    text = diagnose(failed("connect", "ECONNREFUSED", "127.0.0.1:5000"), facts).summary()
    assert "here: nothing listens on port 5000" in text and "try: start a listener" in text


def test_json_is_serialisable() -> None:
    facts = [fact("tcp.listeners", {"port": 5000, "listeners": []})]
    out = diagnose(failed("connect", "ECONNREFUSED", "127.0.0.1:5000"), facts).to_json()
    again = json.loads(json.dumps(out))
    assert again["errno"] == "ECONNREFUSED" and again["call"] == "connect"
    assert again["causes"][0]["evidence"] == ["tcp.listeners"]
    assert {e["key"] for e in again["evidence"]} >= {"tcp.listeners"}


def test_errors_that_are_not_errnos_are_explained_not_raised() -> None:
    for name, message in (("INPUT", "no socket #4"), ("INTERNAL", "internal error: boom"),
                          ("E99999", "weird"), ("", "")):
        d = diagnose(FailedCall("send", name, 0, message))
        assert d.meaning and d.hint
    assert explain("", 0, "").name == "EUNKNOWN"


odd = st.one_of(st.none(), st.integers(), st.text(max_size=8), st.lists(st.integers(), max_size=3),
                st.dictionaries(st.text(max_size=6), st.integers(), max_size=3))
keys = st.sampled_from(["sysctl.ping_group_range", "process.ids", "process.caps",
                        "tcp.listeners", "tcp.port", "unix.path", "unix.listener",
                        "address.local", "address.broadcast", "process.nofile",
                        "sysctl.file_nr", "sysctl.ip_unprivileged_port_start",
                        "sysctl.ip_local_port_range", "step.size"])


@given(st.sampled_from(["bind", "connect", "socket", "sendto", "listen", "recv"]),
       st.sampled_from(["EACCES", "EPERM", "EADDRINUSE", "ECONNREFUSED", "EMFILE", "ENFILE",
                        "EMSGSIZE", "EADDRNOTAVAIL", "ENOENT", "EAGAIN", "EINTR", "EFOO"]),
       st.sampled_from(["127.0.0.1:80", "[::1]:0", "unix:/tmp/x", "peer:echo", "bad", ""]),
       st.dictionaries(keys, odd, max_size=6))
def test_odd_facts_never_break_the_diagnosis(op: str, error: str, address: str,
                                            values: dict[str, Any]) -> None:
    f = failed(op, error, address, sock_type="dgram" if op == "sendto" else "stream")
    d = diagnose(f, [fact(k, v) for k, v in values.items()])
    assert d.meaning and d.hint
    assert_cites_known_facts(d)


# -- routes ------------------------------------------------------------------------------


def test_enetunreach_without_a_route() -> None:
    route = fact("route", {"address": "2001:db8::1", "error": "Network is unreachable"})
    d = diagnose(failed("connect", "ENETUNREACH", "[2001:db8::1]:80", "inet6"), [route])
    assert d.cause is not None and "no route to 2001:db8::1" in d.cause.text
    assert d.cause.evidence == ("route",)


def test_ehostunreach_on_the_local_link() -> None:
    route = fact("route", {"address": "192.0.2.9", "dev": "eth0", "prefsrc": "192.0.2.2"})
    d = diagnose(failed("connect", "EHOSTUNREACH", "192.0.2.9:80"), [route])
    assert d.cause is not None and "did not answer ARP" in d.cause.text
    routed = fact("route", {"address": "198.51.100.9", "dev": "eth0", "gateway": "192.0.2.1"})
    d = diagnose(failed("connect", "EHOSTUNREACH", "198.51.100.9:80"), [routed])
    assert d.cause is not None and "via 192.0.2.1" in d.cause.text


def test_etimedout_names_the_path() -> None:
    routed = fact("route", {"address": "198.51.100.9", "dev": "eth0", "gateway": "192.0.2.1"})
    d = diagnose(failed("connect", "ETIMEDOUT", "198.51.100.9:80"), [routed])
    assert d.cause is not None and "via 192.0.2.1 on eth0" in d.cause.text


def test_emsgsize_over_the_link_mtu() -> None:
    f = FailedCall("sendto", "EMSGSIZE", errno.EMSGSIZE, "",
                   {"data": b"x" * 2000, "address": "192.0.2.9:9"}, "inet", "dgram")
    d = diagnose(f, [fact("link", {"dev": "eth0", "mtu": 1500, "operstate": "up"})])
    assert d.cause is not None and "1472 bytes at MTU 1500" in d.cause.text


def test_as_a_finding_for_a_findings_report() -> None:
    facts = [fact("tcp.listeners", {"port": 5000, "listeners": []})]
    d = diagnose(failed("connect", "ECONNREFUSED", "127.0.0.1:5000"), facts)
    found = d.to_finding(step=4, sock=2)
    assert (found["kind"], found["step"], found["sock"]) == ("error", 4, 2)
    assert found["message"].startswith("connect: ECONNREFUSED — nothing accepts")
    assert found["diagnosis"] == d.to_json()
    assert "step" not in d.to_finding()


def test_a_new_rule_is_one_function_and_first_goes_ahead() -> None:
    from workbench.core.diagnosis_rules import rule

    @rule("EXTEST")
    def general(f: FailedCall, facts: Any) -> Any:
        yield cause("the general reason")

    @rule("EXTEST", first=True)
    def precise(f: FailedCall, facts: Any) -> Any:
        if "conns.holders" in facts:
            yield cause("nginx (pid 812) holds it", "conns.holders")

    holders = fact("conns.holders", [{"pid": 812, "process": "nginx"}])
    d = diagnose(FailedCall("bind", "EXTEST"), [holders])
    assert [c.text for c in d.causes] == ["nginx (pid 812) holds it", "the general reason"]
    assert d.facts[0].key == "conns.holders"


def test_a_failed_non_blocking_connect_read_through_so_error() -> None:
    step = Step("getsockopt", 1, {"option": "SO_ERROR"}, auto=True,
                result={"value": errno.ECONNREFUSED, "errno": "ECONNREFUSED"})
    f = FailedCall.from_step(step, "inet", "stream")
    assert (f.op, f.error, f.number) == ("connect", "ECONNREFUSED", errno.ECONNREFUSED)
    meaning, _hint = words_for_step(step, "inet")
    assert meaning.startswith("nothing accepts connections")
    fine = Step("getsockopt", 1, {"option": "SO_ERROR"}, result={"value": 0, "peer": "x"})
    assert FailedCall.from_step(fine).error == "" and words_for_step(fine) == ("", "")


def test_a_bound_socket_needs_no_ephemeral_port() -> None:
    span = fact("sysctl.ip_local_port_range", [32768, 60999])
    unbound = diagnose(failed("connect", "EADDRNOTAVAIL", "127.0.0.1:80"), [span])
    assert unbound.cause is not None and "ephemeral ports 32768-60999" in unbound.cause.text
    bound = FailedCall("connect", "EADDRNOTAVAIL", 99, "", {"address": "127.0.0.1:80"},
                       "inet", "stream", local="127.0.0.1:5000")
    taken = fact("tcp.four_tuple", {"local": "127.0.0.1:5000", "remote": "127.0.0.1:80",
                                    "states": ["TIME_WAIT"]})
    d = diagnose(bound, [span, taken])
    assert [c.evidence for c in d.causes] == [("tcp.four_tuple",)]
    assert "(TIME_WAIT)" in d.causes[0].text


def test_ephemeral_ports_counted_toward_the_destination() -> None:
    span = fact("sysctl.ip_local_port_range", [60000, 60009])
    full = fact("tcp.toward", {"remote": "127.0.0.1:80", "count": 10,
                               "states": {"TIME_WAIT": 7, "ESTABLISHED": 3}})
    d = diagnose(failed("connect", "EADDRNOTAVAIL", "127.0.0.1:80"), [span, full])
    assert d.cause is not None
    assert "10 connections to this destination use up the 10 ephemeral ports" in d.cause.text
    assert "7 of them in TIME_WAIT" in d.cause.text
    few = fact("tcp.toward", {"remote": "127.0.0.1:80", "count": 2, "states": {}})
    d = diagnose(failed("connect", "EADDRNOTAVAIL", "127.0.0.1:80"), [span, few])
    assert d.cause is not None and "not exhausted" in d.cause.text


@given(st.sampled_from(["socket", "connect", "getsockopt", "expect", "recv", "x"]),
       st.dictionaries(st.sampled_from(["family", "type", "proto", "address", "option",
                                        "data"]), odd, max_size=4),
       st.one_of(st.none(), st.dictionaries(st.sampled_from(["errno", "value", "peer"]), odd,
                                            max_size=3)),
       st.one_of(st.none(), st.sampled_from(["EINTR", "ECONNREFUSED", "INPUT", "E1"])))
def test_any_recorded_step_is_explained_without_raising(op: str, args: dict[str, Any],
                                                        result: Any, name: str | None) -> None:
    error = StepError(name, 1, "m") if name else None
    step = Step(op, 1, args, result=result, error=error)
    words_for_step(step, brief=True)
    f = FailedCall.from_step(step)
    if f.error:
        assert diagnose(f).meaning


def test_the_sockets_own_state_explains_errors_of_order() -> None:
    f = FailedCall("send", "EPIPE", errno.EPIPE, "", {}, "inet", "stream", state="shut-wr")
    d = diagnose(f)
    assert d.cause is not None and d.cause.evidence == ("socket.state",)
    assert d.cause.text == "this socket was shut down for writing (its state is shut-wr)"
    peer = diagnose(FailedCall("send", "EPIPE", errno.EPIPE, "", {}, "inet", "stream",
                               state="peer-closed"))
    assert peer.cause is not None and "the peer closed" in peer.cause.text
    unknown = diagnose(FailedCall("send", "EPIPE", errno.EPIPE, "", {}, "inet", "stream"))
    assert all(c.evidence == () for c in unknown.causes)


def test_options_set_reads_the_sockets_own_setsockopt_steps() -> None:
    from workbench.core.diagnosis import options_set

    steps = [Step("setsockopt", 1, {"option": "SO_REUSEADDR", "value": 1}),
             Step("setsockopt", 2, {"option": "SO_BROADCAST", "value": 1}),
             Step("setsockopt", 1, {"option": "SO_REUSEADDR", "value": 0}),
             Step("setsockopt", 1, {"option": "SO_MARK", "value": 5},
                  error=StepError("EPERM", 1, "x")),
             Step("setsockopt", 1, {"option": "TCP_CONGESTION", "value": "bbr"})]
    assert options_set(steps, 1) == {"SO_REUSEADDR": 0}
    assert options_set(steps, 2) == {"SO_BROADCAST": 1}
