"""The op table: argument normalisation, its one-line errors, minimal args, descriptions."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from workbench.core.errors import InputError
from workbench.core.ops import (
    C_INT,
    OPS,
    created_sockets,
    describe,
    get_op,
    minimal_args,
    normalise,
)
from workbench.core.options import all_options, parse_option_value
from workbench.core.steps import (
    CANCELLED,
    FAMILIES,
    RECV_FLAGS,
    SEND_FLAGS,
    SHUTDOWN_HOW,
    TYPES,
    NotKept,
    Step,
    StepError,
)

# A valid value for every required argument of any op.
REQUIRED_VALUES: dict[str, Any] = {
    "address": "127.0.0.1:7",
    "data": b"x",
    "option": "SO_RCVBUF",
    "value": 1,
}

# Every argument name, by the kind of value it takes (a new argument must be sorted in).
INT_ARGS = {"proto", "backlog", "size"}
SIZE_ARGS = {"proto", "backlog", "size"}  # integers that cannot be negative
NUMBER_ARGS = {"seconds", "timeout"}
BOOL_ARGS = {"auto", "blocking", "inheritable", "approved"}
CHOICE_ARGS = {"family", "type", "how"}
FLAG_ARGS = {"flags"}
TEXT_ARGS = {"address", "option"}
DATA_ARGS = {"data"}
OPTION_VALUE_ARGS = {"value"}  # checked against the option (SO_RCVBUF in REQUIRED_VALUES)
ALL_ARG_KINDS = (INT_ARGS, NUMBER_ARGS, BOOL_ARGS, CHOICE_ARGS, FLAG_ARGS, TEXT_ARGS, DATA_ARGS,
                 OPTION_VALUE_ARGS)

OP_ARGS = [(op.name, arg.name) for op in OPS.values() for arg in op.args]


def required(op: str) -> dict[str, Any]:
    return {a.name: REQUIRED_VALUES[a.name] for a in OPS[op].args if a.required}


def assert_one_line(exc: BaseException) -> None:
    text = str(exc)
    assert text.strip(), "an InputError needs a message"
    assert "\n" not in text and "\r" not in text, f"message is not one line: {text!r}"


def assert_input_error(op: str, args: dict[str, Any]) -> InputError:
    with pytest.raises(InputError) as caught:
        normalise(op, args)
    assert_one_line(caught.value)
    return caught.value


# -- the table itself --------------------------------------------------------------------


def test_every_argument_is_classified_and_every_required_one_has_a_value() -> None:
    names = {arg for _op, arg in OP_ARGS}
    classified = set().union(*ALL_ARG_KINDS)
    assert names == classified, f"unclassified: {names - classified}, gone: {classified - names}"
    needed = {a.name for op in OPS.values() for a in op.args if a.required}
    assert needed <= set(REQUIRED_VALUES)


@pytest.mark.parametrize("name", list(OPS))
def test_required_args_normalise_to_every_declared_arg(name: str) -> None:
    op = OPS[name]
    out = normalise(name, required(name))
    assert list(out) == [a.name for a in op.args]  # every arg, in declaration order
    for arg in op.args:
        if not arg.required:
            assert out[arg.name] == arg.default, arg.name
    assert normalise(name, out) == out  # the normal form is a fixed point


@pytest.mark.parametrize("name", list(OPS))
def test_unknown_argument_names_are_input_errors(name: str) -> None:
    exc = assert_input_error(name, {**required(name), "bogus": 1})
    assert "'bogus'" in str(exc)
    if not OPS[name].args:
        assert "no arguments" in str(exc)


@pytest.mark.parametrize(("name", "arg"), [(op.name, a.name) for op in OPS.values()
                                           for a in op.args if a.required])
def test_a_missing_required_argument_is_an_input_error(name: str, arg: str) -> None:
    args = required(name)
    del args[arg]
    assert_input_error(name, args)


@pytest.mark.parametrize("name", [None, 1, "nope", "", "CONNECT", ["connect"]])
def test_unknown_ops_are_input_errors(name: Any) -> None:
    with pytest.raises(InputError) as caught:
        get_op(name)
    assert_one_line(caught.value)
    with pytest.raises(InputError):
        normalise(name, {})


# -- wrong values ------------------------------------------------------------------------

NAN, INF = math.nan, math.inf
BAD_INTS = [True, False, "1", "", 1.0, 1.5, NAN, INF, -INF, 2**70, -(2**70), 10**400,
            [1], None, {}]
BAD_NUMBERS = [True, False, "1", NAN, INF, -INF, 10**400, -1, -0.5, 86401, [1], None, {}]
BAD_BOOLS = [1, 0, 1.0, "true", "", None, [], [True], {}]
BAD_CHOICES = [["inet"], ["stream"], ["rd"], 1, True, None, "", "bogus", {}]
BAD_FLAGS = [1, True, None, 1.5, {"MSG_OOB": 1}, ["BOGUS"], [1], [None], [True], "BOGUS",
             [["MSG_OOB"]], [{}], [{"MSG_OOB": 1}]]
BAD_TEXTS = [["127.0.0.1:7"], ["SO_RCVBUF"], 1, True, None, "", "   ", {}, 1.5]
BAD_DATA = ["text", "", 1, True, None, [1, 2], {"text": "hi"}, NotKept(3)]
BAD_OPTION_VALUES = [True, False, "", "lots", "1.5", 1.0, 1.5, NAN, INF, -INF, 2**31,
                     -(2**31) - 1, 2**70, 10**400, [1], None, {}, {"on": True}]


def bad_values(arg: str) -> list[Any]:
    if arg in INT_ARGS:
        return BAD_INTS + ([-1, -(2**31)] if arg in SIZE_ARGS else [2**31, -(2**31) - 1])
    for kinds, values in ((NUMBER_ARGS, BAD_NUMBERS), (BOOL_ARGS, BAD_BOOLS),
                          (CHOICE_ARGS, BAD_CHOICES), (FLAG_ARGS, BAD_FLAGS),
                          (TEXT_ARGS, BAD_TEXTS), (DATA_ARGS, BAD_DATA),
                          (OPTION_VALUE_ARGS, BAD_OPTION_VALUES)):
        if arg in kinds:
            return values
    raise AssertionError(f"argument {arg} is not classified")


BAD_CASES = [pytest.param(op, arg, value, id=f"{op}-{arg}-{value!r}"[:60])
             for op, arg in OP_ARGS for value in bad_values(arg)]


@pytest.mark.parametrize(("name", "arg", "value"), BAD_CASES)
def test_wrong_values_are_one_line_input_errors(name: str, arg: str, value: Any) -> None:
    exc = assert_input_error(name, {**required(name), arg: value})
    named = (arg, "flag", "unknown", "SO_RCVBUF")  # an option value names its option
    assert any(word in str(exc) for word in named), str(exc)


@pytest.mark.parametrize(("name", "arg"), [(op, arg) for op, arg in OP_ARGS
                                           if arg in INT_ARGS | NUMBER_ARGS
                                           | OPTION_VALUE_ARGS])
def test_huge_integers_are_input_errors(name: str, arg: str) -> None:
    """An integer too long for repr() (over 4300 digits) is still a one-line InputError."""
    assert_input_error(name, {**required(name), arg: 10**5000})


@pytest.mark.parametrize(("name", "arg", "value"), [
    ("socket", "family", "INET6"), ("socket", "type", "DGRAM"), ("shutdown", "how", "RD"),
    ("listen", "backlog", 0), ("recv", "size", 0), ("recv", "size", 1 << 26),
    ("setsockopt", "value", -(2**31)), ("setsockopt", "value", 2**31 - 1),
    ("wait", "seconds", 0), ("wait", "seconds", 86400), ("expect", "timeout", 0.25),
    ("send", "flags", "msg_oob | MSG_MORE"), ("recv", "flags", ["msg_peek", " "]),
    ("setsockopt", "option", " so_rcvbuf "), ("bind", "address", "  unix:/tmp/x  "),
    ("send", "data", bytearray(b"ab")), ("send", "data", memoryview(b"ab")),
])
def test_edge_values_are_accepted(name: str, arg: str, value: Any) -> None:
    out = normalise(name, {**required(name), arg: value})
    assert normalise(name, out) == out


def test_normal_forms() -> None:
    assert normalise("socket", {"family": "INET6", "type": "DGRAM"})["family"] == "inet6"
    assert normalise("send", {"data": bytearray(b"ab"), "flags": "msg_oob|MSG_MORE"}) == {
        "data": b"ab", "flags": ["MSG_OOB", "MSG_MORE"]}
    assert normalise("setsockopt", {"option": "so_rcvbuf", "value": 5})["option"] == "SO_RCVBUF"
    assert normalise("bind", {"address": " 127.0.0.1:7 "}) == {"address": "127.0.0.1:7"}
    assert normalise("wait", {"seconds": 5}) == {"seconds": 5}  # as written: 5 stays 5


# -- arbitrary JSON-like values ----------------------------------------------------------

JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@pytest.mark.parametrize(("name", "arg"), OP_ARGS)
@settings(max_examples=60, deadline=None)
@given(value=JSON_LIKE)
def test_any_json_value_is_accepted_or_an_input_error(name: str, arg: str, value: Any) -> None:
    try:
        out = normalise(name, {**required(name), arg: value})
    except InputError as exc:
        assert_one_line(exc)
        return
    assert list(out) == [a.name for a in OPS[name].args]
    assert normalise(name, out) == out


ARG_NAMES = sorted({arg for _op, arg in OP_ARGS})


@settings(max_examples=300, deadline=None)
@example(name="recv", args={"flags": [[]]})  # an unhashable flag: found by the test above
@given(name=st.sampled_from(list(OPS)),
       args=st.dictionaries(st.sampled_from(ARG_NAMES) | st.text(max_size=8), JSON_LIKE,
                            max_size=5))
def test_any_json_arguments_are_accepted_or_an_input_error(name: str,
                                                           args: dict[str, Any]) -> None:
    try:
        out = normalise(name, args)
    except InputError as exc:
        assert_one_line(exc)
        return
    assert set(out) == set(OPS[name].arg_map)


# -- minimal args ------------------------------------------------------------------------


def _cased(names: Any) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(names)).flatmap(
        lambda n: st.sampled_from([n, n.upper(), n.lower()]))


def _flags(table: dict[str, int]) -> st.SearchStrategy[Any]:
    names = st.lists(st.sampled_from(sorted(table)), max_size=3)
    return names | names.map("|".join) | names.map(lambda n: [x.lower() for x in n])


ORDINARY_FAMILIES = sorted(set(FAMILIES) - {"packet"})
ORDINARY_TYPES = sorted(set(TYPES) - {"raw"})
OPTION_NAMES = sorted(spec.name for spec in all_options())
WRITABLE = [spec for spec in all_options() if not spec.readonly]
READABLE = [spec.name for spec in all_options() if not spec.writeonly]


def valid_value(op: str, arg: str) -> st.SearchStrategy[Any]:
    strategies: dict[str, st.SearchStrategy[Any]] = {
        "family": _cased(ORDINARY_FAMILIES),  # raw and packet kinds: test_raw_kinds_*
        "type": _cased(ORDINARY_TYPES),
        "how": _cased(SHUTDOWN_HOW),
        "proto": st.integers(0, 255),
        "backlog": st.integers(0, C_INT[1]),
        "size": st.integers(0, 1 << 26),
        "auto": st.booleans(),
        "approved": st.booleans(),
        "blocking": st.booleans(),
        "inheritable": st.booleans(),
        "address": st.sampled_from(["127.0.0.1:7", " [::1]:7", "unix:/tmp/x", "peer:echo",
                                    "sock:1"]),
        "data": st.binary(max_size=32),
        "option": _cased(OPTION_NAMES),
        "seconds": st.integers(0, 86400) | st.floats(0, 86400),
        "timeout": st.integers(0, 86400) | st.floats(0, 86400),
        "flags": _flags(RECV_FLAGS if op in ("recv", "recvfrom") else SEND_FLAGS),
    }
    return strategies[arg]


@st.composite
def valid_step_args(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(list(OPS)))
    if name == "getsockopt":  # requests (joining a group) cannot be read
        return name, {"option": draw(st.sampled_from(READABLE))}
    if name == "setsockopt":  # the value must suit the option: its example, typed or parsed
        spec = draw(st.sampled_from(WRITABLE))
        typed = draw(st.booleans())
        return name, {"option": spec.name,
                      "value": spec.example if typed else parse_option_value(spec, spec.example)}
    args = {}
    for arg in OPS[name].args:
        if arg.required or draw(st.booleans()):
            args[arg.name] = draw(valid_value(name, arg.name))
    return name, args


@settings(max_examples=400, deadline=None)
@given(case=valid_step_args())
def test_minimal_args_round_trip_through_normalise(case: tuple[str, dict[str, Any]]) -> None:
    name, args = case
    full = normalise(name, args)
    small = minimal_args(name, full)
    assert normalise(name, small) == full
    op = OPS[name]
    for arg in op.args:
        if arg.required or arg.always:
            assert arg.name in small, f"{arg.name} must always be written"
        elif full[arg.name] == arg.default:
            assert arg.name not in small, f"{arg.name} at its default must be left out"
        else:
            assert small[arg.name] == full[arg.name]


def test_minimal_args_leave_out_quiet_defaults_only() -> None:
    assert minimal_args("socket", normalise("socket", {})) == {"family": "inet",
                                                               "type": "stream"}
    assert minimal_args("recv", normalise("recv", {})) == {"size": 65536}
    assert minimal_args("send", normalise("send", {"data": b"x"})) == {"data": b"x"}
    assert minimal_args("socket", normalise("socket", {"auto": False, "proto": 6})) == {
        "family": "inet", "type": "stream", "proto": 6, "auto": False}
    assert minimal_args("nope", {"a": 1}) == {"a": 1}  # an unknown op keeps everything


# -- created sockets ---------------------------------------------------------------------

FAILED = StepError("EMFILE", 24, "Too many open files")


@pytest.mark.parametrize(("step", "made"), [
    (Step("socket", result={"sock": 3}), [3]),
    (Step("socketpair", result={"socks": [4, 5]}), [4, 5]),
    (Step("accept", 1, result={"sock": 6, "peer": "127.0.0.1:5"}), [6]),
    (Step("accept", 1, auto=True, result={"sock": 7, "peer": "127.0.0.1:5"}), [7]),
    (Step("socket", error=FAILED), []),
    (Step("accept", 1, error=CANCELLED), []),
    (Step("socket", result=None), []),
    (Step("socket", result={}), []),
    (Step("socket", result={"sock": True}), []),
    (Step("socket", result={"sock": "3"}), []),
    (Step("socketpair", result={"socks": [4, None, True]}), [4]),
    (Step("connect", 1, result={"sock": 3, "peer": "127.0.0.1:7"}), []),
    (Step("recv", 1, result={"sock": 3}), []),
    (Step("nope", result={"sock": 3}), []),
])
def test_created_sockets(step: Step, made: list[int]) -> None:
    assert created_sockets(step) == made


# -- descriptions ------------------------------------------------------------------------


def step_of(name: str, sock: int | None = 1, **args: Any) -> Step:
    return Step(name, sock, normalise(name, args))


@pytest.mark.parametrize(("step", "text"), [
    (step_of("socket", None), "socket(family=inet, type=stream)"),
    (step_of("socket", None, type="dgram", proto=17, auto=False),
     "socket(family=inet, type=dgram, proto=17, auto=False)"),
    (step_of("socketpair", None), "socketpair(family=unix, type=stream)"),
    (step_of("connect", address="127.0.0.1:7"), "connect(#1, address=127.0.0.1:7)"),
    (step_of("recv"), "recv(#1, size=65536)"),
    (step_of("recv", size=10, flags=["MSG_PEEK"]), "recv(#1, size=10, flags=['MSG_PEEK'])"),
    (step_of("send", data=b"hello"), "send(#1, <5 bytes>)"),
    (step_of("send", 2, data=b"", flags="MSG_OOB"), "send(#2, <0 bytes>, flags=['MSG_OOB'])"),
    (step_of("listen"), "listen(#1, backlog=128)"),
    (step_of("shutdown"), "shutdown(#1, how=rdwr)"),
    (step_of("set_blocking", blocking=False), "set_blocking(#1, blocking=False)"),
    (step_of("set_inheritable", inheritable=False), "set_inheritable(#1, inheritable=False)"),
    (step_of("close"), "close(#1)"),
    (step_of("accept", 3), "accept(#3)"),
    (step_of("wait", None, seconds=0.5), "wait(seconds=0.5)"),
    (step_of("expect", data=b"ok"), "expect(#1, <2 bytes>, timeout=5.0)"),
])
def test_describe_leaves_out_quiet_defaults(step: Step, text: str) -> None:
    assert describe(step) == text
    assert step.describe() == text


# -- raw, packet and ping kinds ----------------------------------------------------------


@pytest.mark.parametrize(("args", "proto"), [
    ({"family": "inet", "type": "raw", "proto": "icmp"}, 1),
    ({"family": "inet6", "type": "raw", "proto": 58}, 58),
    ({"family": "inet", "type": "raw", "proto": 255}, 255),
    ({"family": "packet", "type": "raw", "proto": "all"}, 3),
    ({"family": "packet", "type": "dgram", "proto": 0x86DD}, 0x86DD),
    ({"family": "packet", "type": "raw", "proto": 65535}, 65535),
    ({"family": "inet", "type": "dgram", "proto": "icmp"}, 1),  # a ping socket
    ({"family": "inet", "type": "dgram", "proto": "udp"}, 17),
])
def test_raw_kinds_normalise_protocol_names_to_numbers(args: dict[str, Any],
                                                       proto: int) -> None:
    out = normalise("socket", {**args, "approved": True})
    assert out["proto"] == proto
    assert normalise("socket", out) == out
    assert minimal_args("socket", out)["approved"] is True  # the yes is kept in files
    assert "approved" not in minimal_args("socket", {**out, "approved": False})


@pytest.mark.parametrize(("args", "word"), [
    ({"family": "packet", "type": "stream"}, "type"),
    ({"family": "inet", "type": "raw"}, "protocol"),  # raw needs a protocol: 0 is refused
    ({"family": "unix", "type": "raw", "proto": 1}, "family"),
    ({"family": "inet", "type": "raw", "proto": 300}, "protocol"),
    ({"family": "inet", "type": "stream", "proto": 300}, "proto"),
    ({"family": "inet", "type": "stream", "proto": "all"}, "protocol"),
    ({"family": "packet", "type": "raw", "proto": 65536}, "proto"),
    ({"family": "inet", "type": "raw", "proto": "bogus"}, "proto"),
])
def test_raw_kinds_bad_combinations_are_one_line_input_errors(args: dict[str, Any],
                                                              word: str) -> None:
    assert word in str(assert_input_error("socket", args))
