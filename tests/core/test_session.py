"""The session file format: its JSON Schema, the codec's round trips and its errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.ops import OPS, normalise
from workbench.core.session import (
    FORMAT,
    VERSION,
    PeerSpec,
    Session,
    SessionFormatError,
    dumps_session,
    loads_session,
    make_reader,
    session_to_json,
    socket_ids,
)
from workbench.core.steps import DataRef, NotKept, Step, StepError

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "sessions" / "session.schema.json"
EXAMPLES = sorted(p for p in (ROOT / "sessions").glob("*.json")
                  if not p.name.endswith(".schema.json"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


class MemorySource:
    """A ByteSource over bytes in memory, standing in for a sidecar file."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, at: int, size: int) -> bytes:
        return self.data[at:at + size]


def session_error(text: str) -> str:
    """The SessionFormatError message for text, checked to be one line."""
    with pytest.raises(SessionFormatError) as info:
        loads_session(text)
    message = str(info.value)
    assert message and "\n" not in message and "\r" not in message
    return message


def doc(*steps: dict[str, Any], **head: Any) -> str:
    return json.dumps({"format": FORMAT, "version": VERSION, **head, "steps": list(steps)})


def sample_session(payloads: list[bytes]) -> Session:
    """A session using every part of the format: peers, auto steps, errors, payloads."""
    session = Session(peers=[PeerSpec("echo", "echo"), PeerSpec("u", "echo", "udp", "[::1]:0")],
                      title="sample", created="2024-01-02T03:04:05Z")
    session.add(Step("socket", args={"family": "inet", "type": "stream"}, t=0.000012,
                     result={"sock": 1}))
    session.add(Step("connect", 1, {"address": "peer:echo"}, t=0.001, dur=0.25,
                     result={"peer": "127.0.0.1:7", "local": "127.0.0.1:40000"}))
    at = 0
    for i, data in enumerate(payloads):  # times already rounded to the 1 us the file keeps
        t = (500 + 2 * i) / 1000
        session.add(Step("send", 1, {"data": data}, t=t, result={"sent": len(data)}))
        session.add(Step("recv", 1, {}, auto=True, t=t + 0.001, result={"data": data, "at": at}))
        at += len(data)
    session.add(Step("connect", 1, {"address": "127.0.0.1:1"}, t=0.75,
                     error=StepError("ECONNREFUSED", 111, "Connection refused")))
    session.add(Step("wait", None, {"seconds": 0.1}, t=0.8, dur=0.1))
    session.add(Step("close", 1, t=0.9))
    return session


# -- the schema -------------------------------------------------------------------------


def test_there_are_example_sessions() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"tcp-echo", "udp-echo", "unix-stream", "unix-dgram", "connect-refused"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_session_matches_schema(
    path: Path, validator: jsonschema.Draft202012Validator
) -> None:
    document = json.loads(path.read_text())
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors
    assert loads_session(path.read_text()).steps  # and the codec reads it


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_session_reads_back_to_the_same_text(path: Path) -> None:
    text = path.read_text()
    assert dumps_session(loads_session(text)) == text


def test_schema_enumerates_every_op(validator: jsonschema.Draft202012Validator) -> None:
    assert set(validator.schema["$defs"]["step"]["properties"]["op"]["enum"]) == set(OPS)


@pytest.mark.parametrize("bad", [
    {"format": FORMAT, "version": 1, "steps": [], "extra": 1},
    {"format": "other", "version": 1, "steps": []},
    {"format": FORMAT, "version": 2, "steps": []},
    {"format": FORMAT, "version": 1},
    {"format": FORMAT, "version": 1, "steps": [{"op": "frobnicate"}]},
    {"format": FORMAT, "version": 1, "steps": [{"op": "close", "sock": 1, "colour": "red"}]},
    {"format": FORMAT, "version": 1, "steps": [{"op": "send", "args": {"data": "abc"}}]},
    {"format": FORMAT, "version": 1, "steps": [{"op": "send", "args": {"data": {"hex": "zz"}}}]},
    {"format": FORMAT, "version": 1,
     "steps": [{"op": "send", "args": {"data": {"text": "a", "hex": "61"}}}]},
    {"format": FORMAT, "version": 1,
     "steps": [{"op": "recv", "result": {"data": {"file": "x.data", "at": 0}}}]},
    {"format": FORMAT, "version": 1, "steps": [{"op": "recv", "error": {"number": 104}}]},
    {"format": FORMAT, "version": 1, "peers": [{"name": "e", "kind": "ftp"}], "steps": []},
], ids=["extra-key", "format", "version", "no-steps", "op", "step-key", "bare-data", "hex",
        "two-keys", "file-no-size", "errno-missing", "peer-kind"])
def test_schema_rejects(bad: dict[str, Any], validator: jsonschema.Draft202012Validator) -> None:
    assert list(validator.iter_errors(bad))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=4))
def test_written_sessions_match_schema(
    validator: jsonschema.Draft202012Validator, payloads: list[bytes]
) -> None:
    document = json.loads(dumps_session(sample_session(payloads)))
    assert not list(validator.iter_errors(document))


def test_file_payloads_match_schema(validator: jsonschema.Draft202012Validator) -> None:
    session = Session()
    session.add(Step("send", 1, {"data": b"x" * 10}, result={"sent": 10}))
    text = dumps_session(session, lambda v: {"file": "big.data", "at": 5, "size": len(v)})
    document = json.loads(text)
    assert document["steps"][0]["args"]["data"] == {"file": "big.data", "at": 5, "size": 10}
    assert not list(validator.iter_errors(document))


# -- the codec --------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=5))
def test_round_trip_keeps_every_step(payloads: list[bytes]) -> None:
    session = sample_session(payloads)
    again = loads_session(dumps_session(session))
    for step in session.steps:  # read back, a call's every argument is explicit
        step.args = step.args if step.auto else normalise(step.op, step.args)
    assert again.steps == session.steps
    assert again.peers == session.peers
    assert (again.title, again.created) == (session.title, session.created)
    assert [s.data for s in again.steps if s.op == "recv"] == payloads


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=50))
def test_data_refs_are_written_as_bytes(blob: bytes, at: int) -> None:
    source = MemorySource(bytes(at) + blob)
    session = Session()
    session.add(Step("recv", 1, auto=True, result={"data": DataRef(source, at, len(blob))}))
    again = loads_session(dumps_session(session))
    assert again.steps[0].result == {"data": blob}


def test_file_payloads_read_through_the_given_opener() -> None:
    blob = bytes(range(256)) * 4
    opened: list[str] = []

    def open_file(name: str) -> MemorySource:
        opened.append(name)
        return MemorySource(b"pad" + blob)

    text = doc({"op": "recv", "sock": 1, "result": {"data": {"file": "s.data", "at": 3,
                                                             "size": len(blob)}}})
    step = loads_session(text, make_reader(open_file)).steps[0]
    assert isinstance(step.result and step.result["data"], DataRef)
    assert step.data == blob
    assert opened == ["s.data"]
    assert "refers to a file" in session_error(text)


def test_output_is_minimal() -> None:
    session = Session()
    session.add(Step("close", 3))
    session.add(Step("recv", 3, auto=True, t=0.5, dur=0.0004, result={"data": b""}))
    document = session_to_json(session)
    assert document == {
        "format": FORMAT, "version": VERSION,
        "steps": [
            {"op": "close", "sock": 3, "t": 0.0},
            {"op": "recv", "sock": 3, "auto": True, "t": 0.5, "result": {"data": {"text": ""}}},
        ],
    }
    assert PeerSpec("echo", "echo").to_json() == {"name": "echo", "kind": "echo"}
    assert "sock" not in session_to_json(Session([Step("wait", args={"seconds": 1})]))["steps"][0]


def test_text_when_printable_else_hex() -> None:
    session = Session()
    session.add(Step("send", 1, {"data": "héllo\r\n".encode()}))
    session.add(Step("send", 1, {"data": b"\x00\xffA"}, t=1))
    steps = session_to_json(session)["steps"]
    assert steps[0]["args"]["data"] == {"text": "héllo\r\n"}
    assert steps[1]["args"]["data"] == {"hex": "00 ff 41"}


def test_key_order_is_stable() -> None:
    session = sample_session([b"abc", b"\x00\x01"])
    first = dumps_session(session)
    assert dumps_session(session) == first
    assert dumps_session(loads_session(first)) == first
    document = json.loads(first)
    assert list(document) == ["format", "version", "title", "created", "peers", "steps"]
    step_keys = ["op", "sock", "args", "auto", "t", "dur", "result", "error"]
    for step in document["steps"]:
        keys = list(step)
        assert keys == [k for k in step_keys if k in keys]
    # one step per line, so diffs of session files read step by step
    step_lines = [line for line in first.splitlines() if line.lstrip().startswith('{"op"')]
    assert len(step_lines) == len(session.steps)


def test_steps_are_written_in_start_order() -> None:
    session = Session()
    session.add(Step("recv", 1, auto=True, t=0.2, result={"data": b"pong"}))
    session.add(Step("send", 1, {"data": b"ping"}, t=0.1, dur=0.15, result={"sent": 4}))
    ops = [s["op"] for s in json.loads(dumps_session(session))["steps"]]
    assert ops == ["send", "recv"]


def test_socket_ids_in_creation_order() -> None:
    session = Session()
    session.add(Step("socketpair", args={"family": "unix"}, result={"socks": [1, 2]}))
    session.add(Step("socket", result={"sock": 3}))
    session.add(Step("accept", 3, auto=True, result={"sock": 4, "peer": "x"}))
    session.add(Step("socket", error=StepError("EMFILE", 24, "Too many open files")))
    assert socket_ids(session.steps) == [1, 2, 3, 4]


# -- errors: one line naming the problem ------------------------------------------------


def test_error_wrong_format() -> None:
    message = session_error(json.dumps({"format": "pcap", "version": 1, "steps": []}))
    assert "'pcap'" in message and FORMAT in message


@pytest.mark.parametrize("version", [0, 99, "1", None])
def test_error_bad_version(version: object) -> None:
    message = session_error(json.dumps({"format": FORMAT, "version": version, "steps": []}))
    assert f"version {version!r}" in message and "not supported" in message


def test_error_unknown_op() -> None:
    message = session_error(doc({"op": "socket", "result": {"sock": 1}}, {"op": "frobnicate"}))
    assert message.startswith("steps[1]:") and "'frobnicate'" in message and "connect" in message


@pytest.mark.parametrize(("payload", "words"), [
    ({"base64": "AAEC"}, ["unknown payload key", "'base64'"]),
    ({"hex": "de ad zz"}, ["bad hex character 'z'", "position 7"]),
    ({"text": "a", "hex": "61"}, ["exactly one key"]),
    ("abc", ["bad payload"]),
    ({"text": 5}, ["must be a string"]),
])
def test_error_bad_payload(payload: object, words: list[str]) -> None:
    message = session_error(doc({"op": "send", "sock": 1, "args": {"data": payload}}))
    assert message.startswith("steps[0].args:")
    for word in words:
        assert word in message


def test_error_bad_payload_in_a_result() -> None:
    message = session_error(doc({"op": "recv", "sock": 1, "result": {"data": {"hex": "abc"}}}))
    assert message.startswith("steps[0].result:") and "odd number of hex digits" in message


@pytest.mark.parametrize(("text", "where"), [
    ('{"format": "socket-workbench-session", "version": 1,', "line 1 column"),
    ("", "line 1 column 1"),
    ('{\n "steps": [\n  {"op": "close",}\n ]\n}', "line 3"),
])
def test_error_not_json(text: str, where: str) -> None:
    message = session_error(text)
    assert message.startswith("not valid JSON") and where in message


@pytest.mark.parametrize(("step", "words"), [
    ({"op": "close", "sock": "one"}, ["sock must be an integer"]),
    ({"op": "close", "t": "soon"}, ["t and dur must be numbers"]),
    ({"op": "close", "args": [1]}, ["steps[0].args", "must be an object"]),
    ({"op": "recv", "error": {"number": 104}}, ["error needs an errno name"]),
    ({"op": "recv", "error": {"errno": "ECONNRESET", "number": "many"}}, ["number"]),
    ("close", ["a step must be an object"]),
])
def test_error_bad_step_fields(step: object, words: list[str]) -> None:
    message = session_error(doc(step))
    for word in words:
        assert word in message


@pytest.mark.parametrize(("text", "words"), [
    ("[]", ["top level must be a JSON object"]),
    (json.dumps({"format": FORMAT, "version": 1, "steps": {}}), ["steps must be a list"]),
    (doc(peers=[{"name": "e"}]), ["peers[0]", "needs name and kind"]),
])
def test_error_bad_document(text: str, words: list[str]) -> None:
    message = session_error(text)
    for word in words:
        assert word in message


def test_not_kept_payloads_match_schema_and_read_back(
        validator: jsonschema.Draft202012Validator) -> None:
    session = Session()
    session.add(Step("recv", 1, {"size": 9}, auto=True, result={"data": NotKept(9), "at": 0}))
    document = json.loads(dumps_session(session))
    assert document["steps"][0]["result"]["data"] == {"kept": False, "size": 9}
    assert not list(validator.iter_errors(document))
    assert loads_session(dumps_session(session)).steps == session.steps
    bad = dict(document, steps=[{"op": "recv", "result": {"data": {"kept": False}}}])
    with pytest.raises(SessionFormatError, match="not-kept bytes need only a size"):
        loads_session(json.dumps(bad))
