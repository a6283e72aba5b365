"""What a row of the connection table means: its state, who waits for whom, what its
queues hold, and what a pile-up of that state usually says. Plain words, for the pane's
explanation box and for `port_check`."""

from __future__ import annotations

from workbench.core.conn_rows import ConnRow
from workbench.core.conntable import (
    AF_INET,
    AF_UNIX,
    F_FAMILY,
    F_INODE,
    F_KIND,
    F_SPORT,
    F_SRC,
    F_STATE,
    KIND_TCP,
    KIND_UDP,
    LISTEN,
    TIME_WAIT,
    Owners,
    RawRow,
    host_text,
    swap16,
)
from workbench.core.endpoints import parse_endpoint
from workbench.core.errors import InputError

INET = ("tcp", "udp", "raw")

# state -> (what it is, who waits for whom, what a pile-up of it usually means)
TCP_STATES: dict[str, tuple[str, str, str]] = {
    "LISTEN": (
        "a listening socket: it accepts connections to its local address",
        "it waits for clients; each completed handshake waits in its accept queue until "
        "the program calls accept()",
        "Recv-Q near Send-Q means the accept queue is full: the program accepts too slowly "
        "and new connections are dropped (ListenOverflows)"),
    "ESTAB": (
        "an established connection: data flows both ways",
        "each side waits for the other's data or its own program's reads",
        "a growing Recv-Q means this program does not read; a growing Send-Q means the "
        "peer does not read or the network is slow"),
    "SYN-SENT": (
        "a connect() in progress: our SYN is sent, no answer yet",
        "we wait for the peer's SYN-ACK",
        "many of them: the peer is down, filtered by a firewall (no RST comes back), or "
        "unreachable; connect() will time out (ETIMEDOUT)"),
    "SYN-RECV": (
        "a half-open connection at a listener: the peer's SYN got our SYN-ACK",
        "we wait for the peer's final ACK of the handshake",
        "a pile-up: a SYN flood, or clients that vanish mid-handshake; SYN cookies help"),
    "FIN-WAIT-1": (
        "we closed (or shut down writing) and sent FIN",
        "we wait for the peer to acknowledge our FIN",
        "many of them: the peer or the path is gone while data was still unsent"),
    "FIN-WAIT-2": (
        "we closed and the peer acknowledged our FIN; the peer has not closed its side yet",
        "we wait for the peer's FIN (its program must close or shut down)",
        "many of them: peers that never close; tcp_fin_timeout bounds orphaned ones"),
    "TIME-WAIT": (
        "the connection is over; this side closed first, and the kernel keeps its "
        "address pair for 60 s so late segments of it cannot confuse a new connection",
        "nobody: no program holds it, no inode; the kernel frees it when its timer ends",
        "a pile-up is normal for a busy client or a server that closes first; it can use "
        "up ephemeral ports. A listener restarted on the same port needs SO_REUSEADDR "
        "(or bind() fails with EADDRINUSE)"),
    "CLOSE-WAIT": (
        "the peer closed its side (we got its FIN); our program has not closed yet",
        "the peer waits for us: our program must read to EOF (recv returns 0) and close()",
        "a pile-up is a bug in the program holding them: it never closes sockets whose "
        "peer hung up (a descriptor leak)"),
    "LAST-ACK": (
        "both sides closed; the peer closed first, and our FIN is out",
        "we wait for the peer's ACK of our FIN",
        "many of them: peers that vanished before the last ACK"),
    "CLOSING": (
        "both sides closed at the same time (FINs crossed)",
        "each waits for the other's ACK of its FIN",
        "rare; many of them suggest lost packets"),
    "UNCONN": (
        "not connected: a bound socket with no peer",
        "it receives from anyone who sends to its address",
        ""),
}

UNIX_STATES = {
    "LISTEN": "a listening Unix socket: connections wait in its accept queue",
    "ESTAB": "a connected Unix socket; Peer shows the inode of the socket at the other end",
    "UNCONN": "an unconnected Unix socket (a datagram socket, or a stream one not yet "
              "connected)",
    "SYN-SENT": "a Unix connect() in progress",
}


def queues(row: ConnRow) -> str:
    """What Recv-Q and Send-Q mean for this row: on a listener they are the accept queue."""
    if row.state == "LISTEN":
        return (f"Recv-Q {row.recv_q}: connections waiting to be accepted; Send-Q "
                f"{row.send_q}: the largest accept queue (the listen() backlog)")
    if row.netid == "udp" or row.netid.startswith("u_dgr") or row.netid == "raw":
        return (f"Recv-Q {row.recv_q}: bytes of datagrams received and not yet read "
                f"(with their overhead); Send-Q {row.send_q}: bytes not yet sent")
    return (f"Recv-Q {row.recv_q}: bytes received that the program has not read; Send-Q "
            f"{row.send_q}: bytes sent that the peer has not acknowledged yet")


def explain(row: ConnRow, mark: str = " ") -> list[str]:
    """Lines for the explanation box: the row, its state in words, its queues."""
    who = f" — {row.process}" if row.processes else ""
    mine = " (this workbench)" if row.mine else ""
    head = f"{row.netid} {row.state} {row.local} → {row.peer}{who}{mine}"
    if mark == "-":
        head += " [gone since the last refresh]"
    elif mark == "+":
        head += " [new since the last refresh]"
    lines = [head]
    if row.netid in INET:
        what, waits, pileup = TCP_STATES.get(row.state, ("", "", ""))
        if row.netid != "tcp" and row.state == "ESTAB":
            what, waits, pileup = ("a connected datagram socket: it sends to and receives "
                                   "from its one peer only", "", "")
        lines += [f"{row.state}: {what}" if what else f"state {row.state}"]
        if waits:
            lines.append(f"waiting: {waits}")
        if pileup:
            lines.append(f"when many: {pileup}")
    else:
        lines.append(f"{row.state}: {UNIX_STATES.get(row.state, 'a Unix socket')}")
    lines.append(queues(row))
    if row.timer:
        lines.append(f"timer: {row.timer}")
    return lines


def port_check(address: str, rows: list[RawRow], owners: Owners | None = None,
               transport: str = "tcp") -> str | None:
    """Before a bind: is `address` (as typed: `127.0.0.1:8080`, `[::]:80`, `unix:/p`)
    already held in the connection table, by which process, and is it only TIME_WAIT?

    Returns one line to show, or None when nothing holds it (or the kernel picks the
    port: port 0). `transport` is "tcp" or "udp". An address that does not parse is
    left to the bind itself (None)."""
    try:
        ep = parse_endpoint(address)
    except InputError:
        return None
    if ep.kind == "unix":
        return _unix_held(ep.path, ep.abstract, rows, owners)
    if ep.kind not in ("inet", "inet6") or ep.port == 0:
        return None
    kind = KIND_UDP if transport == "udp" else KIND_TCP
    held = [r for r in rows if r[F_KIND] == kind and swap16(r[F_SPORT]) == ep.port
            and _overlaps(ep.host, r)]
    if not held:
        return None
    return _held_text(address, held, owners or {}, transport)


def _overlaps(host: str, row: RawRow) -> bool:
    """Whether binding `host` clashes with the row's local address: a wildcard clashes
    with its family, and an IPv6 wildcard with IPv4 too (unless IPV6_V6ONLY is set)."""
    theirs = host_text(row[F_FAMILY], row[F_SRC])
    if host == "::" or theirs == "::":
        return True
    v4 = row[F_FAMILY] == AF_INET or theirs.startswith("::ffff:")
    if host == "0.0.0.0":
        return v4
    if theirs == "0.0.0.0":
        return ":" not in host or host.startswith("::ffff:")
    return theirs in (host, f"::ffff:{host}")


def _held_text(address: str, held: list[RawRow], owners: Owners, transport: str) -> str:
    names = sorted({str(o) for r in held for o in owners.get(r[F_INODE], ())})
    by = f" by {', '.join(names)}" if names else ""
    states = {r[F_STATE] for r in held}
    if transport == "tcp" and states == {TIME_WAIT}:
        return (f"{address} is held only by {len(held)} TIME_WAIT connection(s): bind fails "
                "with EADDRINUSE unless SO_REUSEADDR is set (set it, or wait up to 60 s)")
    if transport == "tcp" and LISTEN not in states:
        return (f"{address} is in use by {len(held)} connection(s){by}: bind fails with "
                "EADDRINUSE unless SO_REUSEADDR is set")
    what = "a listener" if transport == "tcp" else "a bound socket"
    return (f"{address} is already held by {what}{by}: bind will fail with EADDRINUSE "
            "(choose another port, or port 0)")


def _unix_held(path: str, abstract: bool, rows: list[RawRow], owners: Owners | None
               ) -> str | None:
    name = (b"\0" + path.encode()) if abstract else path.encode()
    held = [r for r in rows if r[F_FAMILY] == AF_UNIX
            and (r[F_SRC] if abstract else r[F_SRC].rstrip(b"\0")) == name]
    if not held:
        return None
    names = sorted({str(o) for r in held for o in (owners or {}).get(r[F_INODE], ())})
    by = f" by {', '.join(names)}" if names else ""
    shown = f"unix:@{path}" if abstract else f"unix:{path}"
    return f"{shown} is already bound{by}: bind will fail with EADDRINUSE"
