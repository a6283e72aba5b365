"""What a raw or packet socket can see and send, in words, before it is created.

The approval dialog shows `describe(...).text()`, a session records `record()` once the
person says yes, and `workbench replay --allow-raw` names what it is allowing. The
words are about Linux: what the kernel hands such a socket and what it lets it send.

Families and types are the session file's names ("inet", "inet6", "packet"; "raw",
"dgram"). For "packet" the protocol is an ethertype (3: every protocol, ETH_P_ALL).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workbench.core.packets.ethernet import ETHERTYPES
from workbench.core.packets.layers import IP_PROTOCOLS
from workbench.core.steps import Step

ETH_P_ALL = 3
IPPROTO_RAW = 255
PING = {("inet", 1), ("inet6", 58)}
CAP = "needs CAP_NET_RAW: root has it; a program can be given it with setcap cap_net_raw+ep"
PING_PRIVILEGE = ("needs no privilege, but the program's group must be in "
                  "net.ipv4.ping_group_range (it covers ICMPv6 too; root is no exception: "
                  "outside it the kernel says EACCES)")


@dataclass(frozen=True)
class Approval:
    """The words for one (family, type, proto)."""

    family: str
    type: str
    proto: int
    title: str
    sees: tuple[str, ...]
    sends: tuple[str, ...]
    privilege: str
    needs_approval: bool = True
    problem: str | None = None  # the kernel refuses this combination: why, and what instead
    summary: str = ""  # one clause: what it can do that an ordinary socket cannot

    def text(self) -> str:
        lines = [self.title, "", "It can see:"]
        lines += [f"  - {line}" for line in self.sees]
        lines += ["", "It can send:"]
        lines += [f"  - {line}" for line in self.sends]
        lines += ["", f"It {self.privilege}."]
        if self.problem:
            lines += ["", self.problem]
        return "\n".join(lines)

    def record(self) -> dict[str, object]:
        """What a session stores once the person approves."""
        return {"family": self.family, "type": self.type, "proto": self.proto,
                "approved": self.title}


def _ip_name(proto: int) -> str:
    return f"{IP_PROTOCOLS.get(proto, 'protocol')} ({proto})"


def _ethertype_name(proto: int) -> str:
    if proto == ETH_P_ALL:
        return "every protocol"
    return f"ethertype 0x{proto:04x} ({ETHERTYPES.get(proto, 'unknown')})"


_IP_SEES = {
    1: "every ICMP message that reaches this host, with its IPv4 header: echo replies meant "
       "for other programs' pings and errors about other programs' connections included",
    6: "a copy of every TCP segment that reaches this host, with its IPv4 header: other "
       "programs' connections and the data they carry included (the kernel still delivers "
       "them as usual)",
    17: "a copy of every UDP datagram that reaches this host, with its IPv4 header: other "
        "programs' traffic and its contents included (the kernel still delivers them as "
        "usual)",
}
_IP6_SEES = {
    58: "every ICMPv6 message that reaches this host, without the IPv6 header: neighbor "
        "discovery, router advertisements and other programs' echo replies included (the "
        "ICMPv6 filter option narrows this)",
}
_ANY_INTERFACE = ("packets arriving on every interface, not only loopback, until the socket "
                  "is bound to an address or device")


def _inet_raw(family: str, proto: int) -> Approval:
    v6 = family == "inet6"
    version = "IPv6" if v6 else "IPv4"
    title = f"Raw {version} socket for {_ip_name(proto)}"
    if proto == 0:
        return Approval(family, "raw", proto, title, (), (), CAP,
                        summary="the kernel refuses (EPROTONOSUPPORT)", problem=(
            f"The kernel refuses a raw {version} socket for protocol 0 (EPROTONOSUPPORT): "
            "choose a protocol, such as 1 (ICMP), 58 (ICMPv6), 17 (UDP) or 255 (raw)."))
    if proto == IPPROTO_RAW:
        sees: tuple[str, ...] = ("nothing: a protocol-255 socket receives no packets",)
        hdr = "IPV6_HDRINCL" if v6 else "IP_HDRINCL"
        sends: tuple[str, ...] = (
            f"any {version} packet whose header it writes itself ({hdr} is always on): "
            "any protocol, any source address, to any address the routes reach",)
        return Approval(family, "raw", proto, f"Raw {version} socket for sending whole packets",
                        sees, sends, CAP, summary=f"sends any {version} packet, any source "
                                                  "address")
    table = _IP6_SEES if v6 else _IP_SEES
    header = "without the IPv6 header" if v6 else "with its IPv4 header"
    seen = table.get(proto, f"every {version} packet of {_ip_name(proto)} that reaches this "
                            f"host, {header}")
    sends = (f"{_ip_name(proto)} messages of any kind to any address; the kernel writes the "
             f"{version} header",)
    if not v6:
        sends += ("with IP_HDRINCL set, whole packets whose IPv4 header it writes, claiming "
                  "any source address",)
    if proto == 6:
        sends += ("hand-built TCP segments; the kernel's own TCP answers segments it does not "
                  "expect with resets",)
    if proto == 58:
        sends += ("neighbor discovery and router messages that change how other hosts on the "
                  "link route traffic",)
    what = IP_PROTOCOLS.get(proto, f"protocol {proto}")
    return Approval(family, "raw", proto, title, (seen, _ANY_INTERFACE), sends, CAP,
                    summary=f"sees every {what} packet this host receives, other programs' "
                            "included")


def _packet(sock_type: str, proto: int) -> Approval:
    cooked = sock_type == "dgram"
    kind = "cooked (link header removed)" if cooked else "raw (with the Ethernet header)"
    title = f"Packet socket, {kind}, for {_ethertype_name(proto)}"
    if proto == 0:
        sees: tuple[str, ...] = ("nothing until it is bound with a protocol",)
    else:
        sees = (f"every frame of {_ethertype_name(proto)} on the interface it is bound to "
                "(on every interface until it is bound), in both directions",
                "the traffic of every program on this host, contents included where it is "
                "not encrypted",
                "not frames for other hosts, unless something else has put the interface in "
                "promiscuous mode (this socket does not)")
    if cooked:
        sends: tuple[str, ...] = ("any packet to any link-layer address on that interface; "
                                  "the kernel writes the link header",)
    else:
        sends = ("any frame on that interface, with any source MAC and IP addresses",)
    return Approval("packet", sock_type, proto, title, sees, sends, CAP,
                    summary="sees every frame on its interface, other programs' traffic "
                            "included, and sends any frame")


def _ping(family: str, proto: int) -> Approval:
    version = "ICMPv6" if family == "inet6" else "ICMP"
    return Approval(
        family, "dgram", proto, f"{version} ping socket (no raw access)",
        (f"{version} echo replies to its own requests only: the kernel sets the identifier "
         "from the socket's port and hands it only the replies that carry it",),
        (f"{version} echo requests only; the kernel sets the identifier and checksum",),
        PING_PRIVILEGE, needs_approval=False, summary=f"sends {version} echo requests")


def describe(family: str, sock_type: str, proto: int) -> Approval | None:
    """The words for a socket, or None for one that sees and sends only its own traffic."""
    if family == "packet" and sock_type in ("raw", "dgram"):
        return _packet(sock_type, proto)
    if family in ("inet", "inet6") and sock_type == "raw":
        return _inet_raw(family, proto)
    if sock_type == "dgram" and (family, proto) in PING:
        return _ping(family, proto)
    return None


def needs_approval(family: str, sock_type: str, proto: int) -> bool:
    found = describe(family, sock_type, proto)
    return found is not None and found.needs_approval


def without_privilege(family: str, sock_type: str, proto: int) -> str:
    """One line for EPERM/EACCES on creating such a socket: why, and what to do instead."""
    if sock_type == "dgram" and (family, proto) in PING:
        return ("ping sockets are off for this group: net.ipv4.ping_group_range must include "
                "it (e.g. sysctl net.ipv4.ping_group_range='0 2147483647'), or use a raw "
                "socket with CAP_NET_RAW")
    alternatives = "run as root or with CAP_NET_RAW (setcap cap_net_raw+ep on the program)"
    if family in ("inet", "inet6") and proto in (1, 58):
        alternatives += ", or use a ping socket (type dgram, same protocol) for echo requests"
    return f"a {sock_type} {family} socket needs CAP_NET_RAW: {alternatives}"


def raw_steps(steps: Iterable[Step]) -> list[tuple[Step, Approval]]:
    """The steps of a session that create a socket needing approval, with the words."""
    found = []
    for step in steps:
        if step.op != "socket" or step.auto:
            continue
        args = step.args
        words = describe(str(args.get("family", "")), str(args.get("type", "")),
                         int(args.get("proto", 0) or 0))
        if words is not None and words.needs_approval:
            found.append((step, words))
    return found


def replay_refusal(steps: Iterable[Step]) -> str | None:
    """One line for `workbench replay` without --allow-raw when a session creates raw or
    packet sockets (None when it creates none)."""
    found = raw_steps(steps)
    if not found:
        return None
    step, words = found[0]
    title = words.title[0].lower() + words.title[1:]
    more = f" ({len(found)} raw or packet sockets in all)" if len(found) > 1 else ""
    return (f"step {step.seq} creates a {title}, which {words.summary}{more}: pass "
            "--allow-raw to replay it")
