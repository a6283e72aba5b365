"""Findings: every example's validate against the schema, and each rule fires on the
steps it is about and says which they are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from export_sessions import EXAMPLES, ROOT, built, example, step
from jsonschema import Draft202012Validator

from workbench.core.steps import StepError
from workbench.export.findings import analyse
from workbench.io.sessionfile import load_session

SCHEMA = json.loads((ROOT / "sessions" / "findings.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)


def kinds(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        out.setdefault(finding["kind"], []).append(finding)
    return out


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_validates(path: Path) -> None:
    reports = analyse(load_session(path), path.name)
    VALIDATOR.validate(reports)
    assert reports and all(r["target"].startswith(path.name) for r in reports)
    for report in reports:
        for item in report["findings"] + report["recommendations"]:
            assert item["steps"], item  # each says what it is based on


def test_the_schema_catches_a_finding_without_its_steps() -> None:
    reports = analyse(example("connect-refused"))
    del reports[1]["findings"][0]["steps"]
    assert not VALIDATOR.is_valid(reports)


def test_rcvbuf_refused_connect_and_abortive_close() -> None:
    session = built(
        step("socket", result={"sock": 1}),
        step("setsockopt", 1, {"effective": 212992, "why": "capped at net.core.rmem_max"},
             option="SO_RCVBUF", value=1 << 20),
        step("setsockopt", 1, option="SO_LINGER", value={"on": True, "seconds": 0}),
        step("connect", 1, error="ECONNREFUSED", address="127.0.0.1:9"),
        step("close", 1))
    (report,) = analyse(session, "s.json")
    VALIDATOR.validate([report])
    found = kinds(report)
    (buffer,) = found["buffer-size"]
    assert (buffer["requested"], buffer["effective"], buffer["steps"]) == (1 << 20, 212992, [1])
    assert buffer["severity"] == "warning" and "capped at net.core.rmem_max" in buffer["message"]
    (error,) = found["error"]
    assert (error["errno"], error["steps"]) == ("ECONNREFUSED", [3])
    # the words for connect, as the workbench's diagnosis gives them, and the diagnosis
    assert "nothing accepts connections at that address" in error["message"]
    assert error["diagnosis"]["call"] == "connect"
    assert "nothing listens on that port" in [c["text"] for c in error["diagnosis"]["causes"]]
    (linger,) = found["linger"]
    assert linger["steps"] == [2, 4] and "RST instead of FIN" in linger["message"]
    assert report["status"] == "failure"
    assert any(r["kind"] == "error" and "workbench peer echo" in r["message"]
               for r in report["recommendations"])


def test_a_buffer_read_back_is_the_effective_size() -> None:
    session = built(step("socket", result={"sock": 1}),
                    step("setsockopt", 1, option="SO_SNDBUF", value=4096),
                    step("getsockopt", 1, {"value": 8192}, option="SO_SNDBUF"))
    (buffer,) = kinds(analyse(session)[0])["buffer-size"]
    assert (buffer["effective"], buffer["steps"], buffer["severity"]) == (8192, [1, 2], "info")


def test_a_listener_without_reuseaddr_and_one_with_it() -> None:
    session = built(step("socket", result={"sock": 1}),
                    step("bind", 1, address="127.0.0.1:8080"),
                    step("listen", 1))
    (finding,) = kinds(analyse(session)[0])["reuseaddr"]
    assert (finding["severity"], finding["steps"]) == ("warning", [1, 2])
    assert "reuseaddr" not in kinds(analyse(example("tcp-listener"))[0])


def test_data_after_shutdown_and_blocking_calls_without_timeouts() -> None:
    session = built(step("socket", result={"sock": 1}),
                    step("connect", 1, address="127.0.0.1:9"),
                    step("shutdown", 1, how="rd"),
                    step("recv", 1, {"data": b"late"}, auto=True))
    found = kinds(analyse(session)[0])
    (late,) = found["after-shutdown"]
    assert (late["severity"], late["steps"]) == ("warning", [2, 3])
    assert found["blocking-timeout"][0]["steps"] == [1, 3]
    timed = built(step("socket", result={"sock": 1}),
                  step("setsockopt", 1, option="SO_RCVTIMEO", value=1.0),
                  step("setsockopt", 1, option="SO_SNDTIMEO", value=1.0),
                  step("connect", 1, address="127.0.0.1:9"),
                  step("recv", 1, {"data": b"x"}, auto=True))
    assert "blocking-timeout" not in kinds(analyse(timed)[0])


def test_nodelay_and_keepalive_consequences() -> None:
    session = built(step("socket", result={"sock": 1}),
                    step("setsockopt", 1, option="TCP_NODELAY", value=1),
                    step("setsockopt", 1, option="SO_KEEPALIVE", value=1))
    report = analyse(session)[0]
    found = kinds(report)
    assert found["tcp-nodelay"][0]["steps"] == [1]
    assert found["keepalive"][0]["steps"] == [2] and "7200 s" in found["keepalive"][0]["message"]
    assert [r["kind"] for r in report["recommendations"]] == ["keepalive"]
    chatty = built(step("socket", result={"sock": 1}),
                   step("connect", 1, address="127.0.0.1:9"),
                   step("send", 1, data=b"GET "), step("send", 1, data=b"/\r\n"),
                   step("recv", 1, {"data": b"ok"}, auto=True))
    (advice,) = [r for r in analyse(chatty)[0]["recommendations"] if r["kind"] == "tcp-nodelay"]
    assert advice["steps"] == [2, 3]


def test_bandwidth_delay_product_from_tcp_info_rtt() -> None:
    session = built(step("socket", result={"sock": 1}),
                    step("setsockopt", 1, {"effective": 131072}, option="SO_RCVBUF",
                         value=65536),
                    step("connect", 1, address="127.0.0.1:9"),
                    step("getsockopt", 1, {"value": {"state": 1, "rtt": 20000}},
                         option="TCP_INFO"))
    report = analyse(session)[0]
    VALIDATOR.validate([report])
    (bdp,) = kinds(report)["bdp"]
    assert (bdp["rtt_us"], bdp["bdp_bytes"], bdp["steps"]) == (20000, 2_500_000, [1, 3])
    assert "SO_RCVBUF 131072 allows about 52 Mbit/s" in bdp["message"]


def test_a_cancelled_call_is_not_an_error() -> None:
    from workbench.core.steps import CANCELLED

    accept = step("accept", 1)
    accept.error = CANCELLED
    session = built(step("socket", result={"sock": 1}), step("listen", 1), accept)
    report = analyse(session)[0]
    assert "error" not in kinds(report) and report["status"] != "failure"


def test_addresses_of_a_client_and_of_an_accepted_socket() -> None:
    reports = analyse(example("tcp-listener"))
    assert [r["address"] for r in reports] == ["127.0.0.1:35279",
                                               "127.0.0.1:37572 -> 127.0.0.1:35279",
                                               "127.0.0.1:35279 -> 127.0.0.1:37572"]


def test_an_error_that_is_no_errno_validates_and_keeps_its_own_words() -> None:
    """A step the workbench refused (INPUT) is an error met, but has no errno name."""
    session = built(step("socket", result={"sock": 1}),
                    step("bind", 1, error="INPUT", address="127.0.0.1:0"))
    session.steps[1].error = StepError("INPUT", 0, "no network interface named 'nosuch0'")
    (report,) = analyse(session)
    VALIDATOR.validate([report])
    (error,) = kinds(report)["error"]
    assert "errno" not in error and "no network interface named 'nosuch0'" in error["message"]


def test_the_same_errno_reads_as_the_call_that_met_it() -> None:
    session = built(step("socket", result={"sock": 1}),
                    step("bind", 1, error="EADDRINUSE", address="127.0.0.1:8080"),
                    step("socket", result={"sock": 2}),
                    step("connect", 2, error="EADDRINUSE", address="127.0.0.1:9"))
    bind, connect = (kinds(r)["error"][0] for r in analyse(session))
    VALIDATOR.validate(analyse(session))
    assert (bind["diagnosis"]["call"], connect["diagnosis"]["call"]) == ("bind", "connect")
    assert bind["diagnosis"]["meaning"] != connect["diagnosis"]["meaning"]
    assert bind["diagnosis"]["meaning"] in bind["message"]


def test_one_blocking_call_reads_as_one() -> None:
    session = built(step("socket", result={"sock": 1}),
                    step("connect", 1, address="127.0.0.1:9"))
    (found,) = kinds(analyse(session)[0])["blocking-timeout"]
    assert found["message"].startswith("a blocking call with no timeout (step 1): ")
    assert "a connect as long as the kernel resends its SYN" in found["message"]
    udp = built(step("socket", result={"sock": 1}, type="dgram"),
                step("connect", 1, address="127.0.0.1:9"),
                step("send", 1, data=b"x"), step("recv", 1, {"data": b"y"}))
    (found,) = kinds(analyse(udp)[0])["blocking-timeout"]
    assert found["steps"] == [3] and "connect" not in found["message"]
