"""Tables of bad session files: every field of the format, each op's every argument.

A case is a session document (or raw text), the files beside it, the exit code the
contract asks for (2 for bad input) and words the one-line message must hold. The
per-argument cases are generated from the op table, so a new op or argument is
covered without a new line here. `@BUSY@` in a document stands for a loopback
address another socket holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from workbench.core.ops import OPS, REQUIRED

FORMAT = "socket-workbench-session"
NAN = float("nan")


@dataclass(frozen=True)
class Case:
    id: str
    doc: Any  # a session document, or str/bytes written as they are
    words: tuple[str, ...] = ()
    codes: tuple[int, ...] = (2,)
    # beside the session file: name -> bytes, "fifo", "dir", ("link", to) or ("sparse", size)
    files: dict[str, Any] = field(default_factory=dict)
    args: tuple[str, ...] = ()  # more replay arguments
    on_load: bool = True  # refused when loaded (open too), not only before a replay runs


def session(*steps: Any, peers: Any = None, **head: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"format": FORMAT, "version": 1}
    doc.update(head)
    if peers is not None:
        doc["peers"] = peers
    doc["steps"] = list(steps)
    return doc


SOCKET = {"op": "socket", "args": {"family": "inet", "type": "stream"}, "t": 0.0,
          "result": {"sock": 1}}


def on_sock(step: dict[str, Any]) -> dict[str, Any]:
    """A session where socket #1 exists, then `step` (at index 1)."""
    return session(SOCKET, {"t": 0.1, **step})


# A well-formed step of each op on socket #1; the cases below spoil one field at a time.
VALID_ARGS: dict[str, dict[str, Any]] = {
    "socket": {"family": "inet", "type": "dgram", "proto": 0, "auto": True},
    "socketpair": {"family": "unix", "type": "stream", "proto": 0, "auto": True},
    "setsockopt": {"option": "SO_REUSEADDR", "value": 1},
    "getsockopt": {"option": "SO_RCVBUF"},
    "set_blocking": {"blocking": False},
    "set_auto": {"auto": False},
    "set_inheritable": {"inheritable": True},
    "bind": {"address": "127.0.0.1:0"},
    "listen": {"backlog": 5},
    "accept": {},
    "connect": {"address": "127.0.0.1:9"},
    "send": {"data": {"text": "hi"}, "flags": ["MSG_NOSIGNAL"]},
    "sendto": {"data": {"hex": "00 01"}, "address": "127.0.0.1:9", "flags": []},
    "recv": {"size": 10, "flags": []},
    "recvfrom": {"size": 10, "flags": ["MSG_PEEK"]},
    "getsockname": {},
    "getpeername": {},
    "shutdown": {"how": "wr"},
    "close": {},
    "wait": {"seconds": 0.01},
    "expect": {"data": {"text": "hi"}, "timeout": 0.1},
}
RESULTS = {"socket": {"sock": 2}, "socketpair": {"socks": [2, 3]}, "accept": {"sock": 2}}


def op_step(op: str, args: dict[str, Any]) -> dict[str, Any]:
    step: dict[str, Any] = {"op": op, "args": args}
    if OPS[op].needs_socket:
        step["sock"] = 1
    if op in RESULTS:
        step["result"] = RESULTS[op]
    elif op in ("recv", "recvfrom", "accept", "expect", "connect"):
        step["error"] = {"errno": "EAGAIN", "number": 11, "message": "try again"}
    return step


# Values no argument of any op takes.
EVERY_ARG_REFUSES = {
    "null": None, "object": {}, "nested-list": [[1]], "2**70": 2**70, "1e308": 1e308,
    "nan": NAN, "surrogate": "\ud800", "x": "x",
}
# Values bad for one argument by name (good for another kind, so not above).
BAD_BY_ARG: dict[str, dict[str, Any]] = {
    "family": {"empty": "", "unknown": "inet7", "number": 2, "true": True},
    "type": {"raw": "raw", "number": 1},
    "proto": {"-1": -1, "256": 256, "float": 1.5, "text": "6", "true": True,
              "ethertype-name": "all", "65536": 65536},
    "approved": {"0": 0, "text": "yes", "1": 1},
    "auto": {"0": 0, "1": 1, "text": "true", "no": "no"},
    "blocking": {"0": 0, "text": "false"},
    "option": {"empty": "", "unknown": "SO_NOPE", "number": 1},
    "value": {"2**31": 2**31, "-2**31-1": -(2**31) - 1, "2**62": 2**62, "float": 1.5,
              "text": "often", "true": True},
    "address": {"empty": "", "blank": "   ", "no-port": "localhost", "port": "127.0.0.1:70000",
                "ipv4": "999.1.1.1:1", "peer-empty": "peer:", "peer-space": "peer:a b",
                "peer-undeclared": "peer:nope", "sock-empty": "sock:", "sock-x": "sock:x",
                "sock-99": "sock:99", "unix-long": "unix:/" + "a" * 300, "number": 5},
    "backlog": {"-1": -1, "2**31": 2**31, "float": 1.5, "text": "5", "true": True},
    "data": {"text": "hi", "list": [104, 105], "text-int": {"text": 1}, "odd-hex": {"hex": "abc"},
             "bad-hex": {"hex": "zz"}, "two-keys": {"text": "a", "hex": "61"},
             "not-kept": {"kept": False, "size": 5}, "not-kept-nosize": {"kept": False},
             "kept-true": {"kept": True, "size": 1}, "unknown-key": {"bytes": "x"},
             "surrogate-text": {"text": "\ud800"}, "empty-object": {}},
    "flags": {"5": 5, "unknown": "MSG_NOPE", "unknown-list": ["MSG_NOPE"], "int-list": [5],
              "null-list": [None], "object": {"MSG_OOB": 1}, "true": True},
    "size": {"-1": -1, "2**26+1": 2**26 + 1, "float": 1.5, "text": "10", "true": True},
    "how": {"empty": "", "both": "both", "number": 1},
    "seconds": {"-1": -1, "tiny-negative": -0.001, "86401": 86401, "text": "1", "true": True,
                "10**400": 10**400},
    "timeout": {"-1": -1, "86401": 86401, "text": "1", "true": True, "10**400": 10**400},
}


def op_arg_cases() -> Iterator[Case]:
    for name, op in OPS.items():
        valid = VALID_ARGS[name]
        yield Case(f"{name}-unknown-arg", on_sock(op_step(name, {**valid, "zzz": 1})),
                   ("steps[1]", "zzz"))
        yield Case(f"{name}-arg-named-op", on_sock(op_step(name, {**valid, "op": "x"})),
                   ("steps[1]",))
        for arg in op.args:
            if arg.default is REQUIRED:
                rest = {k: v for k, v in valid.items() if k != arg.name}
                yield Case(f"{name}-{arg.name}-missing", on_sock(op_step(name, rest)),
                           ("steps[1]", "needs"))
            bad = {**EVERY_ARG_REFUSES, **BAD_BY_ARG.get(arg.name, {})}
            for label, value in bad.items():
                doc = on_sock(op_step(name, {**valid, arg.name: value}))
                on_load = not (arg.name == "address" and isinstance(value, str)
                               and value.strip())  # parsed by the replay's check
                yield Case(f"{name}-{arg.name}-{label}", doc, ("steps[1]",), on_load=on_load)


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def header_cases() -> Iterator[Case]:
    good = session(SOCKET)
    yield from (
        Case("top-list", [], ("top level",)),
        Case("top-string", "\"session\"", ("top level",)),
        Case("top-null", "null", ("top level",)),
        Case("top-number", "12", ("top level",)),
        Case("empty-file", "", ("not valid JSON",)),
        Case("truncated", '{"format": "socket-workbench-session", "version": 1, "st',
             ("not valid JSON",)),
        Case("brackets-100000", "[" * 100_000, ("nested too deeply",)),
        Case("objects-deep", '{"a":' * 50_000, ("JSON",)),
        Case("nested-title", {**good, "title": nested(32)}, ("nested too deeply",)),
        Case("bom", "\ufeff" + json.dumps(session()), ("JSON",)),
        Case("not-utf8", b'{"format": "socket-workbench-session", "title": "\xff\xfe"}',
             ("UTF-8",)),
        Case("nul-bytes", b"\0" * 64, ("JSON",)),
        Case("format-missing", {"version": 1, "steps": []}, ("format",)),
        Case("format-wrong", {**good, "format": "other"}, ("format",)),
        Case("format-number", {**good, "format": 1}, ("format",)),
        Case("format-journal", {**good, "format": "socket-workbench-journal"}, ("format",)),
        Case("version-missing", {"format": FORMAT, "steps": []}, ("version",)),
        Case("version-0", {**good, "version": 0}, ("version",)),
        Case("version-2", {**good, "version": 2}, ("version",)),
        Case("version-true", {**good, "version": True}, ("version",)),
        Case("version-text", {**good, "version": "1"}, ("version",)),
        Case("version-float", {**good, "version": 1.0}, ("version",)),
        Case("version-nan", {**good, "version": NAN}, ("version",)),
        Case("version-400-digits", {**good, "version": 10**400}, ("version",)),
        Case("version-5000-digits", '{"format": "socket-workbench-session", "version": '
             + "9" * 5000 + ', "steps": []}', ("digits",)),
        Case("t-5000-digits", '{"format": "socket-workbench-session", "version": 1, "steps": '
             '[{"op": "wait", "t": ' + "1" * 5000 + "}]}", ("digits",)),
        Case("title-number", {**good, "title": 5}, ("title",)),
        Case("title-list", {**good, "title": ["a"]}, ("title",)),
        Case("created-object", {**good, "created": {}}, ("created",)),
        Case("unknown-key", {**good, "stepz": []}, ("stepz",)),
        Case("steps-object", {**good, "steps": {}}, ("steps must be a list",)),
        Case("steps-string", {**good, "steps": "socket"}, ("steps must be a list",)),
        Case("steps-null", {**good, "steps": None}, ("steps must be a list",)),
        Case("peers-object", {**good, "peers": {}}, ("peers",)),
        Case("peers-string", {**good, "peers": "echo"}, ("peers",)),
    )


def peer_cases() -> Iterator[Case]:
    def one(label: str, peer: Any, *words: str, args: tuple[str, ...] = ()) -> Case:
        on_load = label not in ("not-here", "port-taken", "hostname", "unix-on-tcp",
                                "tcp-on-unix")  # these fail as the peer starts
        return Case(f"peer-{label}", session(peers=[peer]), words, args=args, on_load=on_load)

    yield from (
        one("not-object", "echo", "peers[0]"),
        one("no-name", {"kind": "echo"}, "peers[0]", "name"),
        one("no-kind", {"name": "e"}, "peers[0]", "kind"),
        one("name-number", {"name": 5, "kind": "echo"}, "peers[0]"),
        one("name-empty", {"name": "", "kind": "echo"}, "peers[0]"),
        one("name-space", {"name": "a b", "kind": "echo"}, "peers[0]"),
        one("name-300", {"name": "a" * 300, "kind": "echo", "transport": "unix-stream"},
            "peers[0]"),
        one("name-surrogate", {"name": "\ud800", "kind": "echo"}, "peers[0]"),
        one("name-accent", {"name": "é", "kind": "echo"}, "peers[0]"),
        one("name-slash", {"name": "../x", "kind": "echo", "transport": "unix-stream"},
            "peers[0]"),
        one("kind-unknown", {"name": "e", "kind": "ftp"}, "peers[0]"),
        one("kind-number", {"name": "e", "kind": 1}, "peers[0]"),
        one("transport-unknown", {"name": "e", "kind": "echo", "transport": "sctp"}, "peers[0]"),
        one("transport-null", {"name": "e", "kind": "echo", "transport": None}, "peers[0]"),
        one("address-number", {"name": "e", "kind": "echo", "address": 7}, "peers[0]"),
        one("address-bad", {"name": "e", "kind": "echo", "address": "x"}, "peers[0]"),
        one("address-port", {"name": "e", "kind": "echo", "address": "127.0.0.1:99999"},
            "peers[0]"),
        one("unknown-key", {"name": "e", "kind": "echo", "port": 7}, "peers[0]", "port"),
        one("any-v4", {"name": "e", "kind": "echo", "address": "0.0.0.0:0"}, "loopback"),
        one("any-v6", {"name": "e", "kind": "echo", "address": "[::]:0"}, "loopback"),
        one("public", {"name": "e", "kind": "echo", "address": "192.0.2.1:0"}, "loopback"),
        one("not-here", {"name": "e", "kind": "echo", "address": "192.0.2.1:0"},
            "EADDRNOTAVAIL", args=("--allow-public-peers",)),
        one("port-taken", {"name": "e", "kind": "echo", "address": "@BUSY@"}, "EADDRINUSE"),
        one("hostname", {"name": "e", "kind": "echo", "address": "localhost:0"}, "e"),
        one("unix-long", {"name": "e", "kind": "echo", "transport": "unix-stream",
                          "address": "unix:/" + "a" * 300}, "peers[0]"),
        one("unix-on-tcp", {"name": "e", "kind": "echo", "address": "unix:/tmp/x.sock"}, "e"),
        one("tcp-on-unix", {"name": "e", "kind": "echo", "transport": "unix-dgram",
                            "address": "127.0.0.1:0"}, "e"),
        Case("peer-duplicate", session(peers=[{"name": "e", "kind": "echo"},
                                              {"name": "e", "kind": "discard"}]),
             ("two peers",)),
    )


def step_cases() -> Iterator[Case]:
    close = {"op": "close", "sock": 1, "t": 0.2}
    yield from (
        Case("step-not-object", session(SOCKET, "close"), ("steps[1]",)),
        Case("step-null", session(SOCKET, None), ("steps[1]",)),
        Case("op-missing", on_sock({"sock": 1}), ("steps[1]", "op")),
        Case("op-unknown", on_sock({"op": "exec", "sock": 1}), ("steps[1]", "exec")),
        Case("op-number", on_sock({"op": 3}), ("steps[1]",)),
        Case("op-list", on_sock({"op": ["close"]}), ("steps[1]",)),
        Case("op-surrogate", on_sock({"op": "\ud800"}), ("steps[1]",)),
        Case("unknown-key", on_sock({**close, "when": 1}), ("steps[1]", "when")),
        Case("args-list", on_sock({**close, "args": [1]}), ("steps[1]",)),
        Case("args-string", on_sock({**close, "args": "x"}), ("steps[1]",)),
        Case("args-null", on_sock({**close, "args": None}), ("steps[1]",)),
    )
    for label, value in {"text": "one", "true": True, "0": 0, "-1": -1, "2**70": 2**70,
                         "float": 1.0, "list": [1], "null": None}.items():
        yield Case(f"sock-{label}", on_sock({**close, "sock": value}), ("steps[1]",))
    for key in ("t", "dur"):
        for label, value in {"text": "soon", "negative": -1, "nan": NAN, "inf": float("inf"),
                             "10**400": 10**400, "true": True, "list": [0]}.items():
            yield Case(f"{key}-{label}", on_sock({**close, key: value}), ("steps[1]", key))
    for label, value in {"text": "yes", "1": 1, "null": None}.items():
        yield Case(f"auto-{label}", on_sock({"op": "recv", "sock": 1, "auto": value,
                                             "result": {"data": {"text": "a"}}}), ("steps[1]",))
    for op in ("send", "socket", "close", "connect", "wait"):
        step = op_step(op, VALID_ARGS[op])
        yield Case(f"auto-on-{op}", on_sock({**step, "auto": True}), ("steps[1]", "auto"))
    yield Case("auto-recv-bad-args", on_sock({"op": "recv", "sock": 1, "auto": True,
                                              "args": {"size": -1},
                                              "result": {"data": {"text": "a"}}}),
               ("steps[1]",))


def result_cases() -> Iterator[Case]:
    def res(label: str, op: str, result: Any, *words: str) -> Case:
        step = op_step(op, VALID_ARGS[op])
        step.pop("error", None)
        if result is not None:
            step["result"] = result
        else:
            step.pop("result", None)
        return Case(f"result-{label}", on_sock(step), ("steps[1]", *words))

    yield from (
        res("not-object", "close", [1]),
        res("string", "close", "ok"),
        res("socket-missing", "socket", None, "sock"),
        res("socket-sock-list", "socket", {"sock": [1]}, "sock"),
        res("socket-sock-text", "socket", {"sock": "2"}, "sock"),
        res("socket-sock-0", "socket", {"sock": 0}, "sock"),
        res("socket-sock-true", "socket", {"sock": True}, "sock"),
        res("socket-sock-huge", "socket", {"sock": 2**70}, "sock"),
        res("socketpair-missing", "socketpair", {}, "socks"),
        res("socketpair-one", "socketpair", {"socks": [2]}, "socks"),
        res("socketpair-same", "socketpair", {"socks": [2, 2]}, "socks"),
        res("socketpair-text", "socketpair", {"socks": "2,3"}, "socks"),
        res("socketpair-mixed", "socketpair", {"socks": [2, "3"]}, "socks"),
        res("accept-missing", "accept", {"peer": "127.0.0.1:5"}, "sock"),
        res("recv-no-data", "recv", {"at": 0}, "data"),
        res("recv-odd-hex", "recv", {"data": {"hex": "abc"}}),
        res("recv-text-int", "recv", {"data": {"text": 1}}),
        res("recv-not-kept-negative", "recv", {"data": {"kept": False, "size": -1}}),
        res("recv-not-kept-extra", "recv", {"data": {"kept": False, "size": 1, "x": 1}}),
        res("recv-at-negative", "recv", {"data": {"text": "a"}, "at": -1}, "at"),
        res("recv-at-text", "recv", {"data": {"text": "a"}, "at": "0"}, "at"),
        res("recv-eof-text", "recv", {"data": {"text": ""}, "eof": "yes"}, "eof"),
        res("recvfrom-peek-1", "recvfrom", {"data": {"text": "a"}, "peek": 1}, "peek"),
    )
    for label, err in {"not-object": "ECONNREFUSED", "no-errno": {"number": 111},
                       "errno-number": {"errno": 111}, "errno-lower": {"errno": "econnrefused"},
                       "errno-surrogate": {"errno": "E\ud800"}, "number-text": {"errno": "EIO",
                       "number": "5"}, "number-huge": {"errno": "EIO", "number": 2**40},
                       "number-true": {"errno": "EIO", "number": True},
                       "message-number": {"errno": "EIO", "message": 5},
                       "unknown-key": {"errno": "EIO", "why": "x"}}.items():
        yield Case(f"error-{label}", on_sock({"op": "close", "sock": 1, "error": err}),
                   ("steps[1]",))


def sidecar_cases() -> Iterator[Case]:
    def ref(label: str, payload: Any, files: dict[str, Any] | None = None, *words: str) -> Case:
        step = {"op": "send", "sock": 1, "args": {"data": payload}}
        return Case(f"sidecar-{label}", on_sock(step), ("steps[1]", *words),
                    files=files or {})

    five = {"s.data": b"hello"}
    yield from (
        ref("name-empty", {"file": "", "at": 0, "size": 1}),
        ref("name-dot", {"file": ".", "at": 0, "size": 1}),
        ref("name-dotdot", {"file": "..", "at": 0, "size": 1}),
        ref("name-slash", {"file": "/", "at": 0, "size": 1}),
        ref("name-path", {"file": "a/s.data", "at": 0, "size": 1}),
        ref("name-absolute", {"file": "/etc/hostname", "at": 0, "size": 1}),
        ref("name-number", {"file": 5, "at": 0, "size": 1}),
        ref("name-nul", {"file": "s\0.data", "at": 0, "size": 1}),
        ref("name-surrogate", {"file": "\ud800", "at": 0, "size": 1}),
        ref("missing", {"file": "s.data", "at": 0, "size": 1}),
        ref("at-negative", {"file": "s.data", "at": -5, "size": 1}, five),
        ref("at-text", {"file": "s.data", "at": "0", "size": 1}, five),
        ref("at-missing", {"file": "s.data", "size": 1}, five),
        ref("size-negative", {"file": "s.data", "at": 0, "size": -3}, five),
        ref("size-float", {"file": "s.data", "at": 0, "size": 1.5}, five),
        ref("size-missing", {"file": "s.data", "at": 0}, five),
        ref("at-2**62", {"file": "s.data", "at": 2**62, "size": 1}, five),
        ref("size-2**62", {"file": "s.data", "at": 0, "size": 2**62}, five),
        ref("past-end", {"file": "s.data", "at": 3, "size": 5}, five),
        ref("symlink", {"file": "s.data", "at": 0, "size": 4},
            {"secret.txt": b"secret", "s.data": ("link", "secret.txt")}),
        ref("dangling-symlink", {"file": "s.data", "at": 0, "size": 1},
            {"s.data": ("link", "nowhere")}),
        ref("fifo", {"file": "s.data", "at": 0, "size": 1}, {"s.data": "fifo"}),
        ref("directory", {"file": "s.data", "at": 0, "size": 1}, {"s.data": "dir"}),
        ref("extra-key", {"file": "s.data", "at": 0, "size": 1, "x": 1}, five),
        ref("1-TiB", {"file": "s.data", "at": 0, "size": 2**40}, {"s.data": ("sparse", 2**40)},
            "MiB"),
    )
    huge = {"op": "recv", "sock": 1, "auto": True, "result": {"data": {"kept": False}}}
    # Loading takes it (a flood past the budget is one big gap); replaying refuses it.
    yield Case("not-kept-1-TiB", on_sock({**huge, "result": {"data": {"kept": False,
                                                                         "size": 2**40}}}),
               ("the steps carry", "GiB"))
    many = [{**huge, "t": 0.1, "result": {"data": {"kept": False, "size": 2**28}}}] * 20
    yield Case("not-kept-5-GiB-in-all", session(SOCKET, *many), ("GiB",))


def reference_cases() -> Iterator[Case]:
    def refs(label: str, *steps: Any, words: tuple[str, ...] = (), at: int = 1) -> Case:
        on_load = "needs sock" in words  # the rest is the replay's check of references
        return Case(f"ref-{label}", session(*steps), (f"steps[{at}]", *words), on_load=on_load)

    yield from (
        refs("sock-99", SOCKET, {"op": "close", "sock": 99, "t": 0.1}, words=("#99",)),
        refs("before-made", {"op": "close", "sock": 1, "t": 0.0}, {**SOCKET, "t": 0.5},
             words=("#1",), at=0),
        refs("failed-socket", {"op": "socket", "error": {"errno": "EMFILE"}},
             {"op": "close", "sock": 1, "t": 0.1}, words=("#1",)),
        refs("needs-sock", SOCKET, {"op": "close", "t": 0.1}, words=("needs sock",)),
        refs("recv-needs-sock", SOCKET, {"op": "recv", "t": 0.1,
                                         "error": {"errno": "EAGAIN"}}, words=("needs sock",)),
        refs("wait-on-99", SOCKET, {"op": "wait", "sock": 99, "args": {"seconds": 0}, "t": 1},
             words=("#99",)),
        refs("auto-recv-on-7", SOCKET, {"op": "recv", "sock": 7, "auto": True, "t": 0.1,
                                        "result": {"data": {"text": "a"}}}, words=("#7",)),
        refs("auto-accept-on-3", SOCKET, {"op": "accept", "sock": 3, "auto": True, "t": 0.1,
                                          "result": {"sock": 4}}, words=("#3",)),
        refs("connect-sock-address", SOCKET, {"op": "connect", "sock": 1, "t": 0.1,
                                              "args": {"address": "sock:5"}}, words=("sock:5",)),
        refs("connect-undeclared-peer", SOCKET, {"op": "connect", "sock": 1, "t": 0.1,
                                                 "args": {"address": "peer:echo"}},
             words=("peer:echo",)),
        refs("sendto-bad-address", SOCKET, {"op": "sendto", "sock": 1, "t": 0.1, "args": {
            "data": {"text": "x"}, "address": "1.2.3:4"}}, words=("steps[1]",)),
        refs("closed-pair-member", {"op": "socketpair", "result": {"socks": [1, 2]}},
             {"op": "close", "sock": 3, "t": 0.1}, words=("#3",)),
    )


RUNS = (0, 1)  # a file that runs: it matches or it does not


def valid_cases() -> Iterator[Case]:
    """Files the contract says run: exit 0 (match) or 1 (mismatch), nothing on stderr.
    Each op's well-formed step is here, so each spoiled one above differs by one field."""
    yield Case("valid-empty", session(), (), (0,))
    yield Case("valid-wait", session({"op": "wait", "args": {"seconds": 0.01}}), (), (0,))
    yield Case("valid-socket-close", session(SOCKET, {"op": "close", "sock": 1, "t": 0.1}),
               (), (0,))
    yield Case("valid-sidecar", on_sock({"op": "sendto", "sock": 1, "args": {
        "data": {"file": "s.data", "at": 1, "size": 3}, "address": "127.0.0.1:9"}}),
        (), RUNS, {"s.data": b"hello"})
    yield Case("valid-refused", session(SOCKET, {"op": "connect", "sock": 1, "t": 0.1,
                                                 "args": {"address": "127.0.0.1:1"},
                                                 "error": {"errno": "EHOSTUNREACH"}}), (), (1,))
    yield Case("valid-peer", session(SOCKET, {"op": "connect", "sock": 1, "t": 0.1,
                                              "args": {"address": "peer:e"}},
                                     peers=[{"name": "e", "kind": "discard"}]), (), RUNS)
    for name, args in VALID_ARGS.items():
        yield Case(f"valid-op-{name}", on_sock(op_step(name, args)), (), RUNS)


RAW_ICMP = {"op": "socket", "args": {"family": "inet", "type": "raw", "proto": 1,
                                     "auto": False, "approved": True}, "result": {"sock": 1}}


def raw_cases() -> Iterator[Case]:
    """Raw and packet kinds: bad combinations refused on load; a good one refused before
    it runs unless --allow-raw says yes."""
    for label, args in (("packet-stream", {"family": "packet", "type": "stream"}),
                        ("raw-proto-0", {"family": "inet", "type": "raw"}),
                        ("raw-unix", {"family": "unix", "type": "raw", "proto": 1}),
                        ("raw-300", {"family": "inet", "type": "raw", "proto": 300}),
                        ("ping-udp-name", {"family": "inet", "type": "dgram", "proto": "all"})):
        yield Case(f"raw-{label}", session({"op": "socket", "args": args,
                                            "result": {"sock": 1}}), ("steps[0]",))
    yield Case("raw-without-allow-raw", session(RAW_ICMP), ("step 0", "--allow-raw"),
               on_load=False)
    yield Case("raw-packet-without-allow-raw", session(
        {"op": "socket", "args": {"family": "packet", "type": "raw", "proto": 3},
         "result": {"sock": 1}}), ("packet socket", "--allow-raw"), on_load=False)


def all_cases() -> list[Case]:
    cases = [*(replace(c, id=f"header-{c.id}") for c in header_cases()), *peer_cases(),
             *(replace(c, id=f"step-{c.id}") for c in step_cases()), *result_cases(),
             *sidecar_cases(), *reference_cases(), *op_arg_cases(), *valid_cases(),
             *raw_cases()]
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases
