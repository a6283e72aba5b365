"""Checks of a session file beyond "it is JSON": each problem is a one-line InputError.

A session file is input from anywhere, so every value the rest of the program reads
is checked here, on load, before anything runs: JSON that parses at all (depth, huge
numbers), keys the format knows, numbers that are finite, peer names that are names,
results shaped as their op makes them, and steps that refer only to sockets made by
earlier steps and peers the session declares.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from workbench.core.endpoints import parse_endpoint
from workbench.core.errors import InputError
from workbench.core.ops import OPS, created_sockets
from workbench.core.packets.sockaddr import is_packet_address, parse_packet_address
from workbench.core.steps import NotKept, Step

MAX_DEPTH = 32  # a session nests 6 levels; anything deeper is damage, not data
HEADER_KEYS = ("format", "version", "title", "created", "peers", "steps")
PEER_KEYS = ("name", "kind", "transport", "address")
STEP_KEYS = ("op", "sock", "args", "auto", "t", "dur", "result", "error")
ERROR_KEYS = ("errno", "number", "message")
PEER_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
ERRNO_NAME = re.compile(r"E[A-Z0-9_]{1,40}")
SOCK_MAX = 2**31 - 1
MAX_PAYLOAD = 256 << 20  # one step's bytes: loaded whole to send or compare
MAX_TOTAL = 4 << 30  # all of them: a replay joins each socket's stream in memory
C_INT = (-(2**31), 2**31 - 1)
# What the engine records on its own: receives, accepts, a non-blocking connect's end.
AUTO_OPS = ("recv", "recvfrom", "accept", "getsockopt")


def shown(value: Any) -> str:
    """A value for a one-line message: short strings as written, the rest by type."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, bool | float) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value) if abs(value) < 10**20 else f"a {value.bit_length()}-bit integer"
    return f"a {type(value).__name__}"


def parse_json(text: str | bytes) -> Any:
    """JSON text as Python values; a one-line InputError for anything that is not."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON at line {exc.lineno} column {exc.colno}: "
                         f"{exc.msg}") from None
    except RecursionError:
        raise InputError(f"JSON nested too deeply: a session nests at most {MAX_DEPTH} "
                         "levels") from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text (a session is UTF-8 JSON)") from None
    except ValueError:  # an integer of thousands of digits: no value of the format is one
        raise InputError("a number in the JSON has thousands of digits: "
                         "no value of a session is that long") from None
    check_depth(doc)
    return doc


def check_depth(doc: Any) -> None:
    """Refuse nesting deeper than MAX_DEPTH, walked without recursion."""
    todo: list[tuple[Any, int]] = [(doc, 1)]
    while todo:
        value, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise InputError(f"JSON nested too deeply: a session nests at most "
                             f"{MAX_DEPTH} levels")
        if isinstance(value, dict):
            todo.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            todo.extend((v, depth + 1) for v in value)


def check_keys(obj: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    allowed = tuple(allowed)
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        raise InputError(f"unknown key {shown(unknown[0])} in {what}: "
                         f"use {', '.join(allowed)}")


def whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_version(version: Any, newest: int) -> None:
    if not (whole(version) and 1 <= version <= newest):
        raise InputError(f"version {shown(version)} is not supported "
                         f"(this build reads 1 to {newest})")


def text_field(obj: Mapping[str, Any], key: str, what: str) -> str:
    """An optional string field; missing is empty."""
    value = obj.get(key, "")
    if not isinstance(value, str):
        raise InputError(f"{what} {key} must be a string, not {shown(value)}")
    return value


def peer_fields(item: Any) -> tuple[str, str, str, str]:
    """A declared peer's name, kind, transport and address, all strings."""
    if not (isinstance(item, dict) and {"name", "kind"} <= item.keys()):
        raise InputError("needs name and kind, e.g. {\"name\": \"echo\", \"kind\": \"echo\"}")
    check_keys(item, PEER_KEYS, "a peer")
    name = text_field(item, "name", "peer")
    if not PEER_NAME.fullmatch(name):
        raise InputError(f"peer name {shown(name)} must be 1-64 letters, digits, '_' or '-', "
                         "e.g. echo")
    kind = text_field(item, "kind", "peer")
    transport = text_field(item, "transport", "peer") if "transport" in item else "tcp"
    return name, kind, transport, text_field(item, "address", "peer")


def check_unique(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(f"two peers are named {name!r}: give each a name of its own")
        seen.add(name)


def seconds(obj: Mapping[str, Any], key: str) -> float:
    """A step's t or dur: a finite number of seconds, 0 or more."""
    value = obj.get(key, 0.0)
    number = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
    if not (math.isfinite(number) and number >= 0):
        raise InputError(f"t and dur must be numbers of seconds, 0 or more ({key} is "
                         f"{shown(value)})")
    return number


def check_sock(sock: Any) -> int | None:
    if sock is None or (whole(sock) and 1 <= sock <= SOCK_MAX):
        return sock
    raise InputError(f"sock must be an integer, a socket id from 1 (got {shown(sock)})")


def check_auto(value: Any, op: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"auto {shown(value)} must be true or false")
    if value and op not in AUTO_OPS:
        raise InputError(f"{op} is never recorded on its own: auto is only for "
                         f"{', '.join(AUTO_OPS)}")
    return value


def check_error(err: Any) -> tuple[str, int, str]:
    """A failed step's errno name, number and message."""
    if not isinstance(err, dict) or not isinstance(err.get("errno"), str):
        raise InputError("error needs an errno name, e.g. {\"errno\": \"ECONNREFUSED\"}")
    check_keys(err, ERROR_KEYS, "an error")
    name, number = err["errno"], err.get("number", 0)
    if not ERRNO_NAME.fullmatch(name):
        raise InputError(f"errno {shown(name)} is not an errno name, e.g. ECONNREFUSED")
    if not (whole(number) and C_INT[0] <= number <= C_INT[1]):
        raise InputError(f"error number must be an integer, e.g. 111 (got {shown(number)})")
    return name, number, text_field(err, "message", "error")


def check_step(step: Step) -> None:
    """What one step needs beyond its arguments: a socket if its op runs on one, and a
    result shaped as the op makes it."""
    op = OPS[step.op]
    if op.needs_socket and step.sock is None:
        raise InputError(f"{step.op} needs sock: the id of a socket an earlier step made")
    result = step.result
    if op.creates and step.ok:
        made = (result or {}).get(op.creates)
        if op.creates == "sock" and not (whole(made) and 1 <= made <= SOCK_MAX):
            raise InputError(f"a {step.op} that succeeded needs result.sock, the new "
                             f"socket's id, e.g. {{\"sock\": 2}} (got {shown(made)})")
        if op.creates == "socks" and not _two_ids(made):
            raise InputError(f"a socketpair that succeeded needs result.socks, two socket "
                             f"ids, e.g. {{\"socks\": [1, 2]}} (got {shown(made)})")
    for values in (step.args, result or {}):
        data = values.get("data")
        # Bytes that were not kept weigh nothing: a flood past the budget is one big gap.
        size = len(data) if hasattr(data, "__len__") and not isinstance(data, NotKept) else 0
        if size > MAX_PAYLOAD:
            raise InputError(f"data of {size} bytes is over the {MAX_PAYLOAD >> 20} MiB "
                             "one step may carry")
    if result is None:
        return
    for key in ("eof", "peek"):
        if key in result and not isinstance(result[key], bool):
            raise InputError(f"result.{key} {shown(result[key])} must be true or false")
    if "at" in result and not (whole(result["at"]) and result["at"] >= 0):
        raise InputError(f"result.at {shown(result['at'])} must be a byte offset, 0 or more")
    if step.op in ("recv", "recvfrom") and step.ok and "data" not in result:
        raise InputError(f"a {step.op} that succeeded needs result.data, the bytes received")


def _two_ids(made: Any) -> bool:
    return (isinstance(made, list) and len(made) == 2 and made[0] != made[1]
            and all(whole(v) and 1 <= v <= SOCK_MAX for v in made))


def check_total(steps: Iterable[Step]) -> None:
    """All the bytes a replay may hold at once stay within MAX_TOTAL."""
    total = 0
    for step in steps:
        for values in (step.args, step.result or {}):
            data = values.get("data")
            total += len(data) if hasattr(data, "__len__") else 0
    if total > MAX_TOTAL:
        raise InputError(f"the steps carry {total} bytes, over the {MAX_TOTAL >> 30} GiB a "
                         "replay compares in memory: split the session")


def check_references(steps: Iterable[Step], peers: Iterable[str]) -> None:
    """Every socket a step runs on, and every `sock:N` it addresses, is made by an
    earlier step (in the order the steps started); every `peer:NAME` is declared.
    A session that breaks this cannot run, so replay refuses it before starting."""
    declared = set(peers)
    made: set[int] = set()
    for step in sorted(steps, key=lambda s: s.t):
        where = f"steps[{step.seq}] {step.op}"
        if step.sock is not None and step.sock not in made:
            raise InputError(f"{where}: socket #{step.sock} is not made by any earlier step: "
                             "a step may use only sockets made before it (socket, "
                             "socketpair or accept)")
        address = step.args.get("address")
        if isinstance(address, str) and not step.auto:
            _check_address(address.strip(), where, made, declared)
        made.update(created_sockets(step))


def _check_address(address: str, where: str, made: set[int], declared: set[str]) -> None:
    if address.startswith("sock:"):
        number = address[5:]
        if not (number.isascii() and number.isdigit() and int(number) in made):
            raise InputError(f"{where}: {shown(address)} refers to no socket made by an "
                             "earlier step: write sock:N with such a socket's id")
        return
    if address == "unix:":
        return
    if is_packet_address(address):  # a packet socket's interface: iface:lo
        try:
            parse_packet_address(address)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        return
    try:
        endpoint = parse_endpoint(address)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    if endpoint.kind == "peer" and endpoint.host not in declared:
        known = ", ".join(sorted(declared)) or "none"
        raise InputError(f"{where}: peer:{endpoint.host} is not declared (peers: {known}): "
                         "declare it in the session's peers")
