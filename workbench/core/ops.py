"""The op table: what every step is, in one place.

Each op declares its arguments (type, default, range or choices), whether it runs on
a socket or makes one, whether it waits for the socket to be readable or writable,
whether it can be cancelled, whether the engine records it on its own too, and how
people and exporters name it. The engine normalises a step's arguments through this
table before it runs and records it, so a recorded step holds every argument
explicitly; forms, the palette, help, replay, session files and exporters read the
same entries. Adding an op is one entry here and one handler in `io/engine`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.core.errors import InputError
from workbench.core.options import check_option_value, lookup_option
from workbench.core.packets import kinds
from workbench.core.steps import (
    FAMILIES,
    RECV_FLAGS,
    SEND_FLAGS,
    SHUTDOWN_HOW,
    TYPES,
    DataRef,
    NotKept,
    Step,
)

REQUIRED = object()  # an argument without a default
PROTO_NAMES = (*kinds.IP_PROTO_NAMES, *kinds.ETHERTYPE_NAMES)
C_INT = (-(2**31), 2**31 - 1)


@dataclass(frozen=True)
class Arg:
    """One argument of an op: `check` turns any JSON-ish value into the normal form
    or raises a one-line InputError."""

    name: str
    check: Callable[[str, Any], Any]
    default: Any = REQUIRED
    help: str = ""
    choices: tuple[str, ...] = ()
    always: bool = False  # written to files even at its default (family and type read best)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Op:
    name: str
    title: str  # the palette entry, object then verb: "socket: connect"
    help: str  # one line: what it does
    args: tuple[Arg, ...] = ()
    needs_socket: bool = True
    creates: str = ""  # the result key holding new socket ids: "sock" or "socks"
    waits: str = ""  # "read" or "write": in blocking mode it waits for readiness
    cancellable: bool = False
    auto: bool = False  # the engine also records it on its own (auto-receive, -accept)
    recorded: bool = True  # a step in the session (every op today)
    c: str = ""  # how the C exporter spells it
    py: str = ""  # how the Python exporter spells it
    # Checks arguments against each other once each is in normal form (a value
    # against its option); returns them, possibly normalised further.
    check: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    arg_map: Mapping[str, Arg] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "arg_map", {a.name: a for a in self.args})

    def defaults(self) -> dict[str, Any]:
        return {a.name: a.default for a in self.args if not a.required}

    def omissible(self) -> dict[str, Any]:
        """Defaults that files and one-line descriptions leave out."""
        return {a.name: a.default for a in self.args if not a.required and not a.always}


# -- argument checks ---------------------------------------------------------------------


def _choice(table: Mapping[str, int]) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if isinstance(value, str) and value.lower() in table:
            return value.lower()
        raise InputError(f"unknown {name} {_show(value)}: use one of {', '.join(table)}")

    return check


def _int(low: int, high: int) -> Callable[[str, Any], int]:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{name} {_show(value)} is not an integer value: use {low}-{high}")
        if not low <= value <= high:
            raise InputError(f"{name} {_show(value)} out of range: use {low}-{high}")
        return value

    return check


def _number(low: float, high: float) -> Callable[[str, Any], float]:
    def check(name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{name} {_show(value)} is not a number: use {low:g}-{high:g}")
        try:
            number = float(value)
        except OverflowError:  # an int too big for a float
            number = math.inf
        if math.isnan(number) or not low <= number <= high:
            raise InputError(f"{name} {_show(value)} out of range: use {low:g}-{high:g}")
        return value  # as written: 5 stays 5 in files

    return check


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise InputError(f"{name} {_show(value)} must be true or false")


def _flags(table: Mapping[str, int]) -> Callable[[str, Any], list[str]]:
    def check(name: str, value: Any) -> list[str]:
        items = value.replace("|", ",").split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise InputError(f"{name} {_show(value)} must be a list of {', '.join(table)}")
        out = []
        for item in items:
            flag = item.strip().upper() if isinstance(item, str) else None
            if flag == "":
                continue
            if flag is None or flag not in table:
                raise InputError(f"unknown flag {_show(item)}: use one of {', '.join(table)}")
            out.append(flag)
        return out

    return check


def _address(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{name} is needed, e.g. 127.0.0.1:7, [::1]:7 or unix:/tmp/x")
    return value.strip()


def _data(name: str, value: Any) -> bytes | DataRef:
    if isinstance(value, NotKept):
        raise InputError(f"{name}: {value.size} bytes that were not kept cannot be sent; "
                         "capture losslessly (K) to keep them")
    if isinstance(value, bytes | DataRef):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise InputError(f"{name}: the step needs data as bytes, e.g. "
                     '{"text": "hi"} or {"hex": "de ad"} in a file')


def _option(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InputError(f"{name} {_show(value)} must be an option name, e.g. SO_REUSEADDR")
    return lookup_option(value.strip()).name


def _option_value(name: str, value: Any) -> Any:
    """Any JSON value for now: `_option_args` checks it against its option."""
    if isinstance(value, bool) or value is None:
        raise InputError(f"{name} {_show(value)} is not a value: use a number, text such as "
                         "on or 64k, or the option's object")
    if isinstance(value, int) and not C_INT[0] <= value <= C_INT[1]:
        raise InputError(f"{name} {_show(value)} out of range: use {C_INT[0]}-{C_INT[1]}")
    return value


def _proto(name: str, value: Any) -> int | str:
    """A protocol number, or a name the family resolves in `_socket_args` (icmp, all)."""
    if isinstance(value, str) and value.strip().lower() in PROTO_NAMES:
        return value.strip().lower()
    if isinstance(value, str):
        raise InputError(f"{name} {_show(value)} is not a protocol: use a number or one of "
                         f"{', '.join(PROTO_NAMES)}")
    return _int(0, 0xFFFF)(name, value)


def _socket_args(args: dict[str, Any]) -> dict[str, Any]:
    """The protocol against the family and type: an ethertype (up to 65535) for packet
    sockets, an IP protocol (up to 255) otherwise; raw and packet kinds checked whole."""
    family, sock_type, proto = args["family"], args["type"], args["proto"]
    if family == "packet" or sock_type == "raw":
        return {**args, "proto": kinds.check(family, sock_type, proto)}
    if isinstance(proto, str):
        proto = kinds.proto_number(family if family != "unix" else "inet", proto)
    if proto > 255:
        raise InputError(f"proto {proto} out of range for {family}: use 0-255")
    return {**args, "proto": proto}


def _option_args(args: dict[str, Any]) -> dict[str, Any]:
    """setsockopt's value checked against its option: the normal value (text as typed
    is parsed for that option)."""
    return {**args, "value": check_option_value(lookup_option(args["option"]), args["value"])}


def _readable_option(args: dict[str, Any]) -> dict[str, Any]:
    """getsockopt of a request (joining a group) is refused before the kernel is asked."""
    spec = lookup_option(args["option"])
    if spec.writeonly:
        raise InputError(f"{spec.name} is write-only: it can be set with setsockopt, not read")
    return args


def _show(value: Any) -> str:
    """A value in a message, cut short (an integer too long to print says its length)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return f"<a {value.bit_length()}-bit integer>"
    try:
        text = repr(value)
    except ValueError:  # nested past the digit limit
        text = f"<a {type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


# -- the table ---------------------------------------------------------------------------

FAMILY = Arg("family", _choice(FAMILIES), "inet", "address family", tuple(FAMILIES), True)
TYPE = Arg("type", _choice(TYPES), "stream", "socket type", tuple(TYPES), True)
PROTO = Arg("proto", _proto, 0, "protocol number (0 chooses); for packet sockets an "
            "ethertype or all")
AUTO = Arg("auto", _bool, True, "auto-receive and auto-accept")
# The person said yes to what a raw or packet socket can see and send (raw_approval);
# an argument of the step itself, so the yes is in the session where the socket is made.
APPROVED = Arg("approved", _bool, False, "approved: it may see and send others' traffic")
ADDRESS = Arg("address", _address,
              help="an address, e.g. 127.0.0.1:7, [::1]:7, unix:/tmp/x, peer:NAME or sock:N")
DATA = Arg("data", _data, help="data (bytes)")
SIZE = Arg("size", _int(0, 1 << 26), 65536, "the most bytes to take", always=True)

_OPS = (
    Op("socket", "socket: new", "create a socket (family, type)",
       (FAMILY, TYPE, PROTO, AUTO, APPROVED), needs_socket=False, creates="sock",
       c="socket(family, type, proto)", py="socket.socket(family, type, proto)",
       check=_socket_args),
    Op("socketpair", "socket: pair", "create a connected socketpair",
       (Arg("family", _choice(FAMILIES), "unix", "address family", tuple(FAMILIES), True),
        TYPE, PROTO, AUTO), needs_socket=False, creates="socks",
       c="socketpair(AF_UNIX, type, 0, sv)", py="socket.socketpair(family, type)",
       check=_socket_args),
    Op("setsockopt", "option: set", "setsockopt on the selected socket",
       (Arg("option", _option, help="an option name, e.g. SO_REUSEADDR"),
        Arg("value", _option_value, help="a value for the option, e.g. 1, 64k or on 0")),
       c="setsockopt(fd, level, name, &v, sizeof v)", py="sock.setsockopt(level, name, v)",
       check=_option_args),
    Op("getsockopt", "option: get", "getsockopt on the selected socket",
       (Arg("option", _option, help="an option name, e.g. SO_RCVBUF"),),
       c="getsockopt(fd, level, name, &v, &len)", py="sock.getsockopt(level, name)",
       check=_readable_option),
    Op("set_blocking", "socket: toggle blocking",
       "switch between blocking and non-blocking (O_NONBLOCK)",
       (Arg("blocking", _bool, True, "blocking mode", always=True),),
       c="fcntl(fd, F_SETFL, flags)", py="sock.setblocking(blocking)"),
    Op("set_inheritable", "socket: toggle close-on-exec",
       "keep the socket open in programs started from here, or close it there (FD_CLOEXEC)",
       (Arg("inheritable", _bool, False, "inherited by child programs", always=True),),
       c="fcntl(fd, F_SETFD, FD_CLOEXEC)", py="sock.set_inheritable(inheritable)"),
    Op("set_auto", "socket: toggle auto-receive",
       "auto-receive / auto-accept on or off (manual mode)",
       (Arg("auto", _bool, True, "auto-receive and auto-accept", always=True),)),
    Op("bind", "socket: bind", "bind the selected socket to an address", (ADDRESS,),
       c="bind(fd, addr, len)", py="sock.bind(addr)"),
    Op("listen", "socket: listen", "listen on the selected socket",
       (Arg("backlog", _int(0, C_INT[1]), 128, "queue length", always=True),),
       c="listen(fd, backlog)", py="sock.listen(backlog)"),
    Op("accept", "socket: accept", "accept one connection (manual)", creates="sock", waits="read",
       cancellable=True, auto=True, c="accept(fd, addr, &len)", py="sock.accept()"),
    Op("connect", "socket: connect", "connect the selected socket", (ADDRESS,), waits="write",
       cancellable=True, c="connect(fd, addr, len)", py="sock.connect(addr)"),
    Op("send", "data: send", "send bytes on a connected socket",
       (DATA, Arg("flags", _flags(SEND_FLAGS), [], "MSG_* flags")), waits="write",
       cancellable=True, c="send(fd, buf, len, flags)", py="sock.send(data, flags)"),
    Op("sendto", "data: send to", "send a datagram to an address",
       (DATA, ADDRESS, Arg("flags", _flags(SEND_FLAGS), [], "MSG_* flags")), waits="write",
       cancellable=True, c="sendto(fd, buf, len, flags, addr, alen)",
       py="sock.sendto(data, flags, addr)"),
    Op("recv", "socket: recv", "receive with a size and flags",
       (SIZE, Arg("flags", _flags(RECV_FLAGS), [], "MSG_* flags")), waits="read",
       cancellable=True, auto=True, c="recv(fd, buf, size, flags)",
       py="sock.recv(size, flags)"),
    Op("recvfrom", "socket: recvfrom", "receive a datagram and its sender",
       (SIZE, Arg("flags", _flags(RECV_FLAGS), [], "MSG_* flags")), waits="read",
       cancellable=True, auto=True, c="recvfrom(fd, buf, size, flags, addr, &alen)",
       py="sock.recvfrom(size, flags)"),
    Op("getsockname", "socket: local address", "read the address the socket is bound to",
       c="getsockname(fd, addr, &len)", py="sock.getsockname()"),
    Op("getpeername", "socket: peer address", "read the address the socket is connected to",
       c="getpeername(fd, addr, &len)", py="sock.getpeername()"),
    Op("shutdown", "socket: shutdown", "shut down RD, WR or RDWR",
       (Arg("how", _choice(SHUTDOWN_HOW), "rdwr", "direction", tuple(SHUTDOWN_HOW), True),),
       c="shutdown(fd, how)", py="sock.shutdown(how)"),
    Op("close", "socket: close", "close the selected socket", c="close(fd)", py="sock.close()"),
    Op("wait", "session: wait", "pause the session", (
       Arg("seconds", _number(0, 86400), 0.0, "seconds to wait", always=True),), needs_socket=False,
       c="sleep", py="time.sleep(seconds)"),
    Op("expect", "session: expect", "wait until the socket has received these bytes",
       (DATA, Arg("timeout", _number(0, 86400), 5.0, "seconds to wait", always=True)),
       cancellable=True),
)

OPS: dict[str, Op] = {op.name: op for op in _OPS}
OP_NAMES = tuple(OPS)


def get_op(name: Any) -> Op:
    op = OPS.get(name) if isinstance(name, str) else None
    if op is None:
        raise InputError(f"unknown step {_show(name)}: use one of {', '.join(OPS)}")
    return op


def normalise(name: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """Every argument of the op, checked and in normal form, defaults filled in.

    Raises a one-line InputError for an unknown op or argument, a missing one, or a
    value of the wrong type or out of range.
    """
    op = get_op(name)
    unknown = [k for k in args if k not in op.arg_map]
    if unknown:
        takes = ", ".join(op.arg_map) or "no arguments"
        raise InputError(f"{name} takes {takes}; {_show(unknown[0])} is not one of them")
    out: dict[str, Any] = {}
    for arg in op.args:
        value = args.get(arg.name, arg.default)
        if value is REQUIRED:
            raise InputError(f"{name} needs {arg.help or arg.name}")
        out[arg.name] = arg.check(arg.name, value)
    return op.check(out) if op.check is not None else out


def minimal_args(name: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments without the quiet ones at their defaults: for files and display."""
    op = OPS.get(name)
    if op is None:
        return dict(args)
    defaults = op.omissible()
    return {k: v for k, v in args.items()
            if k not in defaults or _differs(v, defaults[k])}


def _differs(value: Any, default: Any) -> bool:
    if isinstance(default, float) and isinstance(value, int | float):
        return value != default
    if isinstance(default, list):
        return list(value) != default if isinstance(value, list | tuple) else True
    return type(value) is not type(default) or value != default


def created_sockets(step: Step) -> list[int]:
    """Ids of the sockets a successful step made (socket, socketpair, accept)."""
    op = OPS.get(step.op)
    if op is None or not op.creates or not step.ok or not step.result:
        return []
    made = step.result.get(op.creates)
    values = made if isinstance(made, list) else [made]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def describe(step: Step) -> str:
    """A one-line call signature with defaults left out, e.g. `connect(#1, address=…)`."""
    shown = [f"#{step.sock}"] if step.sock is not None else []
    for key, value in minimal_args(step.op, step.args).items():
        shown.append(f"<{len(value)} bytes>" if key == "data" else f"{key}={value}")
    return f"{step.op}({', '.join(shown)})"
