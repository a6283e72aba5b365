"""Evidence from the connection table (netlink sock_diag, owners from /proc/*/fd).

Which sockets hold the address a bind wanted, and which processes hold them
(`conns.holders`): a listener and its pid and name, connections, or only TIME_WAIT
ones that no process holds. Which sockets listen on the port a refused connect
went to, on any address of either family (`conns.listeners`). For a Unix path or
abstract name, the sockets bound to it and their processes (`conns.holders` too).

One dump of the one protocol asked about; the owners are scanned only when some
socket matched (a scan reads every process's descriptors: a fraction of a second).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from workbench.core.conntable import (
    AF_INET,
    AF_UNIX,
    F_DPORT,
    F_DST,
    F_FAMILY,
    F_INODE,
    F_KIND,
    F_SPORT,
    F_SRC,
    F_STATE,
    F_UID,
    KIND_TCP,
    KIND_UDP,
    KIND_UNIX,
    LISTEN,
    STATE_NAMES,
    TIME_WAIT,
    Owners,
    RawRow,
    host_text,
    swap16,
)
from workbench.core.diagnosis import Fact, FailedCall
from workbench.core.diagnosis_conns import who
from workbench.core.endpoints import Endpoint
from workbench.io.conns.source import default_source
from workbench.io.evidence import gatherer
from workbench.io.evidence_net import is_local

SOURCE = "netlink sock_diag, owners from /proc/*/fd"
MAX_LISTED = 20  # sockets kept in one fact: a busy port's thousands say no more


def _host(row: RawRow) -> str:
    return host_text(row[F_FAMILY], row[F_SRC])


def clashes(host: str, theirs: str, family: int) -> bool:
    """Whether binding `host` clashes with a socket bound to `theirs`: a wildcard clashes
    with its family, and the IPv6 wildcard with IPv4 too (unless IPV6_V6ONLY)."""
    if host == "::" or theirs == "::":
        return True
    v4 = family == AF_INET or theirs.startswith("::ffff:")
    if host == "0.0.0.0":
        return v4
    if theirs == "0.0.0.0":
        return ":" not in host or host.startswith("::ffff:")
    return theirs in (host, f"::ffff:{host}")


def _shown(row: RawRow, local: bool = True) -> str:
    if row[F_FAMILY] == AF_UNIX:
        raw = row[F_SRC]
        return "@" + raw[1:].decode("utf-8", "replace") if raw[:1] == b"\0" else (
            raw.rstrip(b"\0").decode("utf-8", "replace"))
    raw, port = (row[F_SRC], row[F_SPORT]) if local else (row[F_DST], row[F_DPORT])
    host = host_text(row[F_FAMILY], raw)
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{swap16(port) if port else '*'}"


def _entry(row: RawRow, owners: Owners) -> dict[str, Any]:
    held = [{"pid": o.pid, "process": o.name} for o in owners.get(row[F_INODE], ())]
    out: dict[str, Any] = {"state": STATE_NAMES.get(row[F_STATE], str(row[F_STATE])),
                           "local": _shown(row), "uid": row[F_UID], "inode": row[F_INODE],
                           "owners": held}
    if row[F_FAMILY] != AF_UNIX and row[F_DPORT]:
        out["peer"] = _shown(row, local=False)
    return out


def _fetch(kind: int, match: Any) -> list[dict[str, Any]] | None:
    """The rows of one kind that `match`, with their owners; None when no table."""
    try:
        src = default_source()
    except Exception:
        return None
    try:
        rows = [r for r in src.fetch((kind,)).rows if r[F_KIND] == kind and match(r)]
        if not rows:
            return []
        owners = src.fetch((kind,), owners=True).owners  # scanned only when something holds it
        return [_entry(r, owners) for r in rows[:MAX_LISTED]]
    finally:
        src.close()


@gatherer("EADDRINUSE")
def holders(failed: FailedCall) -> Iterator[Fact]:
    """The sockets on the address a bind or listen wanted, and their processes."""
    ep = failed.endpoint()
    if ep is None or failed.call not in ("bind", "listen", "connect"):
        return
    if ep.kind == "unix" and failed.call == "bind":
        yield from _unix_holders(ep)
        return
    if ep.kind not in ("inet", "inet6") or not ep.port or failed.call == "connect":
        return
    udp = failed.type == "dgram"
    found = _fetch(KIND_UDP if udp else KIND_TCP, lambda r: swap16(r[F_SPORT]) == ep.port
                   and clashes(ep.host, _host(r), r[F_FAMILY]))
    if found is None:
        return
    yield Fact("conns.holders", {"address": str(ep), "transport": "udp" if udp else "tcp",
                                 "sockets": found}, SOURCE, _holders_text(str(ep), found))


def _holders_text(address: str, found: list[dict[str, Any]]) -> str:
    if not found:
        return f"no socket in the connection table holds {address}"
    states: dict[str, int] = {}
    for e in found:
        states[e["state"]] = states.get(e["state"], 0) + 1
    listed = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    by = who(found)
    if set(states) == {STATE_NAMES[TIME_WAIT]}:
        return f"{address} is held only by {listed} (no process: the kernel keeps them)"
    return f"{address} is held by {listed}" + (f": {by}" if by else "")


def _unix_holders(ep: Endpoint) -> Iterator[Fact]:
    name = ("\0" + ep.path).encode() if ep.abstract else ep.path.encode()
    shown = ("@" if ep.abstract else "") + ep.path
    found = _fetch(KIND_UNIX, lambda r: r[F_FAMILY] == AF_UNIX and (
        r[F_SRC] if ep.abstract else r[F_SRC].rstrip(b"\0")) == name)
    if found is None:
        return
    by = who(found)
    text = (f"{shown}: bound by {by}" if by else f"{shown}: {len(found)} socket(s) bound, "
            "process unknown") if found else f"{shown}: no socket is bound to it"
    yield Fact("conns.holders", {"address": f"unix:{shown}", "transport": "unix",
                                 "sockets": found}, SOURCE, text)


@gatherer("ECONNREFUSED")
def listeners(failed: FailedCall) -> Iterator[Fact]:
    """Who listens on the port a refused connect went to, on any local address."""
    ep = failed.endpoint()
    if ep is None or failed.call not in ("connect", "send"):
        return
    if ep.kind == "unix":
        if ep.path:
            yield from _unix_holders(ep)
        return
    if ep.kind not in ("inet", "inet6") or not ep.port or failed.type == "dgram":
        return
    if not _loopback_or_local(ep.host):
        return
    found = _fetch(KIND_TCP, lambda r: r[F_STATE] == LISTEN and swap16(r[F_SPORT]) == ep.port)
    if found is None:
        return
    text = (f"listening on port {ep.port}: " + ", ".join(
        e["local"] + (f" ({who([e])})" if e["owners"] else "") for e in found)
        if found else f"nothing listens on port {ep.port} (TCP, IPv4 or IPv6)")
    yield Fact("conns.listeners", {"address": str(ep), "port": ep.port, "sockets": found},
               SOURCE, text)


def _loopback_or_local(host: str) -> bool:
    """The connection table shows this machine's sockets only: a remote target's
    listeners are not in it."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if ip.is_loopback or ip.is_unspecified:
        return True
    return bool(is_local(host))
