"""Raw, packet and ping sockets in the engine: approval, creation, addresses, errors.

A raw or packet socket is created only when its step carries `approved: true`. The
approval is an argument of the socket step itself rather than a step of its own: the
yes is then recorded in the same line as the socket it allows, a session file stays
one step per call, and replay (with --allow-raw) or export reads it from there.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from workbench.core.errors import InputError
from workbench.core.option_raw import compile_fprog, filter_link
from workbench.core.options import OptionSpec
from workbench.core.packets import kinds
from workbench.core.packets.decode import send_link
from workbench.core.packets.sockaddr import (
    is_packet_address,
    parse_packet_address,
)
from workbench.core.raw_approval import describe, needs_approval, without_privilege
from workbench.core.steps import FAMILIES, TYPES, StepError, family_name, type_name

AF_PACKET = kinds.AF_PACKET
REFUSED = ("EPERM", "EACCES")


def special(args: dict[str, Any]) -> bool:
    """A raw, packet or ping socket: created through `kinds`, explained when refused."""
    return describe(args["family"], args["type"], int(args["proto"])) is not None


def check_approval(args: dict[str, Any]) -> None:
    """Refuse (one line) to create a raw or packet socket the person has not approved."""
    family, sock_type, proto = args["family"], args["type"], int(args["proto"])
    if needs_approval(family, sock_type, proto) and not args.get("approved"):
        words = describe(family, sock_type, proto)
        title = words.title if words is not None else f"{sock_type} {family} socket"
        raise InputError(f"{title} needs approval: it {words.summary if words else 'is raw'};"
                         " approve it in the dialog, or add \"approved\": true to the step")


def socket_args(args: dict[str, Any]) -> tuple[int, int, int]:
    """What socket() takes; packet sockets want the ethertype in network byte order."""
    if args["family"] == "packet" or args["type"] == "raw":
        return kinds.socket_args(args["family"], args["type"], int(args["proto"]))
    return FAMILIES[args["family"]], TYPES[args["type"]], int(args["proto"])


def explain_refusal(args: dict[str, Any], error: StepError | None) -> StepError | None:
    """EPERM or EACCES on creating such a socket, with why and what to do instead."""
    if error is None or error.name not in REFUSED or not special(args):
        return error
    why = without_privilege(args["family"], args["type"], int(args["proto"]))
    return StepError(error.name, error.number, f"{error.message}: {why}")


# -- packet socket addresses ---------------------------------------------------------------


def socket_ethertype(sock: socket.socket) -> int:
    """The protocol the socket was made for (socket() took it in network order)."""
    return socket.ntohs(sock.proto)


def packet_sockaddr(sock: socket.socket, text: str) -> tuple[Any, ...]:
    """`iface:lo` (bind, sendto) as the address tuple; an unknown interface is bad input."""
    address = parse_packet_address(text)
    try:
        socket.if_nametoindex(address.ifname)
    except OSError:
        raise InputError(f"no network interface named {address.ifname!r}: use a name from "
                         "`ip link`, e.g. iface:lo") from None
    return address.sockaddr(socket_ethertype(sock))


def check_packet_address(text: str, sock_id: int) -> None:
    if not is_packet_address(text):
        raise InputError(f"socket #{sock_id} is a packet socket: its addresses are "
                         "interfaces, e.g. iface:lo")
    parse_packet_address(text)


def frame_info(peer: str) -> dict[str, Any]:
    """What a packet socket's recvfrom says about a frame, for the step's result:
    its ethertype, packet type and interface index (receive_link picks the decoder)."""
    if not is_packet_address(peer):
        return {}
    try:
        address = parse_packet_address(peer)
    except InputError:
        return {}
    out: dict[str, Any] = {}
    if address.ethertype is not None:
        out["ethertype"] = address.ethertype
    if address.pkttype:
        out["pkttype"] = address.pkttype
    with contextlib.suppress(OSError):  # the interface went away since
        out["ifindex"] = socket.if_nametoindex(address.ifname)
    return out


def sent_link(sock: socket.socket, hdrincl: bool) -> str | None:
    """What a sent buffer on a raw, packet or ping socket starts with (None: ordinary)."""
    family, sock_type = family_name(sock.family), type_name(sock.type)
    proto = socket_ethertype(sock) if family == "packet" else sock.proto
    if describe(family, sock_type, proto) is None:
        return None
    return send_link(family, sock_type, proto, hdrincl)


def attach_filter(sock: socket.socket, spec: OptionSpec, words: str) -> None:
    """SO_ATTACH_FILTER with the program compiled for the socket's link; the program's
    buffer is held (in `compile_fprog`) while the kernel copies it."""
    link = filter_link(family_name(sock.family), type_name(sock.type))
    sock.setsockopt(spec.level, spec.optname, compile_fprog(words, link))
