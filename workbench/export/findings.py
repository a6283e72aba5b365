"""Findings: what a session's calls and results say about each socket in it.

One JSON object per socket, in the form every headless command shares:
`{"operation", "target", "address", "status", "findings", "recommendations",
"artifacts"}`. Each finding and recommendation names its rule (`kind`) and the
steps it is based on (`steps`: indexes into the session), so it can be checked
against the file. Schema: sessions/findings.schema.json.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from workbench.core.diagnosis import FailedCall, diagnose, options_set
from workbench.core.errnos import FALLBACK_HINT
from workbench.core.ops import created_sockets
from workbench.core.session import Session
from workbench.core.steps import Step

WAITING = ("connect", "accept", "recv", "recvfrom", "send", "sendto")
NOT_FAILURES = {"EINPROGRESS", "EAGAIN", "EWOULDBLOCK"}  # states of non-blocking calls
ERRNO_NAME = re.compile(r"E[A-Z0-9_]+")  # INPUT and INTERNAL are the workbench's, not errnos
GIGABIT = 1_000_000_000
SMALL_SEND = 1448  # about one TCP segment on a 1500-byte path
TIMEOUTS = {"recv": "SO_RCVTIMEO", "recvfrom": "SO_RCVTIMEO", "accept": "SO_RCVTIMEO",
            "send": "SO_SNDTIMEO", "sendto": "SO_SNDTIMEO", "connect": "SO_SNDTIMEO"}


@dataclass
class Table:
    """The connection table as rows of text (netid, state, local, peer, recv_q, send_q),
    as `ss -n` shows them, and the kernel's netstat counters ({"ListenOverflows": n})."""

    rows: list[dict[str, Any]]
    counters: dict[str, int] = field(default_factory=dict)


@dataclass
class _Socket:
    id: int
    family: str
    type: str
    steps: list[Step] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    parent: _Socket | None = None  # the listener an accepted socket came from

    def find(self, kind: str, severity: str, message: str, steps: Iterable[int],
             **evidence: Any) -> None:
        self.findings.append({"kind": kind, "severity": severity, "message": message,
                              "steps": sorted(set(steps)), **evidence})

    def recommend(self, kind: str, message: str, steps: Iterable[int]) -> None:
        self.recommendations.append({"kind": kind, "message": message,
                                     "steps": sorted(set(steps))})

    @property
    def ip_stream(self) -> bool:
        return self.family in ("inet", "inet6") and self.type == "stream"


def analyse(session: Session, target: str = "", table: Table | None = None
            ) -> list[dict[str, Any]]:
    """The findings of every socket in the session, in the order they were made; with
    `table` (the connection table now, and the kernel's counters), what it says of
    the session's connections and listeners too."""
    socks = _sockets(session)
    for sock in socks.values():
        for rule in RULES:
            rule(sock)
        if table is not None:
            conn_table(sock, table)
    return [_report(sock, target) for sock in socks.values()]


def _sockets(session: Session) -> dict[int, _Socket]:
    socks: dict[int, _Socket] = {}
    for step in session.ordered():
        parent = socks.get(step.sock or 0)
        for sid in created_sockets(step):
            family = str(step.args.get("family", parent.family if parent else "inet"))
            stype = str(step.args.get("type", parent.type if parent else "stream"))
            socks[sid] = _Socket(sid, family, stype, [step],
                                 parent=parent if step.op == "accept" else None)
        if step.sock in socks and step.sock not in created_sockets(step):
            socks[step.sock].steps.append(step)
    return socks


def _report(sock: _Socket, target: str) -> dict[str, Any]:
    severities = {f["severity"] for f in sock.findings}
    status = "failure" if "error" in severities else "warning" if "warning" in severities \
        else "ok"
    return {
        "operation": "analyse",
        "target": f"{target} socket #{sock.id}".strip(),
        "address": _address(sock),
        "status": status,
        "findings": sock.findings,
        "recommendations": sock.recommendations,
        "artifacts": [{"socket": sock.id, "family": sock.family, "type": sock.type,
                       "steps": [s.seq for s in sock.steps]}],
    }


def _address(sock: _Socket) -> str:
    """local -> peer as the steps recorded them; an accepted socket's peer from accept,
    its local address its listener's."""
    local = _address(sock.parent).partition(" -> ")[0] if sock.parent else ""
    peer = ""
    for step in sock.steps:
        result = step.result or {}
        if step.op in ("bind", "listen", "connect") and isinstance(result.get("local"), str):
            local = result["local"]
        mine = step.op == "connect" or (step.op == "accept" and result.get("sock") == sock.id)
        if mine and isinstance(result.get("peer"), str):
            peer = result["peer"]
    return f"{local} -> {peer}" if local and peer else local or peer


def _options(sock: _Socket, name: str) -> list[Step]:
    return [s for s in sock.steps if s.op == "setsockopt" and s.args.get("option") == name
            and s.ok]


# -- rules ---------------------------------------------------------------------------------


def _buffer_sizes(sock: _Socket) -> None:
    for step in _options(sock, "SO_RCVBUF") + _options(sock, "SO_SNDBUF"):
        name, asked = step.args["option"], step.args["value"]
        result = step.result or {}
        read = next((s for s in sock.steps if s.op == "getsockopt" and s.ok and s.seq > step.seq
                     and s.args.get("option") == name), None)
        if "effective" in result:
            got, why, based = result["effective"], result.get("why", ""), [step.seq]
        elif read is not None:
            got, why, based = (read.result or {}).get("value"), "read back", [step.seq, read.seq]
        else:
            sock.find("buffer-size", "info", f"{name} set to {asked} (step {step.seq}); the "
                      "kernel doubles what is set and caps it at net.core.rmem_max/wmem_max, "
                      "so the effective size is unknown here", [step.seq], requested=asked)
            sock.recommend("buffer-size", f"read {name} back with getsockopt after setting "
                           "it to know the size in effect", [step.seq])
            continue
        capped = isinstance(got, int) and isinstance(asked, int) and got < asked
        sock.find("buffer-size", "warning" if capped else "info",
                  f"{name}: requested {asked}, effective {got}" + (f" ({why})" if why else "")
                  + f" (step {step.seq})", based, requested=asked, effective=got)
        if capped:
            sock.recommend("buffer-size", f"raise net.core.{'r' if 'RCV' in name else 'w'}"
                           "mem_max to get the size asked for", based)
    if _options(sock, "SO_RCVBUF") or _options(sock, "SO_SNDBUF"):
        sock.recommend("buffer-size", "size buffers to the bandwidth-delay product "
                       "(bandwidth x round-trip time, e.g. from TCP_INFO rtt); setting them "
                       "turns off the kernel's autotuning", [s.seq for s in sock.steps
                                                             if s.op == "setsockopt"])


def _nodelay(sock: _Socket) -> None:
    for step in _options(sock, "TCP_NODELAY"):
        if step.args["value"]:
            sock.find("tcp-nodelay", "info", f"TCP_NODELAY on (step {step.seq}): small writes "
                      "go out at once (Nagle off): lower latency, more packets", [step.seq])
    if not sock.ip_stream or _options(sock, "TCP_NODELAY"):
        return
    run: list[int] = []
    for step in sock.steps:
        if step.op == "send" and step.ok and len(step.args.get("data", b"")) < SMALL_SEND:
            run.append(step.seq)
        elif step.op in ("recv", "expect"):
            if len(run) >= 2:
                sock.recommend("tcp-nodelay", f"small sends in a row before a read (steps "
                               f"{', '.join(map(str, run))}) meet Nagle and delayed ACKs: "
                               "send once, or set TCP_NODELAY", run)
                return
            run = []


def _keepalive(sock: _Socket) -> None:
    for step in _options(sock, "SO_KEEPALIVE"):
        if not step.args["value"]:
            continue
        tuned = [s.seq for s in sock.steps if s.op == "setsockopt"
                 and s.args.get("option") in ("TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT")]
        sock.find("keepalive", "info", f"SO_KEEPALIVE on (step {step.seq}): an idle peer that "
                  "vanished is noticed" + (" on the times set" if tuned else " only after "
                  "net.ipv4.tcp_keepalive_time (7200 s by default) plus the probes"),
                  [step.seq, *tuned])
        if not tuned:
            sock.recommend("keepalive", "set TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT for "
                           "a dead peer to be noticed in minutes, not hours", [step.seq])


def _linger(sock: _Socket) -> None:
    for step in _options(sock, "SO_LINGER"):
        value = step.args["value"]
        if not isinstance(value, dict) or not value.get("on"):
            continue
        close = next((s for s in sock.steps if s.op == "close" and s.seq > step.seq), None)
        based = [step.seq] + ([close.seq] if close else [])
        if value.get("seconds") == 0:
            sock.find("linger", "warning", f"SO_LINGER {{1, 0}} (step {step.seq}): close "
                      "sends RST instead of FIN; unsent data is dropped and the peer reads "
                      "ECONNRESET; no TIME_WAIT is left", based)
            sock.recommend("linger", "close normally (shutdown, read to EOF, close) unless "
                           "an abortive close is meant", based)
        else:
            sock.find("linger", "info", f"SO_LINGER {{1, {value.get('seconds')}}} (step "
                      f"{step.seq}): close blocks until the data is sent or the time is up",
                      based)


def _errors(sock: _Socket) -> None:
    """Each error met, with the diagnosis words for the call that met it (what the errno
    means for that call, the usual causes and fixes; no look at this machine)."""
    options = options_set(sock.steps, sock.id)
    for step in sock.steps:
        failed = FailedCall.from_step(step, sock.family, sock.type, options=options)
        name = failed.error
        if not name or name in NOT_FAILURES or failed.cancelled:
            continue  # a cancel (esc) is the user's choice, not a failure
        call = step.op if failed.op == step.op else \
            "the non-blocking connect (its SO_ERROR read)"
        diagnosis = diagnose(failed)
        errno_name = {"errno": name} if ERRNO_NAME.fullmatch(name) else {}
        sock.find("error", "error", f"{call} met {name} (step {step.seq}): "
                  f"{diagnosis.meaning}", [step.seq], **errno_name,
                  diagnosis=diagnosis.to_json())
        if diagnosis.hint and diagnosis.hint != FALLBACK_HINT:
            sock.recommend("error", f"{name}: {diagnosis.hint}", [step.seq])


def _reuseaddr(sock: _Socket) -> None:
    listen = next((s for s in sock.steps if s.op == "listen" and s.ok), None)
    if listen is None or sock.family not in ("inet", "inet6"):
        return
    if any(s.args["value"] for s in _options(sock, "SO_REUSEADDR")):
        return
    bind = next((s for s in sock.steps if s.op == "bind"), None)
    fixed = bind is not None and not str(bind.args.get("address", "")).endswith(":0")
    based = [listen.seq] + ([bind.seq] if bind else [])
    sock.find("reuseaddr", "warning" if fixed else "info", f"listener without SO_REUSEADDR "
              f"(step {listen.seq}): restarting it on the same port fails with EADDRINUSE "
              "while old connections are in TIME_WAIT", based)
    sock.recommend("reuseaddr", "set SO_REUSEADDR to 1 before bind on a listener", based)


def _timeouts(sock: _Socket) -> None:
    blocking, set_at = True, set()
    waits: list[int] = []
    for step in sock.steps:
        if step.op == "set_blocking" and step.ok:
            blocking = bool(step.args.get("blocking", True))
        elif step.op == "setsockopt" and step.args.get("option") in ("SO_RCVTIMEO",
                                                                      "SO_SNDTIMEO"):
            set_at.add(step.args["option"])
        elif (step.op in WAITING and step.sock == sock.id and blocking
              and TIMEOUTS[step.op] not in set_at
              and (sock.type == "stream" or step.op in ("recv", "recvfrom", "accept"))):
            waits.append(step.seq)  # a datagram's send or connect does not wait for a peer
    if waits:
        shown = ", ".join(map(str, waits[:8])) + (", ..." if len(waits) > 8 else "")
        calls = f"{len(waits)} blocking calls" if len(waits) > 1 else "a blocking call"
        steps = "steps" if len(waits) > 1 else "step"
        connects = any(s.op == "connect" and s.seq in waits for s in sock.steps)
        sock.find("blocking-timeout", "info", f"{calls} with no timeout ({steps} {shown}): "
                  "a receive, accept or send waits for ever if the peer goes quiet"
                  + (", a connect as long as the kernel resends its SYN (net.ipv4."
                     "tcp_syn_retries: about 2 minutes)" if connects else ""), waits)
        sock.recommend("blocking-timeout", "set SO_RCVTIMEO/SO_SNDTIMEO, or wait with poll() "
                       "and a timeout (export --io poll)", waits[:1])


def _after_shutdown(sock: _Socket) -> None:
    shut = None
    for step in sock.steps:
        if step.op == "shutdown" and step.ok:
            shut = step
        elif (shut is not None and step.op in ("recv", "recvfrom") and step.ok
              and len((step.result or {}).get("data", b"")) > 0):
            how = shut.args.get("how", "rdwr")
            size = len(step.result["data"])  # type: ignore[index]
            if how == "wr":
                sock.find("after-shutdown", "info", f"{size} bytes received after "
                          f"shutdown(WR) at step {shut.seq} (step {step.seq}): the peer went "
                          "on sending after our FIN, as a half-close allows",
                          [shut.seq, step.seq])
            else:
                sock.find("after-shutdown", "warning", f"{size} bytes received after "
                          f"shutdown({how.upper()}) at step {shut.seq} (step {step.seq}): "
                          "Linux still delivers data that was queued or arrives later",
                          [shut.seq, step.seq])


def _bandwidth_delay(sock: _Socket) -> None:
    """From a TCP_INFO read's rtt: the bytes in flight a fast path needs, and the rate
    the receive buffer allows (a window of B bytes per rtt)."""
    for step in sock.steps:
        info = (step.result or {}).get("value") if step.op == "getsockopt" else None
        if step.args.get("option") != "TCP_INFO" or not isinstance(info, dict):
            continue
        rtt = info.get("rtt")
        if not isinstance(rtt, int) or rtt <= 0:
            continue
        bdp = GIGABIT // 8 * rtt // 1_000_000
        buffer, based = _rcvbuf(sock, step.seq)
        cap = f"; SO_RCVBUF {buffer} allows about {buffer * 8 / rtt:.0f} Mbit/s at this rtt" \
            if buffer else ""
        sock.find("bdp", "info", f"rtt {rtt / 1000:g} ms (TCP_INFO, step {step.seq}): 1 Gbit/s "
                  f"needs {bdp} bytes in flight (bandwidth x rtt){cap}", [step.seq, *based],
                  rtt_us=rtt, bdp_bytes=bdp)
        sock.recommend("bdp", f"size SO_RCVBUF/SO_SNDBUF to at least the bandwidth-delay "
                       f"product: {bdp} bytes for 1 Gbit/s at {rtt / 1000:g} ms",
                       [step.seq, *based])
        return


def _rcvbuf(sock: _Socket, before: int) -> tuple[int, list[int]]:
    """The receive buffer known to be in effect before a step, and where it was seen."""
    size, based = 0, []
    for step in sock.steps:
        if step.seq >= before or step.args.get("option") != "SO_RCVBUF" or not step.ok:
            continue
        value = (step.result or {}).get("effective" if step.op == "setsockopt" else "value")
        if isinstance(value, int) and value > 0:
            size, based = value, [step.seq]
    return size, based


def conn_table(sock: _Socket, table: Table) -> None:
    """What the connection table says now of the socket's connection or listener."""
    local, peer = _ends(sock)
    close = next((s.seq for s in sock.steps if s.op == "close"), None)
    for row in table.rows:
        if local and peer and (row["local"], row["peer"]) == (local, peer):
            _lingering(sock, row, close)
        elif local and row["state"] == "LISTEN" and row["local"] == local and row["recv_q"]:
            listen = [s.seq for s in sock.steps if s.op == "listen"] or [close or 0]
            sock.find("conn-table", "warning", f"{row['recv_q']} connection(s) wait in the "
                      f"accept queue of {local} now: nothing accepts them", listen, **row)
    overflows = table.counters.get("ListenOverflows", 0)
    listens = [s.seq for s in sock.steps if s.op == "listen" and s.ok]
    if listens and overflows:
        sock.find("conn-table", "info", f"the kernel has counted {overflows} listen queue "
                  "overflows since boot (all listeners): a full accept queue drops SYNs",
                  listens, listen_overflows=overflows)
        sock.recommend("conn-table", "accept sooner, or raise the backlog (and "
                       "net.core.somaxconn) if this listener's queue fills", listens)


def _lingering(sock: _Socket, row: dict[str, Any], close: int | None) -> None:
    based = [close] if close is not None else [s.seq for s in sock.steps[-1:]]
    where = f"{row['local']} -> {row['peer']}"
    if row["state"] == "TIME-WAIT":
        sock.find("conn-table", "info", f"{where} is in TIME_WAIT now: this side closed "
                  "first, and the kernel holds the four-tuple about 60 s", based, **row)
    elif row["state"] == "CLOSE-WAIT":
        sock.find("conn-table", "warning", f"{where} is in CLOSE_WAIT now: the peer closed "
                  "and this side has not; it stays until close()", based, **row)
        sock.recommend("conn-table", "close a socket once recv returns end of stream",
                       based)


def _ends(sock: _Socket) -> tuple[str, str]:
    text = _address(sock)
    local, _, peer = text.partition(" -> ")
    return (local, peer) if peer else (text, "") if _bound(sock) else ("", text)


def _bound(sock: _Socket) -> bool:
    return any(s.op in ("bind", "listen") for s in sock.steps)


RULES = (_buffer_sizes, _bandwidth_delay, _nodelay, _keepalive, _linger, _errors, _reuseaddr,
         _timeouts, _after_shutdown)
