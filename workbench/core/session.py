"""The session: the peers it needs and its list of steps, with the JSON codec.

The codec is pure: where big payloads go (a sidecar file, a journal's data file) is
decided by the `PayloadCodec` the caller passes in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from workbench.core import session_checks as checks
from workbench.core.errors import InputError
from workbench.core.ops import OPS, created_sockets, minimal_args, normalise
from workbench.core.payload import payload_from_json, payload_to_json
from workbench.core.steps import NOT_KEPT_WHY, DataRef, NotKept, Payload, Step, StepError

FORMAT = "socket-workbench-session"
VERSION = 1
PAYLOAD_KEYS = ("data",)
INLINE_LIMIT = 64 * 1024  # payloads above this go to a sidecar when one is offered


class SessionFormatError(InputError):
    """A session file that cannot be read; the message names the problem."""


@dataclass
class PeerSpec:
    """A built-in peer a session needs; steps refer to it as `peer:NAME`."""

    name: str
    kind: str
    transport: str = "tcp"
    address: str = ""  # empty: loopback port 0, or a fresh path for Unix transports

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.transport != "tcp":
            out["transport"] = self.transport
        if self.address:
            out["address"] = self.address
        return out


@dataclass
class Session:
    steps: list[Step] = field(default_factory=list)
    peers: list[PeerSpec] = field(default_factory=list)
    title: str = ""
    created: str = ""
    # Files its payloads are read from (sidecars, a journal's data): closed by close().
    closers: list[Callable[[], None]] = field(default_factory=list, repr=False, compare=False)

    def close(self) -> None:
        """Release the files the payloads are read from; the steps stay readable only
        where their payloads are inline."""
        while self.closers:
            self.closers.pop()()

    def add(self, step: Step) -> Step:
        step.seq = len(self.steps)
        self.steps.append(step)
        return step

    def ordered(self) -> list[Step]:
        """Steps in the order they started, which is causal order.

        The list itself is in the order steps finished (a journal appends as they
        do), so a send that finished after the peer's bytes came back is listed
        after them; sorted by start, the send comes first, as it happened.
        """
        return sorted(self.steps, key=lambda step: step.t)

    def peer(self, name: str) -> PeerSpec | None:
        return next((p for p in self.peers if p.name == name), None)


# -- payload placement -----------------------------------------------------------------

PayloadWriter = Callable[[Payload], dict[str, Any]]
PayloadReader = Callable[[dict[str, Any]], Payload]


def inline_payload(value: Payload) -> dict[str, Any]:
    if isinstance(value, NotKept):
        return not_kept_json(value)
    data = value.load() if isinstance(value, DataRef) else bytes(value)
    return payload_to_json(data)


def not_kept_json(value: NotKept) -> dict[str, Any]:
    """`why` only when it is not storage, so files written before it read the same."""
    out: dict[str, Any] = {"kept": False, "size": value.size}
    if value.why != "storage":
        out["why"] = value.why
    return out


def make_reader(open_file: Callable[[str], Any] | None) -> PayloadReader:
    """A payload reader; `open_file(name)` gives a ByteSource for `{"file": ...}` refs."""

    def read(obj: dict[str, Any]) -> Payload:
        if isinstance(obj, dict) and "file" in obj:
            if open_file is None:
                raise SessionFormatError("payload refers to a file but none can be opened")
            if set(obj) != {"file", "at", "size"}:
                keys = ", ".join(checks.shown(k) for k in obj)
                raise SessionFormatError(f"a file payload has exactly file, at and size "
                                         f"(this one: {keys[:80]})")
            try:
                at, size = int(obj["at"]), int(obj["size"])
            except (KeyError, TypeError, ValueError):
                raise SessionFormatError(f"bad file payload {obj!r}: needs at and size") from None
            return DataRef(open_file(str(obj["file"])), at, size)
        if isinstance(obj, dict) and obj.get("kept") is False:
            return _not_kept(obj)
        return payload_from_json(obj)

    return read


def _not_kept(obj: dict[str, Any]) -> NotKept:
    size, why = obj.get("size"), obj.get("why", "storage")
    if (not isinstance(size, int) or isinstance(size, bool) or size < 0
            or not isinstance(why, str) or why not in NOT_KEPT_WHY
            or set(obj) - {"kept", "size", "why"}):
        raise SessionFormatError(f"bad payload {obj!r}: not-kept bytes need only a size, "
                                 f"and may say why ({', '.join(NOT_KEPT_WHY)})")
    return NotKept(size, why)


# -- steps -----------------------------------------------------------------------------


def _encode_values(values: dict[str, Any], write: PayloadWriter) -> dict[str, Any]:
    return {k: write(v) if k in PAYLOAD_KEYS else v for k, v in values.items()}


def step_to_json(step: Step, write: PayloadWriter = inline_payload) -> dict[str, Any]:
    out: dict[str, Any] = {"op": step.op}
    if step.sock is not None:
        out["sock"] = step.sock
    args = minimal_args(step.op, step.args)  # defaults are left out of files
    if args:
        out["args"] = _encode_values(args, write)
    if step.auto:
        out["auto"] = True
    out["t"] = round(step.t, 6)
    if step.dur >= 0.0005:
        out["dur"] = round(step.dur, 6)
    if step.result is not None:
        out["result"] = _encode_values(step.result, write)
    if step.error is not None:
        out["error"] = {
            "errno": step.error.name,
            "number": step.error.number,
            "message": step.error.message,
        }
    return out


def _require(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise SessionFormatError(f"{where}: {what}")


def _decode_values(obj: Any, read: PayloadReader, where: str) -> dict[str, Any]:
    _require(isinstance(obj, dict), where, "must be an object")
    try:
        return {k: read(v) if k in PAYLOAD_KEYS else v for k, v in obj.items()}
    except InputError as exc:
        raise SessionFormatError(f"{where}: {exc}") from None


def step_from_json(obj: Any, read: PayloadReader, where: str) -> Step:
    _require(isinstance(obj, dict), where, "a step must be an object")
    op = obj.get("op")
    _require(isinstance(op, str) and op in OPS, where,
             f"unknown op {checks.shown(op)} (expected one of {', '.join(OPS)})")
    try:
        checks.check_keys(obj, checks.STEP_KEYS, "a step")
        step = Step(op=op, sock=checks.check_sock(obj.get("sock")),
                    auto=checks.check_auto(obj.get("auto", False), op))
        args = _decode_values(obj.get("args", {}), read, f"{where}.args")
        normal = normalise(op, args)  # an auto step's arguments are checked, kept as written
        step.args = args if step.auto else normal  # a call's are explicit, as recorded
        if "result" in obj:
            step.result = _decode_values(obj["result"], read, f"{where}.result")
        step.t, step.dur = checks.seconds(obj, "t"), checks.seconds(obj, "dur")
        if "error" in obj:
            step.error = StepError(*checks.check_error(obj["error"]))
        checks.check_step(step)
    except SessionFormatError:
        raise
    except InputError as exc:
        raise SessionFormatError(f"{where}: {exc}") from None
    return step


# -- sessions --------------------------------------------------------------------------


def session_header(session: Session) -> dict[str, Any]:
    out: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    if session.title:
        out["title"] = session.title
    if session.created:
        out["created"] = session.created
    if session.peers:
        out["peers"] = [p.to_json() for p in session.peers]
    return out


def session_to_json(session: Session, write: PayloadWriter = inline_payload) -> dict[str, Any]:
    out = session_header(session)
    out["steps"] = [step_to_json(s, write) for s in session.ordered()]
    return out


def dumps_session(session: Session, write: PayloadWriter = inline_payload) -> str:
    """JSON text with one step per line, so that diffs of session files read step by step."""
    doc = session_to_json(session, write)
    steps = doc.pop("steps")
    head = json.dumps(doc, indent=1, ensure_ascii=False)[:-2]
    lines = [json.dumps(s, ensure_ascii=False, separators=(", ", ": ")) for s in steps]
    body = ",\n  ".join(lines)
    return f'{head},\n "steps": [\n  {body}\n ]\n}}\n' if lines else f'{head},\n "steps": []\n}}\n'


def check_header(doc: Any, expect_format: str = FORMAT) -> None:
    _require(isinstance(doc, dict), "session", "the top level must be a JSON object")
    fmt = doc.get("format")
    _require(fmt == expect_format, "session",
             f"format is {checks.shown(fmt)}, expected {expect_format!r}")
    try:
        checks.check_keys(doc, checks.HEADER_KEYS, "the session")
        checks.check_version(doc.get("version"), VERSION)
    except InputError as exc:
        raise SessionFormatError(f"session: {exc}") from None


def peers_from_json(items: Any) -> list[PeerSpec]:
    _require(isinstance(items, list), "peers", "must be a list")
    peers = []
    for i, item in enumerate(items):
        where = f"peers[{i}]"
        try:
            peers.append(PeerSpec(*checks.peer_fields(item)))
        except InputError as exc:
            raise SessionFormatError(f"{where}: {exc}") from None
    try:
        checks.check_unique([p.name for p in peers])
    except InputError as exc:
        raise SessionFormatError(f"peers: {exc}") from None
    return peers


def session_from_json(doc: Any, read: PayloadReader | None = None) -> Session:
    check_header(doc)
    read = read or make_reader(None)
    steps_json = doc.get("steps", [])
    _require(isinstance(steps_json, list), "session", "steps must be a list")
    try:
        title = checks.text_field(doc, "title", "session")
        created = checks.text_field(doc, "created", "session")
    except InputError as exc:
        raise SessionFormatError(f"session: {exc}") from None
    session = Session(peers=peers_from_json(doc.get("peers", [])), title=title, created=created)
    for i, obj in enumerate(steps_json):
        session.add(step_from_json(obj, read, f"steps[{i}]"))
    return session


def loads_session(text: str, read: PayloadReader | None = None) -> Session:
    try:
        doc = checks.parse_json(text)
    except InputError as exc:
        raise SessionFormatError(str(exc)) from None
    return session_from_json(doc, read)


def socket_ids(steps: Iterable[Step]) -> list[int]:
    """Every socket id the steps create, in creation order."""
    return [sid for step in steps for sid in created_sockets(step)]
