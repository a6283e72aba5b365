"""Diagnosis rules that rest on the connection table (facts from io/evidence_conns):
the process holding an address, TIME_WAIT-only holders, the listeners on a refused
port. Registered after diagnosis_net's; the rules there step aside for these when
their facts are present (see `held` and `listening`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from workbench.core.diagnosis import Claim, FailedCall, cause, fix
from workbench.core.diagnosis_net import same_host
from workbench.core.diagnosis_rules import Facts, fact_value, inet_target, rule

HOLDERS, LISTENERS = "conns.holders", "conns.listeners"


def held(facts: Facts) -> list[dict[str, Any]]:
    """The sockets the connection table shows on the address ([] when none or unknown)."""
    found = fact_value(facts, HOLDERS, "sockets")
    return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


def listening(facts: Facts) -> list[dict[str, Any]] | None:
    """The listeners on a refused port (None when the table was not read)."""
    found = fact_value(facts, LISTENERS, "sockets")
    return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else None


def who(entries: list[dict[str, Any]]) -> str:
    """`nginx (pid 812)`, several joined; "" when no process is known."""
    names = dict.fromkeys(f"{o.get('process', '?')} (pid {o.get('pid', '?')})"
                          for e in entries for o in e.get("owners", ()) if isinstance(o, dict))
    return ", ".join(names)


def _first_pid(entries: list[dict[str, Any]]) -> tuple[str, Any] | None:
    for e in entries:
        for o in e.get("owners", ()):
            if isinstance(o, dict):
                return str(o.get("process", "?")), o.get("pid")
    return None


@rule("EADDRINUSE")
def held_by(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    """Who holds the address a bind wanted: a process, or only TIME_WAIT connections."""
    found = held(facts)
    if not found or failed.call not in ("bind", "listen"):
        return
    address = fact_value(facts, HOLDERS, "address")
    states = {e.get("state") for e in found}
    if states == {"TIME-WAIT"}:
        yield from _time_wait(failed, address, len(found))
        return
    by = who(found)
    live = [e for e in found if e.get("state") != "TIME-WAIT"]
    where = ", ".join(dict.fromkeys(str(e.get("local")) for e in live))
    unix = str(address).startswith("unix:")
    what = _holding(str(live[0].get("state")), str(fact_value(facts, HOLDERS, "transport")))
    holder = f": {by} holds it" if by else ("; its process is not visible to this user "
                                            "(another user's: try as root)")
    yield cause(f"{what} {where}{holder}", HOLDERS)
    first = _first_pid(live)
    stop = f"stop {first[0]} (pid {first[1]})" if first else "stop the program holding it"
    other = "another path" if unix else "another port (port 0 lets the kernel choose one)"
    yield fix(f"{stop}, or bind {other}", HOLDERS)


def _holding(state: str, transport: str) -> str:
    """How the first live holder holds the address, in words the tests of /proc's
    rule used too ("a socket listens on", "bound but not listening")."""
    if transport == "udp":
        return "a UDP socket is bound to"
    unix = transport == "unix"
    if state == "LISTEN":
        return "a live socket listens on" if unix else "a socket listens on"
    if state == "UNCONN":
        return "a live socket is bound to" if unix else "a socket bound but not listening holds"
    return "connections use"


def _time_wait(failed: FailedCall, address: Any, count: int) -> Iterator[Claim]:
    if failed.options.get("SO_REUSEADDR"):
        yield cause(f"only {count} connection(s) in TIME_WAIT hold {address}; this socket "
                    "set SO_REUSEADDR, but on Linux that lets a bind past TIME_WAIT only when "
                    "the socket that left them had SO_REUSEADDR too", HOLDERS,
                    "option.SO_REUSEADDR")
        yield fix("wait until they expire (up to 60 s), or set SO_REUSEADDR on the program "
                  "that closes first next time", HOLDERS)
        return
    yield cause(f"only {count} connection(s) in TIME_WAIT hold {address}: no process holds "
                "them (the kernel keeps a closed connection's address for 60 s), and "
                "SO_REUSEADDR is off on this socket", HOLDERS)
    yield fix("set SO_REUSEADDR 1 before bind (a listener may then take the port while "
              "TIME_WAIT connections remain; on Linux only when the socket that left them "
              "had SO_REUSEADDR too, as servers do), or wait up to 60 s", HOLDERS)


@rule("ECONNREFUSED")
def listener_elsewhere(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    """Nothing listens on the port, or something listens there on another address."""
    ep = inet_target(failed)
    found = listening(facts)
    if ep is None or found is None or failed.type == "dgram":
        return
    if not found and fact_value(facts, "tcp.listeners") is None:  # else no_listener says it
        yield cause(f"nothing listens on port {ep.port} on this machine: the connection "
                    "table shows no TCP listener on it, IPv4 or IPv6", LISTENERS)
        yield fix(f"start the server, or a listener: `workbench peer echo {ep}`", LISTENERS)
        return
    if not found or any(same_host(ep, str(e.get("local"))) for e in found):
        return  # one listens right there: the rules on queues and timing say more
    where = ", ".join(str(e.get("local")) for e in found)
    by = who(found)
    yield cause(f"{by or 'a socket'} listens on port {ep.port}, but on {where}, not on "
                f"{ep.host}: another address or address family", LISTENERS)
    yield fix(f"connect to {found[0].get('local')}, or make the server listen on {ep.host} "
              "too (a listener on [::] takes IPv4 as well unless IPV6_V6ONLY is set)",
              LISTENERS)


@rule("ECONNREFUSED")
def unix_not_listening(failed: FailedCall, facts: Facts) -> Iterator[Claim]:
    """A Unix path with sockets bound to it, none listening: name who holds it."""
    found = held(facts)
    if failed.call != "connect" or not found or failed.type == "dgram":
        return
    if any(e.get("state") == "LISTEN" for e in found):
        by = who(found)
        yield cause(f"{by or 'a socket'} listens on it, but its accept queue is full",
                    HOLDERS)
        return
    by = who(found) or "a socket"
    yield cause(f"{by} has bound {fact_value(facts, HOLDERS, 'address')} but does not "
                "listen on it", HOLDERS)
    yield fix("make that program call listen, or connect once it does", HOLDERS)
