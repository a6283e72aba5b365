"""The form for each socket action, and how its values become a step."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workbench.core.endpoints import parse_endpoint
from workbench.core.errors import InputError
from workbench.core.ops import PROTO_NAMES, created_sockets, normalise
from workbench.core.options import lookup_option, options_for, parse_option_value
from workbench.core.packets import icmp
from workbench.core.raw_approval import describe
from workbench.core.steps import FAMILIES, RECV_FLAGS, SHUTDOWN_HOW, TYPES, flags_value
from workbench.io.conns.source import bind_warning
from workbench.io.engine import SocketInfo
from workbench.io.peers import KINDS, TRANSPORTS
from workbench.ui.screens.approval import ApprovalScreen
from workbench.ui.screens.form import Field, FormScreen

if TYPE_CHECKING:
    from workbench.ui.screens.main import MainScreen

Make = Callable[[dict[str, Any]], None]
FormBuilder = Callable[["MainScreen", SocketInfo | None], tuple[FormScreen | None, Make]]


def int_in(low: int, high: int, what: str) -> Callable[[str], int]:
    def check(text: str) -> int:
        try:
            value = int(text.strip(), 0)
        except ValueError:
            raise InputError(f"{what} {text!r} is not a number: use {low}-{high}") from None
        if not low <= value <= high:
            raise InputError(f"{what} {value} out of range: use {low}-{high}")
        return value

    return check


def address_check(screen: MainScreen, info: SocketInfo) -> Callable[[str], str]:
    """Parse and check an address against the socket's family, before any syscall."""

    def check(text: str) -> str:
        if not text.strip():
            raise InputError("an address is needed, e.g. 127.0.0.1:7, [::1]:7 or unix:/tmp/s")
        return screen.ws.check_address(info.id, text)

    return check


def default_address(screen: MainScreen, info: SocketInfo, for_bind: bool) -> str:
    if info.family == "packet":  # packet sockets bind and send to an interface
        return "iface:lo"
    if info.family == "unix":
        return "unix:" if for_bind else next(
            (f"peer:{n}" for n in screen.ws.peer_addresses()), "unix:/tmp/workbench.sock")
    if for_bind:
        return "[::1]:0" if info.family == "inet6" else "127.0.0.1:0"
    return next((f"peer:{n}" for n in screen.ws.peer_addresses()), "127.0.0.1:7")


def new_socket(screen: MainScreen, info: SocketInfo | None) -> tuple[FormScreen, Make]:
    form = FormScreen("New socket", [
        Field("family", "family", "inet", tuple(FAMILIES)),
        Field("type", "type", "stream", tuple(TYPES)),
        Field("proto", "protocol (0 chooses)", "0", check=proto_text),
        Field("auto", "auto-receive / auto-accept", True, checkbox=True),
    ], submit="Create")

    def make(v: dict[str, Any]) -> None:
        args: dict[str, Any] = {"family": v["family"], "type": v["type"]}
        if v["proto"]:
            args["proto"] = v["proto"]
        if not v["auto"]:
            args["auto"] = False
        create_socket(screen, args)

    return form, make


def proto_text(text: str) -> int | str:
    """A protocol number (an ethertype up to 0xffff for packet sockets) or a name such
    as icmp or all; the family checks it when the step is made."""
    name = text.strip().lower()
    if name in PROTO_NAMES:
        return name
    return int_in(0, 0xFFFF, "protocol")(text)


def create_socket(screen: MainScreen, args: dict[str, Any]) -> None:
    """Submit a socket step; a raw or packet socket first asks for approval, saying what
    it can see and send, and the yes goes into the step."""
    try:
        full = normalise("socket", args)
    except InputError as exc:
        screen.notify(str(exc), severity="error", markup=False)
        return
    words = describe(full["family"], full["type"], full["proto"])
    if words is None or not words.needs_approval:
        screen.submit("socket", **args)
        return

    def answered(yes: bool | None) -> None:
        if yes:
            screen.submit("socket", **args, approved=True)
        else:
            screen.notify(f"not created: {words.title}", markup=False)

    screen.app.push_screen(ApprovalScreen(words.text()), answered)


def socketpair(screen: MainScreen, info: SocketInfo | None) -> tuple[FormScreen, Make]:
    form = FormScreen("New socketpair (AF_UNIX)", [
        Field("type", "type", "stream", tuple(t for t in TYPES if t != "raw")),
    ], submit="Create")
    return form, lambda v: screen.submit("socketpair", family="unix", type=v["type"])


def _address_form(verb: str, for_bind: bool) -> FormBuilder:
    def build(screen: MainScreen, info: SocketInfo | None) -> tuple[FormScreen, Make]:
        assert info is not None
        form = FormScreen(f"{verb.capitalize()} socket #{info.id} ({info.family})", [
            Field("address", "address (host:port, [v6]:port, unix:/path, unix:@name, "
                  "peer:NAME, sock:N)", default_address(screen, info, for_bind),
                  check=address_check(screen, info),
                  advise=_held_by(info) if for_bind else None),
        ], submit=verb.capitalize())
        return form, lambda v: screen.submit(verb, info.id, address=v["address"])

    return build


def _held_by(info: SocketInfo) -> Callable[[str], str | None] | None:
    """Before a bind: who already holds the address (a process, or only TIME_WAIT,
    when SO_REUSEADDR would do), from a fresh dump of the connection table."""
    if info.family not in ("inet", "inet6", "unix") or info.type not in ("stream", "dgram"):
        return None
    transport = "udp" if info.type == "dgram" and info.family != "unix" else "tcp"

    def advise(address: str) -> str | None:
        if address.endswith(":0") or address in ("unix:", ""):
            return None  # the kernel picks: nothing can hold it
        words = bind_warning(address, transport)
        return f"warning: {words}" if words else None

    return advise


def _is_ping(screen: MainScreen, info: SocketInfo) -> bool:
    """A socket that sends ICMP or ICMPv6 messages: raw, or a ping (datagram) socket."""
    if info.family not in ("inet", "inet6") or info.type not in ("raw", "dgram"):
        return False
    made = next((s for s in screen.ws.steps()
                 if s.op == "socket" and created_sockets(s) == [info.id]), None)
    return made is not None and made.args.get("proto") in (1, 58)


def icmp_echo(screen: MainScreen, info: SocketInfo | None) -> tuple[FormScreen | None, Make]:
    """An ICMP (or ICMPv6) echo request, checksum computed, sent as one sendto step."""
    assert info is not None
    if not _is_ping(screen, info):
        screen.notify(f"socket #{info.id} does not send ICMP: make a raw socket with "
                      "protocol icmp (or icmpv6), or a ping socket (dgram, icmp)",
                      severity="warning")
        return None, lambda _v: None
    v6 = info.family == "inet6"
    form = FormScreen(f"ICMP{'v6' if v6 else ''} echo request from socket #{info.id}", [
        Field("address", "to (the port is ignored)", "[::1]:0" if v6 else "127.0.0.1:0",
              check=address_check(screen, info)),
        Field("ident", "identifier (a ping socket's kernel puts its own)", "4660",
              check=int_in(0, 65535, "identifier")),
        Field("seq", "sequence", "1", check=int_in(0, 65535, "sequence")),
        Field("payload", "payload (text)", "workbench"),
    ], submit="Send")

    def make(v: dict[str, Any]) -> None:
        build = icmp.echo6 if v6 else icmp.echo  # ICMPv6: the kernel fills the checksum
        data = build(v["ident"], v["seq"], str(v["payload"]).encode())
        screen.submit("sendto", info.id, data=data, address=v["address"])

    return form, make


def listen(screen: MainScreen, info: SocketInfo | None) -> tuple[FormScreen, Make]:
    assert info is not None
    form = FormScreen(f"Listen on socket #{info.id}", [
        Field("backlog", "backlog", "128", check=int_in(0, 65535, "backlog")),
    ], submit="Listen")
    return form, lambda v: screen.submit("listen", info.id, backlog=v["backlog"])


def _flags(text: str) -> list[str]:
    names = [f.strip().upper() for f in text.replace("|", ",").split(",") if f.strip()]
    flags_value(names, RECV_FLAGS)
    return names


def recv(screen: MainScreen, info: SocketInfo | None) -> tuple[FormScreen, Make]:
    assert info is not None
    op = "recvfrom" if info.type in ("dgram", "raw") else "recv"
    form = FormScreen(f"{op} on socket #{info.id}", [
        Field("size", "size (bytes)", "65536", check=int_in(0, 1 << 26, "size")),
        Field("flags", f"flags ({', '.join(RECV_FLAGS)})", "", check=_flags),
    ], submit="Receive")

    def make(v: dict[str, Any]) -> None:
        args: dict[str, Any] = {"size": v["size"]}
        if v["flags"]:
            args["flags"] = v["flags"]
        screen.submit(op, info.id, **args)

    return form, make


def shutdown(screen: MainScreen, info: SocketInfo | None) -> tuple[FormScreen, Make]:
    assert info is not None
    form = FormScreen(f"Shut down socket #{info.id}", [
        Field("how", "direction", "wr", tuple(SHUTDOWN_HOW)),
    ], submit="Shut down")
    return form, lambda v: screen.submit("shutdown", info.id, how=v["how"])


def _option_name(text: str) -> str:
    return lookup_option(text.strip()).name


# The options people reach for first; the form names those that apply to the socket.
COMMON_OPTIONS = ("SO_REUSEADDR", "SO_RCVBUF", "SO_SNDBUF", "SO_KEEPALIVE", "TCP_NODELAY",
                  "SO_LINGER", "SO_BROADCAST", "IP_MULTICAST_LOOP", "SO_PASSCRED")


def _option_names(info: SocketInfo) -> str:
    applies = {o.name for o in options_for(info.family, info.type)}
    names = [n for n in COMMON_OPTIONS if n in applies][:5]
    return ", ".join(names) + ", …; 4 lists them all"


def setsockopt(screen: MainScreen, info: SocketInfo | None) -> tuple[FormScreen, Make]:
    assert info is not None
    form = FormScreen(f"setsockopt on socket #{info.id}", [
        Field("option", f"option ({_option_names(info)})", "SO_REUSEADDR",
              check=_option_name),
        Field("value", "value (on/off, a number like 64k, on 5 for SO_LINGER, 2.5 s)", "1",
              check=str.strip),
    ], submit="Set")

    def make(v: dict[str, Any]) -> None:
        try:
            value = parse_option_value(lookup_option(v["option"]), v["value"])
        except InputError as exc:
            screen.notify(str(exc), severity="error")
            return
        screen.submit("setsockopt", info.id, option=v["option"], value=value)

    return form, make


def last_option_set(screen: MainScreen, sock: int) -> str | None:
    """The option last set on the socket: what `g` most likely wants to read back."""
    for step in reversed(screen.ws.steps()):
        if step.op == "setsockopt" and step.sock == sock and step.args.get("option"):
            return str(step.args["option"])
    return None


def getsockopt(screen: MainScreen, info: SocketInfo | None) -> tuple[FormScreen, Make]:
    assert info is not None
    form = FormScreen(f"getsockopt on socket #{info.id}", [
        Field("option", f"option ({_option_names(info)})",
              last_option_set(screen, info.id) or "SO_RCVBUF", check=_option_name),
    ], submit="Get")
    return form, lambda v: screen.submit("getsockopt", info.id, option=v["option"])


def _no_form(op: str, **fixed: Any) -> FormBuilder:
    def build(screen: MainScreen, info: SocketInfo | None) -> tuple[None, Make]:
        assert info is not None
        return None, lambda _v: screen.submit(op, info.id, **fixed)

    return build


def toggle_blocking(screen: MainScreen, info: SocketInfo | None) -> tuple[None, Make]:
    assert info is not None
    return None, lambda _v: screen.submit("set_blocking", info.id, blocking=not info.blocking)


def toggle_auto(screen: MainScreen, info: SocketInfo | None) -> tuple[None, Make]:
    assert info is not None
    return None, lambda _v: screen.submit("set_auto", info.id, auto=not info.auto)


def toggle_cloexec(screen: MainScreen, info: SocketInfo | None) -> tuple[None, Make]:
    assert info is not None
    cloexec = True  # every socket the workbench makes or accepts starts close-on-exec
    for step in reversed(screen.ws.steps()):
        if step.op == "set_inheritable" and step.sock == info.id and step.error is None:
            cloexec = not step.args["inheritable"]
            break
    return None, lambda _v: screen.submit("set_inheritable", info.id, inheritable=cloexec)


def _peer_address(text: str) -> str:
    if text.strip():
        parse_endpoint(text)
    return text.strip()


def start_peer(screen: MainScreen, info: SocketInfo | None) -> tuple[FormScreen, Make]:
    form = FormScreen("Start a built-in peer", [
        Field("kind", "kind", "echo", KINDS),
        Field("transport", "transport", "tcp", TRANSPORTS),
        Field("address", "address (empty: loopback port 0, or a fresh unix path)", "",
              check=_peer_address),
    ], submit="Start")

    def make(v: dict[str, Any]) -> None:
        try:
            name = screen.ws.start_peer(v["kind"], v["transport"], v["address"])
        except InputError as exc:
            screen.notify(str(exc), severity="error")
            return
        screen.refresh_peers()
        screen.notify(f"peer:{name} listening on {screen.ws.peer_addresses()[name]}")

    return form, make


FORMS: dict[str, FormBuilder] = {
    "new_socket": new_socket,
    "socketpair": socketpair,
    "bind": _address_form("bind", for_bind=True),
    "connect": _address_form("connect", for_bind=False),
    "listen": listen,
    "accept": _no_form("accept"),
    "getsockname": _no_form("getsockname"),
    "getpeername": _no_form("getpeername"),
    "recv": recv,
    "shutdown": shutdown,
    "close": _no_form("close"),
    "setsockopt": setsockopt,
    "getsockopt": getsockopt,
    "toggle_blocking": toggle_blocking,
    "toggle_auto": toggle_auto,
    "toggle_cloexec": toggle_cloexec,
    "icmp_echo": icmp_echo,
    "start_peer": start_peer,
}

# The op each form runs, where its name is not the op's own.
FORM_OPS = {"new_socket": "socket", "toggle_blocking": "set_blocking",
            "toggle_auto": "set_auto", "toggle_cloexec": "set_inheritable",
            "icmp_echo": "sendto",
            "start_peer": ""}
