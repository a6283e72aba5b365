"""The rules on the connection table's facts (core/diagnosis_conns), without a system:
facts in, causes and fixes out, each citing the facts it rests on."""

from __future__ import annotations

from typing import Any

from workbench.core.diagnosis import Diagnosis, Fact, FailedCall, diagnose

SOURCE = "netlink sock_diag, owners from /proc/*/fd"


def holders(address: str, *sockets: dict[str, Any]) -> Fact:
    return Fact("conns.holders", {"address": address, "transport": "tcp",
                                  "sockets": list(sockets)}, SOURCE, "…")


def sock(state: str, local: str, *owners: tuple[str, int], uid: int = 0) -> dict[str, Any]:
    return {"state": state, "local": local, "uid": uid, "inode": 1,
            "owners": [{"process": n, "pid": p} for n, p in owners]}


def bind(address: str, facts: list[Fact], **more: Any) -> Diagnosis:
    call = FailedCall("bind", "EADDRINUSE", 98, "Address already in use",
                      {"address": address}, "inet", "stream", **more)
    return diagnose(call, facts)


def test_a_listener_is_named_with_its_process_and_the_fix_stops_it() -> None:
    d = bind("127.0.0.1:8080", [holders("127.0.0.1:8080",
                                        sock("LISTEN", "0.0.0.0:8080", ("nginx", 812)))])
    assert d.cause is not None and d.cause.evidence == ("conns.holders",)
    assert d.cause.text == "a socket listens on 0.0.0.0:8080: nginx (pid 812) holds it"
    assert d.fixes[0].text.startswith("stop nginx (pid 812), or bind another port")


def test_a_holder_of_another_user_is_said_to_be_hidden() -> None:
    d = bind("127.0.0.1:80", [holders("127.0.0.1:80", sock("LISTEN", "127.0.0.1:80"))])
    assert d.cause is not None and "not visible to this user" in d.cause.text


def test_only_time_wait_points_at_so_reuseaddr_unless_it_is_set() -> None:
    tw = holders("127.0.0.1:5000", sock("TIME-WAIT", "127.0.0.1:5000"),
                 sock("TIME-WAIT", "127.0.0.1:5000"))
    d = bind("127.0.0.1:5000", [tw])
    assert d.cause is not None and d.cause.evidence == ("conns.holders",)
    assert d.cause.text.startswith("only 2 connection(s) in TIME_WAIT hold 127.0.0.1:5000")
    assert d.fixes[0].text.startswith("set SO_REUSEADDR 1 before bind")
    with_reuse = bind("127.0.0.1:5000", [tw], options={"SO_REUSEADDR": 1})
    assert with_reuse.cause is not None
    assert with_reuse.cause.evidence == ("conns.holders", "option.SO_REUSEADDR")
    assert "the socket that left them had SO_REUSEADDR too" in with_reuse.cause.text


def test_the_proc_rule_steps_aside_for_the_table() -> None:
    listeners = Fact("tcp.listeners", {"port": 8080, "listeners": ["0.0.0.0:8080"],
                                       "queued": {}, "uids": {}}, "/proc/net/tcp", "…")
    table = holders("127.0.0.1:8080", sock("LISTEN", "0.0.0.0:8080", ("nginx", 812)))
    d = bind("127.0.0.1:8080", [listeners, table])
    assert [c.evidence for c in d.causes] == [("conns.holders",)]
    alone = bind("127.0.0.1:8080", [listeners])
    assert alone.cause is not None and alone.cause.evidence == ("tcp.listeners",)


def test_reuseport_cause_names_the_process_of_the_listener() -> None:
    listeners = Fact("tcp.listeners", {"port": 8080, "listeners": ["0.0.0.0:8080"],
                                       "queued": {}, "uids": {"0.0.0.0:8080": 0}},
                     "/proc/net/tcp", "…")
    me = Fact("process.ids", {"uid": 0, "gid": 0, "groups": []}, "geteuid", "…")
    table = holders("0.0.0.0:8080", sock("LISTEN", "0.0.0.0:8080", ("nginx", 812)))
    d = bind("0.0.0.0:8080", [listeners, me, table], options={"SO_REUSEPORT": 1})
    assert d.cause is not None
    assert "the listener on 0.0.0.0:8080 (nginx (pid 812)) did not" in d.cause.text
    assert "conns.holders" in d.cause.evidence and "option.SO_REUSEPORT" in d.cause.evidence


def refused(address: str, family: str, facts: list[Fact]) -> Diagnosis:
    call = FailedCall("connect", "ECONNREFUSED", 111, "Connection refused",
                      {"address": address}, family, "stream")
    return diagnose(call, facts)


def listening(port: int, *sockets: dict[str, Any]) -> Fact:
    return Fact("conns.listeners", {"address": "", "port": port, "sockets": list(sockets)},
                SOURCE, "…")


def test_a_listener_on_the_other_family_is_named() -> None:
    d = refused("127.0.0.1:631", "inet", [listening(631, sock("LISTEN", "[::1]:631",
                                                              ("cupsd", 501)))])
    assert d.cause is not None and d.cause.evidence == ("conns.listeners",)
    assert d.cause.text.startswith("cupsd (pid 501) listens on port 631, but on [::1]:631, "
                                   "not on 127.0.0.1")
    assert d.fixes[0].text.startswith("connect to [::1]:631")


def test_a_listener_on_the_wildcard_leaves_the_cause_to_the_queue_rules() -> None:
    d = refused("127.0.0.1:631", "inet", [listening(631, sock("LISTEN", "0.0.0.0:631"))])
    assert not any("conns.listeners" in c.evidence for c in d.causes)


def test_a_unix_path_bound_without_listen_names_who() -> None:
    call = FailedCall("connect", "ECONNREFUSED", 111, "Connection refused",
                      {"address": "unix:/run/x.sock"}, "unix", "stream")
    table = Fact("conns.holders", {"address": "unix:/run/x.sock", "transport": "unix",
                                   "sockets": [sock("UNCONN", "/run/x.sock", ("app", 7))]},
                 SOURCE, "…")
    d = diagnose(call, [table])
    assert d.cause is not None
    assert d.cause.text == "app (pid 7) has bound unix:/run/x.sock but does not listen on it"
