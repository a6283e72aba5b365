"""The rules that turn facts into causes and fixes, one function per situation.

A rule takes the failed call and the facts known (by key, see io/evidence) and yields
claims; a rule that finds nothing to say yields none, and the diagnosis falls back to
the errno's general causes. Rules never raise on missing or odd facts: they read them
through `fact_value`, which gives None for anything absent. Register a rule for errno
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
        except Exception:  # an odd fact or a bug in one rule loses only that rule
            continue
    return claims


def fact_value(facts: Facts, key: str, field: str | None = None) -> Any:
    fact = facts.get(key)
    if fact is None:
        return None
    if field is None:
        return fact.value
    return fact.value.get(field) if isinstance(fact.value, dict) else None


def inet_target(failed: FailedCall) -> Endpoint | None:
    ep = failed.endpoint()
    return ep if ep is not None and ep.kind in ("inet", "inet6") else None


def _cap(facts: Facts, name: str) -> bool | None:
    return fact_value(facts, "process.caps", name)


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
    span = fact_value(facts, "sysctl.ping_group_range")
    groups = fact_value(facts, "process.ids", "groups") or []
    gid = fact_value(facts, "process.ids", "gid")
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
    ep = inet_target(failed)
    start = fact_value(facts, "sysctl.ip_unprivileged_port_start")
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
    if failed.call not in ("send", "connect") or not fact_value(facts, "address.broadcast",
                                                             "broadcast"):
        return
    if failed.options.get("SO_BROADCAST"):
        return
    yield cause(f"{failed.address} is a broadcast address and SO_BROADCAST is not set on "
                "the socket", "address.broadcast")
    yield fix("setsockopt SO_BROADCAST 1, then send again", "address.broadcast")


_DIR_ERRORS = {"ENOENT": "it does not exist", "ENOTDIR": "a part of it is not a directory",
               "ELOOP": "its symbolic links go round in a loop",
               "EACCES": "this process may not search a directory on the way"}


@rule("EACCES", "ENOENT", "ENOTDIR", "ELOOP")
def unix_access(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    info = fact_value(facts, "unix.path")
    if not isinstance(info, dict):
        return
    path, error = info.get("path"), str(info.get("dir_error"))
    why = _DIR_ERRORS.get(error) if failed.call == "bind" or error != "ENOENT" else None
    if why is not None:
        yield cause(f"the directory {info.get('dir')} cannot be reached: {why}", "unix.path")
    elif failed.call == "bind" and info.get("dir_exists") is False:
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


@rule("EROFS")
def read_only(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    info = fact_value(facts, "unix.path")
    if isinstance(info, dict) and info.get("dir_read_only"):
        yield cause(f"{info.get('dir')} is on a filesystem mounted read-only, where bind "
                    "cannot create the socket file", "unix.path")


@rule("ENOSPC")
def no_room(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    info = fact_value(facts, "unix.path")
    if not isinstance(info, dict):
        return
    if info.get("dir_free_inodes") == 0:
        yield cause(f"the filesystem of {info.get('dir')} has no free inodes left, and the "
                    "socket file needs one", "unix.path")
    elif info.get("dir_free_bytes") == 0:
        yield cause(f"the filesystem of {info.get('dir')} is full", "unix.path")


@rule("EPERM")
def raw_socket(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    if failed.call != "socket" or _cap(facts, "CAP_NET_RAW") is not False:
        return
    yield cause("the process lacks CAP_NET_RAW, which raw and packet sockets need",
                "process.caps")
    span = fact_value(facts, "sysctl.ping_group_range")
    gid = fact_value(facts, "process.ids", "gid")
    if span and isinstance(gid, int) and span[0] <= gid <= span[1]:
        yield fix("for ICMP, a datagram socket (type dgram, protocol 1) works without it: "
                  "your group is inside net.ipv4.ping_group_range",
                  "sysctl.ping_group_range", "process.ids")


@rule("EPERM")
def admin_option(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    if failed.call == "setsockopt" and _cap(facts, "CAP_NET_ADMIN") is False:
        yield cause(f"{failed.args.get('option', 'this option')} needs CAP_NET_ADMIN, which "
                    "the process lacks", "process.caps")


@rule("ENOENT", "EPERM", first=True)  # more precise than "needs CAP_NET_ADMIN"
def congestion_algorithm(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    if failed.call != "setsockopt" or failed.args.get("option") != "TCP_CONGESTION":
        return
    wanted = str(failed.args.get("value", "")).strip()
    available = fact_value(facts, "sysctl.tcp_available_congestion_control")
    allowed = fact_value(facts, "sysctl.tcp_allowed_congestion_control")
    if isinstance(available, list) and wanted not in available:
        yield cause(f"{wanted!r} is not among this kernel's algorithms: {' '.join(available)}",
                    "sysctl.tcp_available_congestion_control")
    elif isinstance(allowed, list) and wanted not in allowed:
        yield cause(f"{wanted!r} exists but only {' '.join(allowed)} are allowed without "
                    "CAP_NET_ADMIN", "sysctl.tcp_allowed_congestion_control")


# -- the socket's own state ---------------------------------------------------------------

# (errno, call) -> states that explain it, and what each says
_STATE_CAUSES: dict[tuple[str, str], dict[str, str]] = {
    ("EPIPE", "send"): {"shut-wr": "this socket was shut down for writing",
                        "shut": "this socket was shut down both ways",
                        "peer-closed": "the peer closed the connection",
                        "reset": "the peer reset the connection",
                        "new": "the socket never connected", "bound": "the socket never connected"},
    ("ENOTCONN", "send"): {"new": "the socket has not connected", "bound": "the socket has "
                           "not connected"},
    ("ENOTCONN", "recv"): {"new": "the socket has not connected", "bound": "the socket has "
                           "not connected"},
    ("ENOTCONN", "shutdown"): {"new": "the socket never connected",
                               "bound": "the socket never connected"},
    ("ENOTCONN", "getpeername"): {"new": "the socket has no peer: it never connected",
                                  "bound": "the socket has no peer: it never connected"},
    ("EINVAL", "bind"): {s: "the socket is bound already: a socket binds once"
                         for s in ("bound", "listening", "connected")},
    ("EINVAL", "accept"): {s: "the socket is not listening: listen was not called"
                           for s in ("new", "bound", "connected", "connecting")},
    ("EINVAL", "listen"): {"connected": "the socket is connected: only a fresh socket listens",
                           "connecting": "the socket is connecting: it cannot listen too"},
    ("EISCONN", "connect"): {"connected": "the socket is connected already",
                             "listening": "the socket is listening: it cannot connect"},
    ("EALREADY", "connect"): {"connecting": "the first connect is still in progress"},
}


@rule("EPIPE", "ENOTCONN", "EINVAL", "EISCONN", "EALREADY", first=True)
def socket_state(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    """The workbench knows each socket's state: the surest evidence for errors of order."""
    state = fact_value(facts, "socket.state")
    said = _STATE_CAUSES.get((failed.error, failed.call), {}).get(str(state))
    if said:
        yield cause(f"{said} (its state is {state})", "socket.state")


# -- descriptors and buffers ------------------------------------------------------------


@rule("EMFILE")
def fd_limit(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    limit = fact_value(facts, "process.nofile")
    count = fact_value(facts, "process.open_fds")
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
    nr = fact_value(facts, "sysctl.file_nr")
    if nr:
        yield cause(f"{nr[0]} files are open system-wide against fs.file-max {nr[2]}",
                    "sysctl.file_nr")


@rule("EMSGSIZE")
def datagram_size(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    size = fact_value(facts, "step.size")
    if not isinstance(size, int):
        return
    limit = UDP_MAX.get(failed.family)
    if limit is not None and size > limit:
        yield cause(f"the datagram is {size} bytes, over the {limit}-byte UDP payload limit "
                    f"of {failed.family}", "step.size")
        yield fix(f"send at most {limit} bytes per datagram", "step.size")
    if failed.family == "unix":
        yield from _unix_datagram(size, failed, facts)


def _unix_datagram(size: int, failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    """A Unix datagram goes whole into the sender's buffer, so SO_SNDBUF is its limit."""
    own = failed.options.get("SO_SNDBUF")
    default, most = (fact_value(facts, "sysctl.wmem_default"),
                     fact_value(facts, "sysctl.wmem_max"))
    if isinstance(own, int) and own:
        yield cause(f"the datagram is {size} bytes, more than the socket's send buffer "
                    f"(SO_SNDBUF {own}) holds", "step.size", "option.SO_SNDBUF")
    elif isinstance(default, int):
        yield cause(f"the datagram is {size} bytes, more than the send buffer holds: a Unix "
                    f"datagram must fit SO_SNDBUF, {default} bytes by default "
                    "(net.core.wmem_default)", "step.size", "sysctl.wmem_default")
    if isinstance(most, int):
        yield fix(f"raise SO_SNDBUF before sending (up to net.core.wmem_max = {most}), or "
                  "send smaller datagrams", "sysctl.wmem_max")


@rule("EAGAIN")
def would_block(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    if fact_value(facts, "step.blocking") is not False:
        return
    what = {"recv": "nothing was queued to read", "accept": "no connection was waiting",
            "send": "the send buffer was full"}.get(failed.call)
    if what:
        yield cause(f"the socket is non-blocking and {what}", "step.blocking")


# The address, port, Unix socket and route rules register themselves here, then those
# on the connection table.
from workbench.core import diagnosis_conns, diagnosis_net  # noqa: E402, F401
