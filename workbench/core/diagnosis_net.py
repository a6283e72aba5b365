"""Diagnosis rules for addresses, ports, Unix socket files and routes (registered in
diagnosis_rules, whose helpers they use)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from workbench.core.diagnosis import Claim, FailedCall, cause, fix
from workbench.core.diagnosis_rules import UDP_MAX, Facts, fact_value, inet_target, rule
from workbench.core.endpoints import Endpoint, parse_endpoint
from workbench.core.errors import InputError

# -- addresses and ports ----------------------------------------------------------------


def _listeners(facts: Facts) -> list[str] | None:
    found = fact_value(facts, "tcp.listeners", "listeners")
    return found if isinstance(found, list) else None


def same_host(ep: Endpoint, listener: str) -> bool:
    """A listener on the wildcard of the family, or on this very address."""
    host = listener.rsplit(":", 1)[0].strip("[]")
    wild = "0.0.0.0" if ep.kind == "inet" else "::"
    right_family = (":" in host) == (ep.kind == "inet6")
    return right_family and host in (ep.host, wild)


@rule("ECONNREFUSED")
def no_listener(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    ep = inet_target(failed)
    if ep is None or failed.type == "dgram":
        return
    if fact_value(facts, "address.local", "local") is False:
        yield cause(f"{ep.host} is not an address of this machine: the host there answered "
                    f"with a reset, so nothing listens on port {ep.port} there, or a "
                    "firewall rejects the connection", "address.local")
        return
    listeners = _listeners(facts)
    if listeners is None or _table_says(facts, ep):
        return
    if not listeners:
        yield cause(f"nothing listens on port {ep.port} on this machine (no listening TCP "
                    "socket on it, IPv4 or IPv6)", "tcp.listeners")
        yield fix(f"start a listener: `workbench peer echo {ep}`", "tcp.listeners")
        return
    others = [a for a in listeners if not same_host(ep, a)]
    if others and len(others) == len(listeners):
        yield cause(f"port {ep.port} has a listener, but on {', '.join(others)}, not on "
                    f"{ep.host}: another address or address family", "tcp.listeners")
        yield fix(f"connect to {others[0]}, or make the server listen on {ep.host} too",
                  "tcp.listeners")
    elif fact_value(facts, "sysctl.tcp_abort_on_overflow") and _queued(facts):
        yield cause(f"the listener on {ep} has connections waiting to be accepted, and "
                    "net.ipv4.tcp_abort_on_overflow is on: a full accept queue answers with "
                    "a reset", "tcp.listeners", "sysctl.tcp_abort_on_overflow")
    else:
        yield cause(f"a socket listens on {ep} now: it started after the attempt, or a "
                    "firewall rejects the connection with a reset", "tcp.listeners")


def _table_says(facts: Facts, ep: Endpoint) -> bool:
    """The connection table shows listeners on the port, none on this address:
    diagnosis_conns says so with their processes, so these rules step aside."""
    found = fact_value(facts, "conns.listeners", "sockets")
    return isinstance(found, list) and bool(found) and not any(
        isinstance(e, dict) and same_host(ep, str(e.get("local"))) for e in found)


def _held(facts: Facts) -> bool:
    """The connection table names the sockets holding the address (diagnosis_conns)."""
    return bool(fact_value(facts, "conns.holders", "sockets"))


def _queued(facts: Facts) -> int:
    queued = fact_value(facts, "tcp.listeners", "queued")
    return sum(q for q in queued.values() if isinstance(q, int)) if isinstance(queued,
                                                                              dict) else 0


@rule("ETIMEDOUT", "EAGAIN", first=True)
def full_accept_queue(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    ep = inet_target(failed)
    waiting = _queued(facts)
    if ep is None or failed.call != "connect" or not waiting:
        return
    cap = fact_value(facts, "sysctl.somaxconn")
    capped = f" (a backlog is capped at net.core.somaxconn = {cap})" if cap else ""
    yield cause(f"the listener on port {ep.port} has {waiting} connection(s) waiting to be "
                "accepted: when its accept queue is full, Linux drops new SYNs, so connect "
                f"waits and in the end times out{capped}", "tcp.listeners", "sysctl.somaxconn")
    yield fix("make the server accept faster, or give listen a bigger backlog",
              "tcp.listeners")


@rule("ECONNREFUSED")
def udp_unreachable(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    ep = inet_target(failed)
    bound = fact_value(facts, "udp.bound", "sockets")
    if ep is None or failed.type != "dgram" or not isinstance(bound, list):
        return
    if not bound and fact_value(facts, "address.local", "local"):
        yield cause(f"no UDP socket is bound to port {ep.port} on this machine, so an "
                    "earlier datagram drew an ICMP port unreachable", "udp.bound")


@rule("ECONNREFUSED", "EADDRINUSE")
def unix_socket_file(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    info = fact_value(facts, "unix.path")
    if info is None:
        yield from _abstract(failed, facts)
        return
    if not isinstance(info, dict) or info.get("kind") == "missing":
        return
    if _held(facts) and (failed.call == "bind" or not fact_value(facts, "unix.listener",
                                                                  "listening")):
        return  # diagnosis_conns names the process bound to it
    path, kind = info.get("path"), info.get("kind")
    listening = fact_value(facts, "unix.listener", "listening")
    bound = fact_value(facts, "unix.listener", "bound")
    if kind != "socket":
        yield cause(f"{path} is a {kind}, not a socket", "unix.path")
        if failed.call == "bind":
            yield fix(f"choose another path, or remove the {kind} if it is yours", "unix.path")
        return
    if listening or (bound and failed.type == "dgram"):
        holder = "listens" if listening else "is bound"
        if failed.call == "bind":
            yield cause(f"a live socket {holder} on {path}", "unix.path", "unix.listener")
        else:
            yield cause(f"a socket {holder} on {path}, but its queue is full", "unix.listener")
    elif listening is False and not bound:
        yield cause(f"{path} is a stale socket file: no socket is bound to it any more (the "
                    "server that made it has exited)", "unix.path", "unix.listener")
        yield fix(f"remove it (`rm {path}`) and start the server again", "unix.path",
                  "unix.listener")


def _abstract(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    """An abstract name (unix:@name) has no file: it lives as long as its socket."""
    name = fact_value(facts, "unix.listener", "path")
    bound = fact_value(facts, "unix.listener", "bound")
    if not isinstance(name, str) or not name.startswith("@"):
        return
    if failed.call == "connect" and bound is False:
        yield cause(f"no socket is bound to the abstract name {name}: abstract names go "
                    "away when their socket closes, so the server is not running",
                    "unix.listener")
    elif failed.call == "bind" and bound:
        yield cause(f"a socket is bound to the abstract name {name} already", "unix.listener")


@rule("EADDRINUSE")
def port_taken(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    ep = inet_target(failed)
    if ep is None or failed.call not in ("bind", "listen") or _held(facts):
        return
    if failed.type == "dgram":
        bound = fact_value(facts, "udp.bound", "sockets")
        if bound:
            yield cause(f"a UDP socket is bound to {', '.join(bound)}", "udp.bound")
        return
    listeners = _listeners(facts)
    states = fact_value(facts, "tcp.port", "states") or {}
    if listeners:
        yield cause(f"a socket listens on {', '.join(listeners)}", "tcp.listeners")
        yield fix(f"stop that listener or bind another port; `ss -ltnp 'sport = :{ep.port}'` "
                  "names its process", "tcp.listeners")
    elif states and set(states) == {"TIME_WAIT"} and not failed.options.get("SO_REUSEADDR"):
        yield cause(f"only connections in TIME_WAIT ({states['TIME_WAIT']}) hold port "
                    f"{ep.port}, and SO_REUSEADDR is off", "tcp.port")
        yield fix("set SO_REUSEADDR 1 before bind", "tcp.port")
    elif states:
        listed = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
        yield cause(f"connections use port {ep.port} ({listed})", "tcp.port")
    elif listeners is not None:
        yield cause(f"no listener or connection shows on port {ep.port}: a socket that is "
                    "bound but not listening holds it (such sockets do not show in "
                    "/proc/net/tcp or `ss`)", "tcp.listeners", "tcp.port")


@rule("EADDRNOTAVAIL")
def not_local(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    ep = inet_target(failed)
    if ep is None:
        return
    if failed.call == "bind" and fact_value(facts, "address.local", "local") is False:
        yield cause(f"{ep.host} is not assigned to any interface of this machine",
                    "address.local")
        yield fix("bind one of the addresses `ip addr` lists, or 0.0.0.0 / ::",
                  "address.local")
    elif failed.call == "connect" and not _bound_port(failed):
        yield from _ephemeral(facts)


def _ephemeral(facts: Facts) -> Iterator[Claim]:
    """Whether the local ports toward this destination run out, by count when known."""
    span = fact_value(facts, "sysctl.ip_local_port_range")
    if not span:
        return
    size = span[1] - span[0] + 1
    used = fact_value(facts, "tcp.toward", "count")
    if not isinstance(used, int):
        yield cause(f"the ephemeral ports {span[0]}-{span[1]} ({size} ports) may be used up "
                    "for this destination", "sysctl.ip_local_port_range")
    elif used >= size * 9 // 10:
        waiting = fact_value(facts, "tcp.toward", "states") or {}
        tw = f", {waiting['TIME_WAIT']} of them in TIME_WAIT" if "TIME_WAIT" in waiting else ""
        yield cause(f"{used} connections to this destination use up the {size} ephemeral "
                    f"ports ({span[0]}-{span[1]}){tw}", "tcp.toward",
                    "sysctl.ip_local_port_range")
        yield fix("reuse connections (keep-alive, pooling); widen ip_local_port_range; "
                  "net.ipv4.tcp_tw_reuse lets new connections take TIME_WAIT ports",
                  "tcp.toward")
    else:
        yield cause(f"only {used} of the {size} ephemeral ports are in use toward this "
                    "destination, so the range is not exhausted: the socket's bound address "
                    "may be gone from its interface", "tcp.toward", "sysctl.ip_local_port_range")


def _bound_port(failed: FailedCall) -> int:
    """The port the socket was bound to (0 when not bound): then it needs no ephemeral one."""
    try:
        ep = parse_endpoint(failed.local) if failed.local else None
    except InputError:
        return 0
    return ep.port if ep is not None and ep.kind in ("inet", "inet6") else 0


# -- routes -------------------------------------------------------------------------------


def _route(facts: Facts) -> dict[str, Any] | None:
    found = fact_value(facts, "route")
    return found if isinstance(found, dict) else None


@rule("ENETUNREACH", "EHOSTUNREACH")
def no_route(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    found = _route(facts)
    if found is None:
        return
    host = found.get("address")
    if "error" in found and failed.error == "EHOSTUNREACH" and "No route to host" in str(
            found["error"]):
        yield cause(f"an `unreachable` route in the routing table covers {host} "
                    f"(`ip route get` says: {found['error']})", "route")
        yield fix("look at the route (`ip route show table all | grep unreachable`); remove "
                  "it or add a more specific one", "route")
    elif "error" in found:
        yield cause(f"the routing table has no route to {host} ({found['error']})", "route")
        yield fix(f"add a route (`ip route add … via GATEWAY`) or a default route; "
                  f"`ip route get {host}` shows when it works", "route")
    elif failed.error == "EHOSTUNREACH" and "gateway" not in found:
        yield cause(f"{host} is on the local link of {found.get('dev')} and did not answer "
                    "ARP/neighbour discovery: no host with that address is up there", "route")
    else:
        yield cause(f"a route to {host} exists (via {found.get('gateway', 'the link')} on "
                    f"{found.get('dev')}), so a router on the way or a firewall answered "
                    "unreachable", "route")


@rule("ETIMEDOUT")
def silent_path(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    found = _route(facts)
    if found is None or "error" in found or failed.call != "connect":
        return
    yield cause(f"packets to {found.get('address')} leave via "
                f"{found.get('gateway', 'the local link')} on {found.get('dev')} and no answer "
                "came back: the host is down or a firewall drops them silently", "route")


@rule("ENETDOWN")
def link_down(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    state = fact_value(facts, "link", "operstate")
    if state and state not in ("up", "unknown"):
        yield cause(f"{fact_value(facts, 'link', 'dev')} is {state}", "link")


@rule("EMSGSIZE")
def over_mtu(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    size, mtu = fact_value(facts, "step.size"), fact_value(facts, "link", "mtu")
    limit = UDP_MAX.get(failed.family)
    if not (isinstance(size, int) and isinstance(mtu, int) and limit) or size > limit:
        return
    room = mtu - (28 if failed.family == "inet" else 48)  # IP and UDP headers
    if size > room:
        yield cause(f"the datagram is {size} bytes, more than one packet on "
                    f"{fact_value(facts, 'link', 'dev')} carries ({room} bytes at MTU {mtu}), and "
                    "fragments are not allowed (IP_MTU_DISCOVER set to do)", "step.size", "link")


@rule("EADDRNOTAVAIL", "EADDRINUSE", first=True)
def taken_four_tuple(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    found = fact_value(facts, "tcp.four_tuple")
    if failed.call != "connect" or not isinstance(found, dict) or not found.get("states"):
        return
    yield cause(f"a connection from {found.get('local')} to {found.get('remote')} already "
                f"exists ({', '.join(found['states'])}): this socket was bound to that port, "
                "and a connection is identified by both ends", "tcp.four_tuple")
    yield fix("do not bind before connect, so the kernel picks a free local port; or bind "
              "another port", "tcp.four_tuple")


@rule("EACCES", "EINVAL")
def refusing_route(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    found = _route(facts)
    if found is None or failed.call not in ("connect", "send"):
        return
    said = str(found.get("error", ""))
    kind = {"EACCES": ("prohibit", "Permission denied"),
            "EINVAL": ("blackhole", "Invalid argument")}.get(failed.error)
    if kind and kind[1] in said:
        yield cause(f"a `{kind[0]}` route in the routing table covers {found.get('address')} "
                    f"(`ip route get` says: {said})", "route")
        yield fix(f"look at it with `ip route show table all | grep {kind[0]}`; remove it or "
                  "add a more specific route", "route")


@rule("EADDRINUSE", first=True)
def reuseport_group(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    """SO_REUSEPORT shares a port only among sockets that all set it, of the same user."""
    if failed.call != "bind" or not failed.options.get("SO_REUSEPORT"):
        return
    owners = fact_value(facts, "tcp.listeners", "uids")
    me = fact_value(facts, "process.ids", "uid")
    if not isinstance(owners, dict) or not owners:
        return
    others = {a: u for a, u in owners.items() if u != me}
    names = sorted({f"{o.get('process')} (pid {o.get('pid')})"
                    for e in fact_value(facts, "conns.holders", "sockets") or ()
                    for o in e.get("owners", ())})
    by = f" ({', '.join(names)})" if names else ""
    table = ("conns.holders",) if names else ()
    if others and me is not None:
        where, uid = next(iter(others.items()))
        yield cause(f"the listener on {where}{by} belongs to uid {uid}, this process is uid "
                    f"{me}: SO_REUSEPORT shares a port only among sockets of the same user",
                    "tcp.listeners", "process.ids", "option.SO_REUSEPORT", *table)
    else:
        yield cause(f"this socket set SO_REUSEPORT, but the listener on "
                    f"{', '.join(owners)}{by} did not (every socket sharing the port must "
                    "set it before bind)", "tcp.listeners", "option.SO_REUSEPORT", *table)
