"""A session as the calls a program makes, for the exporters.

The plan walks the steps in the order they started and turns each into a call with
everything a generator needs spelled out: the exact bytes to send, the address as
recorded (a built-in peer, one of the program's own sockets, or a literal), the errno
the call ended with, and for receives how many bytes (streams) or datagrams the
socket had taken once it returned. Receives are idempotent "read until the socket has
what the recording had", so an `expect` and the auto-receive after it read once.
Auto steps (auto-accept, auto-receive, the SO_ERROR read after a non-blocking
connect) become explicit calls. What a raw or ping socket received is kept as the part
a program can compare (`compared_part`: the kernel rewrites the rest). Pure: payload
bytes are read through the session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.core.errnos import lookup
from workbench.core.option_raw import filter_link
from workbench.core.packets.decode import decode
from workbench.core.session import Session
from workbench.core.steps import CANCELLED, NotKept, Step, payload_bytes
from workbench.export.plan_options import ExportError, Option, option_of, step_title

SKIPPED = ("set_auto",)  # steps with no counterpart in a program
FAMILIES = ("inet", "inet6", "unix")  # what the exporters write
TYPES = ("stream", "dgram", "seqpacket", "raw")


@dataclass(frozen=True)
class Address:
    """A destination or local address as recorded: `peer` (a built-in peer by name),
    `sock` (where the program's own socket N is bound) or `text` (a literal)."""

    kind: str
    text: str
    name: str = ""
    sock: int = 0


@dataclass
class Call:
    seq: int  # the step's index in the session
    op: str
    sock: int | None
    args: dict[str, Any]
    title: str  # a one-line signature, for comments and messages
    error: str | None = None  # the errno name the call ended with; None: it succeeded
    auto: bool = False  # the engine made it on its own (auto-accept, auto-receive)
    blocking: bool = True  # the socket's mode when the call ran
    data: bytes = b""  # send: the bytes to send; expect: the bytes expected
    address: Address | None = None
    made: tuple[int, ...] = ()  # socket ids a socket/socketpair/accept made
    total: int = 0  # recv/expect: bytes (stream) or datagrams the socket has after it
    at: int = 0  # expect: where the bytes were found
    eof: bool = False  # recv: the recording read end of stream here
    so_error: str | None = None  # getsockopt SO_ERROR: errno name, "" for none
    read: str | None = None  # getsockopt of a name the session set on the socket: that name
    option: Option | None = None
    skip: str = ""  # why the program does not make this call (a comment says it)


@dataclass
class Sock:
    id: int
    family: str  # inet, inet6, unix
    type: str  # stream, dgram, seqpacket
    proto: int
    seq: int  # the step that made it
    cut: str = ""  # raw and ping sockets: what of a datagram is compared (see compared_part)

    @property
    def stream(self) -> bool:
        """Bytes without boundaries: received bytes are counted, not datagrams."""
        return self.type == "stream"


@dataclass
class Received:
    """What one socket received in the recording."""

    data: bytearray = field(default_factory=bytearray)  # joined; gaps hold zeros
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (at, size) not kept
    lengths: list[int] = field(default_factory=list)  # datagram sizes, in order

    def kept_ranges(self) -> list[tuple[int, int]]:
        """(at, size) stretches to compare: everything but the gaps."""
        out, at = [], 0
        for gap_at, size in self.gaps:
            if gap_at > at:
                out.append((at, gap_at - at))
            at = gap_at + size
        if len(self.data) > at:
            out.append((at, len(self.data) - at))
        return out


@dataclass(frozen=True)
class PeerParam:
    name: str
    default: str | None  # the address recorded for it; None when none was
    transport: str


@dataclass
class Plan:
    title: str
    calls: list[Call]
    sockets: dict[int, Sock]
    received: dict[int, Received]
    peers: list[PeerParam]
    targets: dict[int, str]  # socket id -> the destination it had, as recorded

    def needs(self, *ops: str) -> bool:
        return any(c.op in ops for c in self.calls)

    def privileges(self) -> list[str]:
        """What the program needs to run, beyond a user's rights (for its header)."""
        cuts = {sock.cut for sock in self.sockets.values()}
        out = []
        if cuts & {"ip", "raw6"}:
            out.append("needs CAP_NET_RAW (run as root) for its raw sockets")
        if "ping" in cuts:
            out.append("needs its group in net.ipv4.ping_group_range for its ping sockets")
        return out


class Constants(list[str]):
    """The definitions of the payloads a program holds: the same bytes once."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[bytes, str] = {}

    def name(self, data: bytes, name: str, define: Callable[[str], str]) -> str:
        """The name the bytes have, defining them under `name` the first time."""
        if data not in self.names:
            self.names[data] = name
            self.append(define(name))
        return self.names[data]


def known_sock(call: Call, sock: Sock | None) -> Sock:
    """The socket a call runs on, or a one-line refusal when no step made it."""
    if sock is None:
        raise ExportError(f"export: step {call.seq} ({call.op}) uses socket #{call.sock}, "
                          "which no step of the session made")
    return sock


def make_plan(session: Session) -> Plan:
    """The calls of a session, in the order its steps started."""
    builder = _Builder(session)
    for step in session.ordered():
        builder.add(step)
    return builder.finish()


class _Builder:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.calls: list[Call] = []
        self.sockets: dict[int, Sock] = {}
        self.received: dict[int, Received] = {}
        self.blocking: dict[int, bool] = {}
        self.targets: dict[int, str] = {}
        self.peer_seen: dict[str, str] = {}
        self.names: dict[tuple[int | None, str], str] = {}  # names set, by (socket, option)

    def add(self, step: Step) -> None:
        if step.op in SKIPPED:
            return
        call = Call(step.seq, step.op, step.sock, dict(step.args), step_title(step),
                    step.error.name if step.error else None, step.auto,
                    self.blocking.get(step.sock or 0, True))
        handler = getattr(self, "_" + step.op, None)
        if handler is not None:
            handler(step, call)
        if _cancelled(step):
            self._cancelled(step, call)
        self.calls.append(call)

    def _cancelled(self, step: Step, call: Call) -> None:
        """A call the user cancelled (esc) waited for something that did not come: the
        program skips it, but sends the bytes a cancelled send had already sent."""
        call.error = None
        if step.op == "send" and (step.result or {}).get("sent"):
            return
        call.skip = "cancelled in the workbench (EINTR), so not made here"

    def _socket(self, step: Step, call: Call) -> None:
        made = _made(step, "sock")
        for sid in made:
            self._new_sock(sid, step, step.args["family"], step.args["type"], step.args["proto"])
        call.made = tuple(made)

    def _socketpair(self, step: Step, call: Call) -> None:
        made = _made(step, "socks")
        for sid in made:
            self._new_sock(sid, step, step.args["family"], step.args["type"], step.args["proto"])
        call.made = tuple(made)

    def _accept(self, step: Step, call: Call) -> None:
        parent = self.sockets.get(step.sock or 0)
        made = _made(step, "sock")
        for sid in made:
            family = parent.family if parent else "inet"
            stype = parent.type if parent else "stream"
            self._new_sock(sid, step, family, stype, parent.proto if parent else 0)
        call.made = tuple(made)

    def _new_sock(self, sid: int, step: Step, family: str, stype: str, proto: int) -> None:
        if family == "packet":
            raise ExportError(f"export: step {step.seq} makes a packet socket, which export "
                              "does not write: its frames carry this machine's link addresses "
                              "and everyone's traffic, so no program can expect the recorded "
                              "bytes")
        if family not in FAMILIES or stype not in TYPES:
            raise ExportError(f"export: step {step.seq} makes a {family} {stype} socket, "
                              f"which export does not write yet: it writes "
                              f"{', '.join(FAMILIES)} sockets of type {', '.join(TYPES)}")
        self.sockets[sid] = Sock(sid, family, stype, int(proto), step.seq,
                                 _cut(family, stype, int(proto)))
        self.received[sid] = Received()
        self.blocking[sid] = True

    def _set_blocking(self, step: Step, call: Call) -> None:
        if step.ok and step.sock is not None:
            self.blocking[step.sock] = bool(step.args["blocking"])

    def _bind(self, step: Step, call: Call) -> None:
        call.address = _address(step.args["address"])

    def _connect(self, step: Step, call: Call) -> None:
        call.address = self._destination(step)
        peer = (step.result or {}).get("peer")
        if call.address.kind == "peer" and isinstance(peer, str) and peer:
            self.peer_seen.setdefault(call.address.name, peer)

    def _sendto(self, step: Step, call: Call) -> None:
        call.address = self._destination(step)
        self._send(step, call)

    def _destination(self, step: Step) -> Address:
        address = _address(step.args["address"])
        if step.sock is not None:
            self.targets.setdefault(step.sock, address.text)
        return address

    def _send(self, step: Step, call: Call) -> None:
        data = payload_bytes(step.args["data"])
        sent = (step.result or {}).get("sent")
        # What the recording sent is what the peer got: a partial send sends that much.
        call.data = data[:sent] if isinstance(sent, int) and 0 <= sent < len(data) else data

    def _recv(self, step: Step, call: Call) -> None:
        sock = self.sockets.get(step.sock or 0)
        rx = self.received.setdefault(step.sock or 0, Received())
        result = step.result or {}
        if step.error is not None or result.get("peek") or sock is None:
            call.total = len(rx.data) if sock is None or sock.stream else len(rx.lengths)
            return
        value = result.get("data")
        size = len(value) if value is not None else 0
        if isinstance(value, NotKept):
            rx.gaps.append((len(rx.data), size))
            rx.data += bytes(size)
        else:
            data = payload_bytes(value)
            data = compared_part(sock.cut, data) if sock.cut else data
            size = len(data)
            rx.data += data
        if sock.stream:
            call.eof = bool(result.get("eof"))
            call.total = len(rx.data)
        else:
            rx.lengths.append(size)
            call.total = len(rx.lengths)

    _recvfrom = _recv

    def _expect(self, step: Step, call: Call) -> None:
        sock = self.sockets.get(step.sock or 0)
        if step.error is not None or sock is None:
            return
        call.data = payload_bytes(step.args["data"])
        call.at = int((step.result or {}).get("at", 0))
        call.total = call.at + len(call.data)  # a datagram count once all are known

    def _getsockopt(self, step: Step, call: Call) -> None:
        call.option = option_of(step.args["option"], None)
        if call.option.name == "SO_ERROR" and step.ok:
            call.so_error = _so_error(step.result or {})
        value = (step.result or {}).get("value")
        if call.option.kind == "string" and step.ok and isinstance(value, str):
            # a name is machine-dependent unless the session set it: then it is compared
            call.read = value if self.names.get((step.sock, call.option.name)) else None

    def _setsockopt(self, step: Step, call: Call) -> None:
        sock = self.sockets.get(step.sock or 0)
        link = filter_link(sock.family, sock.type) if sock else "ip"
        call.option = option_of(step.args["option"], step.args["value"], link)
        if call.option.kind == "string" and step.ok:
            self.names[(step.sock, call.option.name)] = call.option.value

    def finish(self) -> Plan:
        for call in self.calls:
            sock = self.sockets.get(call.sock or 0)
            if call.op == "expect" and call.error is None and sock and not sock.stream:
                call.total = _datagrams_covering(self.received[sock.id].lengths, call.total)
        peers = [PeerParam(p.name, p.address or self.peer_seen.get(p.name), p.transport)
                 for p in self.session.peers]
        _check_peers(self.calls, {p.name for p in peers})
        return Plan(self.session.title, self.calls, self.sockets, self.received, peers,
                    self.targets)


def _cut(family: str, stype: str, proto: int) -> str:
    """How a raw or ping socket's datagrams are compared: "ip" (an IPv4 raw socket: the
    kernel writes the IP header, so only what follows it), "ping" (a ping socket: the
    kernel sets the ICMP identifier and so the checksum, so those four bytes are not
    compared), "raw6" (a raw IPv6 socket: the whole message); "" for other sockets."""
    if stype == "raw":
        return "ip" if family == "inet" else "raw6"
    if stype == "dgram" and (family, proto) in (("inet", 1), ("inet6", 58)):
        return "ping"
    return ""


def compared_part(cut: str, data: bytes) -> bytes:
    """What of a raw or ping socket's datagram the program compares (see `_cut`)."""
    if cut == "ip":
        layers = decode(data, "ipv4").children
        return data[layers[0].end:] if layers and layers[0].name == "ipv4" else data
    if cut == "ping" and len(data) >= 6:
        return data[:2] + bytes(4) + data[6:]
    return data


def _cancelled(step: Step) -> bool:
    return (step.error is not None and step.error.name == CANCELLED.name
            and step.error.message == CANCELLED.message)


def _made(step: Step, key: str) -> list[int]:
    if not step.ok or not step.result:
        return []
    value = step.result.get(key)
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def _address(text: str) -> Address:
    text = text.strip()
    if text.startswith("peer:"):
        return Address("peer", text, name=text[5:])
    if text.startswith("sock:") and text[5:].isdigit():
        return Address("sock", text, sock=int(text[5:]))
    return Address("text", text)


def _check_peers(calls: list[Call], declared: set[str]) -> None:
    for call in calls:
        if call.address and call.address.kind == "peer" and call.address.name not in declared:
            raise ExportError(f"export: step {call.seq} uses {call.address.text}, which the "
                              "session does not declare: add it to the session's peers")


def _datagrams_covering(lengths: list[int], end: int) -> int:
    """How many datagrams it takes for their joined bytes to reach `end`."""
    total = 0
    for count, size in enumerate(lengths, 1):
        total += size
        if total >= end:
            return count
    return len(lengths)


def _so_error(result: dict[str, Any]) -> str:
    name = result.get("errno")
    if isinstance(name, str) and name:
        return name
    value = result.get("value")
    if isinstance(value, int) and value:
        try:
            return lookup(value).name
        except KeyError:
            return f"E{value}"
    return ""


