"""The rules that turn facts into causes and fixes, one function per situation.

A rule takes the failed call and the facts known (by key, see io/evidence) and yields
claims; a rule that finds nothing to say yields none, and the diagnosis falls back to
the errno's general causes. Rules never raise on missing or odd facts: they read them
through `_value`, which gives None for anything absent. Register a rule for errno
names with @rule; the rules of an errno run in the order they were registered
(`first=True` goes ahead), and the first cause given is the likely one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from workbench.core.diagnosis import Claim, Fact, FailedCall, cause, fix
from workbench.core.endpoints import Endpoint

Facts = Mapping[str, Fact]
Rule = Callable[[FailedCall, Facts], Iterable[Claim]]
_RULES: dict[str, list[Rule]] = {}
ICMP_PROTOS = (1, 58)  # IPPROTO_ICMP, IPPROTO_ICMPV6
UDP_MAX = {"inet": 65507, "inet6": 65527}


def rule(*errors: str, first: bool = False) -> Callable[[Rule], Rule]:
    """Register a rule for errno names; `first` puts it before those registered so far
    (a more precise source of causes, such as the process holding a port)."""
    def register(fn: Rule) -> Rule:
        for name in errors:
            rules = _RULES.setdefault(name, [])
            rules.insert(0, fn) if first else rules.append(fn)
        return fn

    return register


def run_rules(failed: FailedCall, facts: Facts) -> list[Claim]:
    claims: list[Claim] = []
    for fn in _RULES.get(failed.error, []):
        try:
            claims.extend(fn(failed, facts))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            continue  # an odd fact is no reason to lose the rest of the diagnosis
    return claims


def _value(facts: Facts, key: str, field: str | None = None) -> Any:
    fact = facts.get(key)
    if fact is None:
        return None
    if field is None:
        return fact.value
    return fact.value.get(field) if isinstance(fact.value, dict) else None


def _inet(failed: FailedCall) -> Endpoint | None:
    ep = failed.endpoint()
    return ep if ep is not None and ep.kind in ("inet", "inet6") else None


def _cap(facts: Facts, name: str) -> bool | None:
    return _value(facts, "process.caps", name)


# -- EINTR ------------------------------------------------------------------------------


@rule("EINTR")
def cancelled(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    if failed.cancelled:
        yield cause("you cancelled the call (esc) while it waited; no signal arrived",
                    "step.cancelled")


# -- permissions ------------------------------------------------------------------------


@rule("EACCES")
def ping_socket(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    if failed.call != "socket" or failed.type != "dgram" or failed.proto not in ICMP_PROTOS:
        return
    span = _value(facts, "sysctl.ping_group_range")
    groups = _value(facts, "process.ids", "groups") or []
    gid = _value(facts, "process.ids", "gid")
    if not span:
        yield cause("ICMP datagram (ping) sockets are open only to groups inside "
                    "net.ipv4.ping_group_range")
        return
    low, high = span
    who = "no group" if low > high else f"only groups {low} to {high}"
    mine = sorted({g for g in [gid, *groups] if isinstance(g, int)})
    if any(low <= g <= high for g in mine):
        return  # the range lets this process in: something else refused it
    yield cause(f"net.ipv4.ping_group_range is {low} {high}: {who} may open ICMP datagram "
                f"sockets, and this process's groups ({', '.join(map(str, mine))}) are "
                "outside it", "sysctl.ping_group_range", "process.ids")
    if mine:
        yield fix(f"sysctl -w net.ipv4.ping_group_range='{mine[0]} {mine[0]}' lets your "
                  "group open them", "process.ids")
    if _cap(facts, "CAP_NET_RAW"):
        yield fix("this process has CAP_NET_RAW: a raw socket (type raw, protocol 1) "
                  "works instead", "process.caps")


@rule("EACCES")
def low_port(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    ep = _inet(failed)
    start = _value(facts, "sysctl.ip_unprivileged_port_start")
    if failed.call != "bind" or ep is None or not isinstance(start, int):
        return
    has_cap = _cap(facts, "CAP_NET_BIND_SERVICE")
    if 0 < ep.port < start and not has_cap:
        yield cause(f"port {ep.port} is below net.ipv4.ip_unprivileged_port_start ({start}) "
                    "and the process lacks CAP_NET_BIND_SERVICE",
                    "step.address", "sysctl.ip_unprivileged_port_start", "process.caps")
        yield fix(f"bind a port at or above {start}", "sysctl.ip_unprivileged_port_start")
        yield fix("grant the capability: `setcap cap_net_bind_service+ep PROGRAM`, or "
                  "AmbientCapabilities=CAP_NET_BIND_SERVICE in a systemd unit", "process.caps")
    elif ep.port >= start or has_cap:
        yield cause(f"neither the port rule (ports from {start} are open to all) nor a "
                    "missing capability explains it: a security module (SELinux, "
                    "AppArmor) or a cgroup BPF hook may refuse the bind",
                    "sysctl.ip_unprivileged_port_start", "process.caps")


@rule("EACCES")
def broadcast(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    if failed.call not in ("send", "connect") or not _value(facts, "address.broadcast",
                                                             "broadcast"):
        return
    if failed.options.get("SO_BROADCAST"):
        return
    yield cause(f"{failed.address} is a broadcast address and SO_BROADCAST is not set on "
                "the socket", "address.broadcast")
    yield fix("setsockopt SO_BROADCAST 1, then send again", "address.broadcast")


@rule("EACCES", "ENOENT", "ENOTDIR", "ELOOP")
def unix_access(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    info = _value(facts, "unix.path")
    if not isinstance(info, dict):
        return
    path = info.get("path")
    if failed.call == "bind" and info.get("dir_exists") is False:
        yield cause(f"the directory {info.get('dir')} does not exist", "unix.path")
    elif failed.call == "bind" and info.get("dir_writable") is False:
        yield cause(f"this process may not create files in {info.get('dir')}", "unix.path")
    elif info.get("kind") == "missing":
        where = "" if info.get("dir_exists", True) else f" (nor its directory {info.get('dir')})"
        yield cause(f"nothing exists at {path}{where}: the server is not running or "
                    "uses another path", "unix.path")
    elif failed.call in ("connect", "send") and info.get("writable") is False:
        yield cause(f"{path} (mode {info.get('mode')}, owner uid {info.get('uid')}) is not "
                    "writable by this process", "unix.path")


@rule("EPERM")
def raw_socket(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    if failed.call != "socket" or _cap(facts, "CAP_NET_RAW") is not False:
        return
    yield cause("the process lacks CAP_NET_RAW, which raw and packet sockets need",
                "process.caps")
    span = _value(facts, "sysctl.ping_group_range")
    gid = _value(facts, "process.ids", "gid")
    if span and isinstance(gid, int) and span[0] <= gid <= span[1]:
        yield fix("for ICMP, a datagram socket (type dgram, protocol 1) works without it: "
                  "your group is inside net.ipv4.ping_group_range",
                  "sysctl.ping_group_range", "process.ids")


@rule("EPERM")
def admin_option(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    if failed.call == "setsockopt" and _cap(facts, "CAP_NET_ADMIN") is False:
        yield cause(f"{failed.args.get('option', 'this option')} needs CAP_NET_ADMIN, which "
                    "the process lacks", "process.caps")


@rule("ENOENT", "EPERM")
def congestion_algorithm(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    if failed.call != "setsockopt" or failed.args.get("option") != "TCP_CONGESTION":
        return
    wanted = str(failed.args.get("value", "")).strip()
    available = _value(facts, "sysctl.tcp_available_congestion_control")
    allowed = _value(facts, "sysctl.tcp_allowed_congestion_control")
    if isinstance(available, list) and wanted not in available:
        yield cause(f"{wanted!r} is not among this kernel's algorithms: {' '.join(available)}",
                    "sysctl.tcp_available_congestion_control")
    elif isinstance(allowed, list) and wanted not in allowed:
        yield cause(f"{wanted!r} exists but only {' '.join(allowed)} are allowed without "
                    "CAP_NET_ADMIN", "sysctl.tcp_allowed_congestion_control")


# -- descriptors and buffers ------------------------------------------------------------


@rule("EMFILE")
def fd_limit(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    limit = _value(facts, "process.nofile")
    count = _value(facts, "process.open_fds")
    if not limit:
        return
    soft, hard = limit
    if isinstance(count, int):
        yield cause(f"{count} descriptors are open against a limit of {soft} (RLIMIT_NOFILE)",
                    "process.nofile", "process.open_fds")
    else:
        yield cause(f"the process may hold {soft} descriptors (RLIMIT_NOFILE)", "process.nofile")
    if hard > soft:
        yield fix(f"raise the soft limit up to the hard one ({hard}): `ulimit -n {hard}`",
                  "process.nofile")


@rule("ENFILE")
def file_max(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    nr = _value(facts, "sysctl.file_nr")
    if nr:
        yield cause(f"{nr[0]} files are open system-wide against fs.file-max {nr[2]}",
                    "sysctl.file_nr")


@rule("EMSGSIZE")
def datagram_size(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    size = _value(facts, "step.size")
    if not isinstance(size, int):
        return
    limit = UDP_MAX.get(failed.family)
    if limit is not None and size > limit:
        yield cause(f"the datagram is {size} bytes, over the {limit}-byte UDP payload limit "
                    f"of {failed.family}", "step.size")
        yield fix(f"send at most {limit} bytes per datagram", "step.size")
    wmem = _value(facts, "sysctl.wmem_max")
    if failed.family == "unix" and isinstance(wmem, int):
        yield cause(f"the datagram is {size} bytes; a Unix datagram must fit the send "
                    f"buffer (net.core.wmem_max is {wmem})", "step.size", "sysctl.wmem_max")


@rule("EAGAIN")
def would_block(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    if _value(facts, "step.blocking") is not False:
        return
    what = {"recv": "nothing was queued to read", "accept": "no connection was waiting",
            "send": "the send buffer was full"}.get(failed.call)
    if what:
        yield cause(f"the socket is non-blocking and {what}", "step.blocking")


# -- addresses and ports ----------------------------------------------------------------


def _listeners(facts: Facts) -> list[str] | None:
    found = _value(facts, "tcp.listeners", "listeners")
    return found if isinstance(found, list) else None


def _same_host(ep: Endpoint, listener: str) -> bool:
    """A listener on the wildcard of the family, or on this very address."""
    host = listener.rsplit(":", 1)[0].strip("[]")
    wild = "0.0.0.0" if ep.kind == "inet" else "::"
    right_family = (":" in host) == (ep.kind == "inet6")
    return right_family and host in (ep.host, wild)


@rule("ECONNREFUSED")
def no_listener(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    ep = _inet(failed)
    if ep is None or failed.type == "dgram":
        return
    if _value(facts, "address.local", "local") is False:
        yield cause(f"{ep.host} is not an address of this machine: the host there answered "
                    f"with a reset, so nothing listens on port {ep.port} there, or a "
                    "firewall rejects the connection", "address.local")
        return
    listeners = _listeners(facts)
    if listeners is None:
        return
    if not listeners:
        yield cause(f"nothing listens on port {ep.port} on this machine (no listening TCP "
                    "socket on it, IPv4 or IPv6)", "tcp.listeners")
        yield fix(f"start a listener: `workbench peer echo {ep}`", "tcp.listeners")
        return
    others = [a for a in listeners if not _same_host(ep, a)]
    if others and len(others) == len(listeners):
        yield cause(f"port {ep.port} has a listener, but on {', '.join(others)}, not on "
                    f"{ep.host}: another address or address family", "tcp.listeners")
        yield fix(f"connect to {others[0]}, or make the server listen on {ep.host} too",
                  "tcp.listeners")
    elif _value(facts, "sysctl.tcp_abort_on_overflow") and _queued(facts):
        yield cause(f"the listener on {ep} has connections waiting to be accepted, and "
                    "net.ipv4.tcp_abort_on_overflow is on: a full accept queue answers with "
                    "a reset", "tcp.listeners", "sysctl.tcp_abort_on_overflow")
    else:
        yield cause(f"a socket listens on {ep} now: it started after the attempt, or a "
                    "firewall rejects the connection with a reset", "tcp.listeners")


def _queued(facts: Facts) -> int:
    queued = _value(facts, "tcp.listeners", "queued")
    return sum(q for q in queued.values() if isinstance(q, int)) if isinstance(queued,
                                                                              dict) else 0


@rule("ETIMEDOUT", "EAGAIN", first=True)
def full_accept_queue(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    ep = _inet(failed)
    waiting = _queued(facts)
    if ep is None or failed.call != "connect" or not waiting:
        return
    cap = _value(facts, "sysctl.somaxconn")
    capped = f" (a backlog is capped at net.core.somaxconn = {cap})" if cap else ""
    yield cause(f"the listener on port {ep.port} has {waiting} connection(s) waiting to be "
                "accepted: when its accept queue is full, Linux drops new SYNs, so connect "
                f"waits and in the end times out{capped}", "tcp.listeners", "sysctl.somaxconn")
    yield fix("make the server accept faster, or give listen a bigger backlog",
              "tcp.listeners")


@rule("ECONNREFUSED")
def udp_unreachable(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    ep = _inet(failed)
    bound = _value(facts, "udp.bound", "sockets")
    if ep is None or failed.type != "dgram" or not isinstance(bound, list):
        return
    if not bound and _value(facts, "address.local", "local"):
        yield cause(f"no UDP socket is bound to port {ep.port} on this machine, so an "
                    "earlier datagram drew an ICMP port unreachable", "udp.bound")


@rule("ECONNREFUSED", "EADDRINUSE")
def unix_socket_file(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    info = _value(facts, "unix.path")
    if not isinstance(info, dict) or info.get("kind") == "missing":
        return
    path, kind = info.get("path"), info.get("kind")
    listening = _value(facts, "unix.listener", "listening")
    bound = _value(facts, "unix.listener", "bound")
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
    elif listening is False:
        yield cause(f"{path} is a stale socket file: no socket is bound to it any more (the "
                    "server that made it has exited)", "unix.path", "unix.listener")
        yield fix(f"remove it (`rm {path}`) and start the server again", "unix.path",
                  "unix.listener")


@rule("EADDRINUSE")
def port_taken(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    ep = _inet(failed)
    if ep is None or failed.call not in ("bind", "listen"):
        return
    if failed.type == "dgram":
        bound = _value(facts, "udp.bound", "sockets")
        if bound:
            yield cause(f"a UDP socket is bound to {', '.join(bound)}", "udp.bound")
        return
    listeners = _listeners(facts)
    states = _value(facts, "tcp.port", "states") or {}
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
    ep = _inet(failed)
    if ep is None:
        return
    if failed.call == "bind" and _value(facts, "address.local", "local") is False:
        yield cause(f"{ep.host} is not assigned to any interface of this machine",
                    "address.local")
        yield fix("bind one of the addresses `ip addr` lists, or 0.0.0.0 / ::",
                  "address.local")
    elif failed.call == "connect":
        span = _value(facts, "sysctl.ip_local_port_range")
        if span:
            yield cause(f"the ephemeral ports {span[0]}-{span[1]} "
                        f"({span[1] - span[0] + 1} ports) may be used up for this "
                        "destination", "sysctl.ip_local_port_range")


# -- routes -------------------------------------------------------------------------------


def _route(facts: Facts) -> dict[str, Any] | None:
    found = _value(facts, "route")
    return found if isinstance(found, dict) else None


@rule("ENETUNREACH", "EHOSTUNREACH")
def no_route(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    found = _route(facts)
    if found is None:
        return
    host = found.get("address")
    if "error" in found:
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
    state = _value(facts, "link", "operstate")
    if state and state not in ("up", "unknown"):
        yield cause(f"{_value(facts, 'link', 'dev')} is {state}", "link")


@rule("EMSGSIZE")
def over_mtu(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    size, mtu = _value(facts, "step.size"), _value(facts, "link", "mtu")
    limit = UDP_MAX.get(failed.family)
    if not (isinstance(size, int) and isinstance(mtu, int) and limit) or size > limit:
        return
    room = mtu - (28 if failed.family == "inet" else 48)  # IP and UDP headers
    if size > room:
        yield cause(f"the datagram is {size} bytes, more than one packet on "
                    f"{_value(facts, 'link', 'dev')} carries ({room} bytes at MTU {mtu}), and "
                    "fragments are not allowed (IP_MTU_DISCOVER set to do)", "step.size", "link")
