"""Findings from the connection table: what it says now of a session's connections
(TIME_WAIT, CLOSE_WAIT) and listeners (a full accept queue, listen overflows)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from export_sessions import ROOT, built, step
from inprocess import check_contract, run_cli
from jsonschema import Draft202012Validator
from support import tcp_connection, wait_until

from workbench.core.session import dumps_session
from workbench.export.findings import Table, analyse

SCHEMA = Draft202012Validator(json.loads((ROOT / "sessions" / "findings.schema.json").read_text()))


def row(state: str, local: str, peer: str, recv_q: int = 0) -> dict[str, Any]:
    return {"netid": "tcp", "state": state, "local": local, "peer": peer, "recv_q": recv_q,
            "send_q": 0}


def conn_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["kind"] == "conn-table"]


def client(local: str, peer: str) -> list[Any]:
    return [step("socket", result={"sock": 1}),
            step("connect", 1, {"local": local, "peer": peer}, address=peer),
            step("close", 1)]


def test_time_wait_and_close_wait_of_the_sessions_connections() -> None:
    session = built(*client("127.0.0.1:40000", "127.0.0.1:7"))
    table = Table([row("TIME-WAIT", "127.0.0.1:40000", "127.0.0.1:7"),
                   row("TIME-WAIT", "127.0.0.1:40001", "127.0.0.1:7")])
    (found,) = conn_findings(analyse(session, table=table)[0])
    assert (found["state"], found["steps"], found["severity"]) == ("TIME-WAIT", [2], "info")
    waiting = Table([row("CLOSE-WAIT", "127.0.0.1:40000", "127.0.0.1:7")])
    (found,) = conn_findings(analyse(session, table=waiting)[0])
    assert found["severity"] == "warning" and "CLOSE_WAIT" in found["message"]
    assert conn_findings(analyse(session, table=Table([]))[0]) == []


def test_a_listeners_full_queue_and_the_kernels_overflow_count() -> None:
    session = built(step("socket", result={"sock": 1}),
                    step("bind", 1, {"local": "127.0.0.1:8080"}, address="127.0.0.1:8080"),
                    step("listen", 1, {"local": "127.0.0.1:8080"}))
    table = Table([row("LISTEN", "127.0.0.1:8080", "0.0.0.0:*", recv_q=3)],
                  {"ListenOverflows": 12})
    found = conn_findings(analyse(session, table=table)[0])
    assert [(f["severity"], f["steps"]) for f in found] == [("warning", [2]), ("info", [2])]
    assert "3 connection(s) wait" in found[0]["message"] and found[1]["listen_overflows"] == 12


def test_export_conns_reads_the_live_table(tmp_path: Path) -> None:
    """A real TIME_WAIT: the session's client closed first, and the table says so."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        near = socket.create_connection(listener.getsockname(), timeout=10)
        far, _ = listener.accept()
        local, peer = near.getsockname(), near.getpeername()
        near.close()  # this side first: it is the one left in TIME_WAIT
        far.close()
        wait_until(lambda: (k := tcp_connection(local, peer)) is not None
                   and k.state == "TIME_WAIT", "the client's side to reach TIME_WAIT")
    text = lambda a: f"{a[0]}:{a[1]}"  # noqa: E731
    path = tmp_path / "s.json"
    path.write_text(dumps_session(built(*client(text(local), text(peer)))))
    run = run_cli("export", str(path), "--lang", "json", "--conns")
    check_contract(run, codes=(0, 1))
    reports = json.loads(run.out)
    SCHEMA.validate(reports)
    (found,) = conn_findings(reports[0])
    assert found["state"] == "TIME-WAIT" and found["steps"] == [2]


def test_conns_goes_only_with_json() -> None:
    path = str(ROOT / "sessions" / "tcp-echo.json")
    check_contract(run_cli("export", path, "--lang", "c", "--conns"),
                   words=["--conns goes with --lang json"])


def test_close_wait_on_an_accepted_connection() -> None:
    """The classic leak: the server side never closed what the client ended."""
    session = built(step("socket", result={"sock": 1}),
                    step("bind", 1, {"local": "127.0.0.1:8080"}, address="127.0.0.1:8080"),
                    step("listen", 1, {"local": "127.0.0.1:8080"}),
                    step("accept", 1, {"sock": 2, "peer": "127.0.0.1:50000"}, auto=True),
                    step("recv", 2, {"data": b"", "at": 0, "eof": True}, auto=True))
    table = Table([row("CLOSE-WAIT", "127.0.0.1:8080", "127.0.0.1:50000")])
    report = analyse(session, table=table)[1]
    (found,) = conn_findings(report)
    assert found["severity"] == "warning" and report["address"] == (
        "127.0.0.1:8080 -> 127.0.0.1:50000")
    assert found["steps"] == [4]  # no close: based on the socket's last step


def test_every_rule_of_the_schema_is_met_by_one_session() -> None:
    """The rules list is complete: a session that triggers each rule (and a table that
    holds its connection in TIME_WAIT) yields every kind the schema names."""
    session = built(
        step("socket", result={"sock": 1}),
        step("bind", 1, {"local": "127.0.0.1:8080"}, address="127.0.0.1:8080"),
        step("listen", 1, {"local": "127.0.0.1:8080"}),
        step("socket", result={"sock": 2}),
        step("setsockopt", 2, {"effective": 212992}, option="SO_RCVBUF", value=1 << 20),
        step("setsockopt", 2, option="TCP_NODELAY", value=1),
        step("setsockopt", 2, option="SO_KEEPALIVE", value=1),
        step("setsockopt", 2, option="SO_LINGER", value={"on": True, "seconds": 0}),
        step("connect", 2, error="ECONNREFUSED", address="127.0.0.1:9"),
        step("connect", 2, {"local": "127.0.0.1:40000", "peer": "127.0.0.1:8080"},
             address="127.0.0.1:8080"),
        step("getsockopt", 2, {"value": {"state": 1, "rtt": 100}}, option="TCP_INFO"),
        step("shutdown", 2, how="rd"),
        step("recv", 2, {"data": b"late"}, auto=True),
        step("close", 2), step("close", 1))
    table = Table([row("TIME-WAIT", "127.0.0.1:40000", "127.0.0.1:8080")])
    reports = analyse(session, table=table)
    SCHEMA.validate(reports)
    made = {f["kind"] for r in reports for f in r["findings"]}
    named = set(SCHEMA.schema["$defs"]["kind"]["enum"])
    assert made == named, named - made
