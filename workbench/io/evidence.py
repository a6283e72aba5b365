"""Facts from the live system that explain a failed call (see core/diagnosis).

A gatherer is one function registered for errno names with @gatherer: it takes the
FailedCall and yields Facts. `gather` runs those that apply, each inside a time
budget, and never raises: a gatherer that fails or finds nothing gives no facts.
Reads are bounded (a few KiB of a sysctl, at most MAX_LINES of a /proc/net table,
one `ip` run of at most a second). Facts are read as this process sees them, so for
capabilities and limits gather in the process whose call failed.

Keys: sysctl.<name> (ip_unprivileged_port_start, ping_group_range,
ip_local_port_range, somaxconn, tcp_max_syn_backlog, rmem_max, wmem_max, file_nr),
process.caps, process.ids, process.nofile, process.open_fds, address.local,
address.broadcast, tcp.listeners, tcp.port, udp.bound, unix.path, unix.listener, route,
link (evidence_net holds the address, port, path and route gatherers); conns.holders,
conns.listeners (evidence_conns: the connection table and its processes).

A new kind of evidence is one gatherer here and one rule in core/diagnosis_rules, as
evidence_conns and core/diagnosis_conns are for the processes holding a port:

    @gatherer("EADDRINUSE")
    def holders(failed: FailedCall) -> Iterator[Fact]:
        ...  # look the port up; yield nothing when there is nothing to say
        yield Fact("conns.holders", [{"pid": 812, "process": "nginx", "state": "LISTEN",
                   "local": "0.0.0.0:80"}], "netlink sock_diag", "nginx (pid 812) listens …")

    @rule("EADDRINUSE", first=True)  # its cause goes before the general port rule's
    def held_by(failed, facts): ...
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from workbench.core.diagnosis import Diagnosis, Fact, FailedCall, diagnose, options_set
from workbench.core.errors import InputError
from workbench.core.steps import Step
from workbench.io.addresses import endpoint_for

if TYPE_CHECKING:  # a snapshot's type only: gathering needs nothing of the engine
    from workbench.io.engine.events import SocketInfo

Gatherer = Callable[[FailedCall], Iterable[Fact]]
_GATHERERS: list[tuple[frozenset[str], Gatherer]] = []
BUDGET = 3.0  # seconds for all the gatherers of one failure
MAX_LINES = 200_000  # of one /proc/net table: a busy server's, read in well under a second
IP_TIMEOUT = 1.0
MAX_PROBED_FDS = 1 << 16  # descriptors probed when /proc/self/fd cannot be opened
SYSCTL = "/proc/sys/"
CAPS = {"CAP_NET_BIND_SERVICE": 10, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13}
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
              6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
              11: "CLOSING", 12: "NEW_SYN_RECV"}
UNIX_TYPES = {1: "stream", 2: "dgram", 5: "seqpacket"}
ACCEPTCON = 0x10000  # __SO_ACCEPTCON in /proc/net/unix Flags: a listening socket


def gatherer(*errors: str) -> Callable[[Gatherer], Gatherer]:
    """Register a gatherer for errno names ("*" for every failure)."""
    def register(fn: Gatherer) -> Gatherer:
        _GATHERERS.append((frozenset(errors), fn))
        return fn

    return register


def gather(failed: FailedCall, budget: float = BUDGET) -> dict[str, Fact]:
    """Every fact the registered gatherers find for this failure; never raises."""
    facts: dict[str, Fact] = {}
    deadline = time.monotonic() + budget
    for errors, fn in _GATHERERS:
        if failed.error not in errors and "*" not in errors:
            continue
        if time.monotonic() > deadline:
            break  # what was found so far stands; the rest is not worth a frozen view
        try:
            for fact in fn(failed):
                facts[fact.key] = fact
        except Exception:  # evidence is best effort: the failure itself is the data
            continue
    return facts


def diagnose_step(step: Step, family: str = "", sock_type: str = "", *, resolved: str = "",
                  options: Mapping[str, int] | None = None, blocking: bool | None = None,
                  local: str = "", state: str = "", budget: float = BUDGET) -> Diagnosis:
    """A failed step explained with evidence gathered now. It may read /proc and run
    `ip` (at most a second), so call it off the interface's loop; gather it in the
    process that made the call, since capabilities and limits are per process."""
    failed = FailedCall.from_step(step, family, sock_type, resolved=resolved,
                                  options=dict(options or {}), blocking=blocking, local=local,
                                  state=state)
    return diagnose(failed, gather(failed, budget))


def diagnose_in_session(step: Step, info: SocketInfo | None, steps: Iterable[Step] = (),
                        resolved: str = "") -> Diagnosis:
    """diagnose_step with what the workbench knows of the step's socket: its snapshot
    (family, type, local address, state, blocking) and the options its earlier steps
    set. `resolved`: the address a peer:, sock: or host name stood for, if known."""
    if info is None:
        return diagnose_step(step, resolved=resolved)
    return diagnose_step(step, info.family, info.type, resolved=resolved,
                         options=options_set(steps, step.sock), blocking=info.blocking,
                         local=info.local, state=info.state)


class Recorder(Protocol):
    """What diagnose_recorded reads of an engine (io/engine's Engine)."""

    peers: dict[str, str]

    def socket_info(self, sock: int) -> SocketInfo: ...

    def steps(self) -> list[Step]: ...


def resolved_address(step: Step, peers: Mapping[str, str],
                     local_of: Callable[[int], str]) -> str:
    """The literal address a peer:NAME or sock:N argument stood for ("" if none)."""
    text = step.args.get("address")
    if not isinstance(text, str) or not text.startswith(("peer:", "sock:")):
        return ""
    try:
        return str(endpoint_for(text, dict(peers), local_of))
    except (InputError, ValueError):
        return ""


def diagnose_recorded(engine: Recorder, step: Step) -> Diagnosis:
    """diagnose_in_session for a step the engine recorded, with its socket's snapshot
    and the address its peer: or sock: argument stood for. Blocking (see diagnose_step)."""
    def info(sock: int | None) -> SocketInfo | None:
        try:
            return engine.socket_info(sock) if sock is not None else None
        except InputError:
            return None

    def local_of(sid: int) -> str:
        found = info(sid)
        return found.local if found is not None else ""

    resolved = resolved_address(step, engine.peers, local_of)
    return diagnose_in_session(step, info(step.sock), engine.steps(), resolved)


# -- small readers ----------------------------------------------------------------------


def read_text(path: str, limit: int = 4096) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("ascii", "replace")
    except OSError:
        return None


def sysctl(name: str) -> list[int] | None:
    """A numeric sysctl (dotted name) as its numbers, or None when unreadable."""
    text = read_text(SYSCTL + name.replace(".", "/"))
    try:
        return [int(x) for x in text.split()] if text else None
    except ValueError:
        return None


def _sysctl_fact(name: str, many: bool = False) -> Iterator[Fact]:
    numbers = sysctl(name)
    if numbers:
        value: Any = numbers if many else numbers[0]
        shown = " ".join(map(str, numbers))
        yield Fact(f"sysctl.{name.rsplit('.', 1)[1]}", value, SYSCTL + name.replace(".", "/"),
                   f"{name} = {shown}")


def capabilities(status: str | None = None) -> dict[str, bool] | None:
    """The network capabilities in this process's effective set (CapEff)."""
    text = status if status is not None else read_text("/proc/self/status", 1 << 16)
    for line in (text or "").splitlines():
        if line.startswith("CapEff:"):
            bits = int(line.split()[1], 16)
            return {name: bool(bits >> bit & 1) for name, bit in CAPS.items()}
    return None


# -- privileges, descriptors, buffers ---------------------------------------------------


@gatherer("EACCES", "EPERM")
def privileges(failed: FailedCall) -> Iterator[Fact]:
    yield from _sysctl_fact("net.ipv4.ip_unprivileged_port_start")
    yield from _sysctl_fact("net.ipv4.ping_group_range", many=True)
    caps = capabilities()
    if caps is not None:
        have = [n for n, on in caps.items() if on] or ["none of them"]
        yield Fact("process.caps", caps, "/proc/self/status CapEff",
                   f"effective network capabilities: {', '.join(have)}")


@gatherer("EACCES", "EPERM", "EADDRINUSE")
def identity(failed: FailedCall) -> Iterator[Fact]:
    """Who this process is: groups for ping sockets, the user for SO_REUSEPORT groups."""
    ids = {"uid": os.geteuid(), "gid": os.getegid(), "groups": sorted(os.getgroups())}
    yield Fact("process.ids", ids, "geteuid, getegid, getgroups",
               f"uid {ids['uid']}, gid {ids['gid']}, groups {ids['groups'] or 'none'}")


def open_fds(limit: int) -> tuple[int | None, str]:
    """How many descriptors this process has open. At EMFILE, listing /proc/self/fd
    needs one more, so then the numbers below the limit are probed one by one."""
    try:
        return len(os.listdir("/proc/self/fd")) - 1, "/proc/self/fd"  # less the listing's own
    except OSError:
        pass
    count = 0
    for fd in range(min(limit, MAX_PROBED_FDS)):
        try:
            os.fstat(fd)
        except OSError:
            continue
        count += 1
    return count, f"fstat of descriptors 0-{min(limit, MAX_PROBED_FDS) - 1}"


@gatherer("EMFILE", "ENFILE")
def descriptors(failed: FailedCall) -> Iterator[Fact]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield Fact("process.nofile", [soft, hard], "getrlimit(RLIMIT_NOFILE)",
               f"RLIMIT_NOFILE soft {soft}, hard {hard}")
    count, source = open_fds(soft)
    if count is not None:
        yield Fact("process.open_fds", count, source, f"{count} descriptors open in this process")
    numbers = sysctl("fs.file-nr")
    if numbers and len(numbers) == 3:
        yield Fact("sysctl.file_nr", numbers, "/proc/sys/fs/file-nr",
                   f"fs.file-nr: {numbers[0]} allocated, fs.file-max {numbers[2]}")


@gatherer("ENOBUFS", "EMSGSIZE", "ENOMEM")
def buffers(failed: FailedCall) -> Iterator[Fact]:
    yield from _sysctl_fact("net.core.rmem_max")
    yield from _sysctl_fact("net.core.wmem_max")
    yield from _sysctl_fact("net.core.wmem_default")


@gatherer("EADDRNOTAVAIL", "EADDRINUSE")
def ephemeral(failed: FailedCall) -> Iterator[Fact]:
    if failed.call in ("connect", "send", "listen"):
        yield from _sysctl_fact("net.ipv4.ip_local_port_range", many=True)


@gatherer("ENOENT", "EPERM")
def congestion(failed: FailedCall) -> Iterator[Fact]:
    if failed.call != "setsockopt" or failed.args.get("option") != "TCP_CONGESTION":
        return
    for which in ("available", "allowed"):
        path = f"{SYSCTL}net/ipv4/tcp_{which}_congestion_control"
        names = (read_text(path) or "").split()
        if names:
            yield Fact(f"sysctl.tcp_{which}_congestion_control", names, path,
                       f"net.ipv4.tcp_{which}_congestion_control = {' '.join(names)}")


@gatherer("ECONNREFUSED", "ETIMEDOUT", "EAGAIN")
def backlog(failed: FailedCall) -> Iterator[Fact]:
    if failed.call == "connect":
        yield from _sysctl_fact("net.core.somaxconn")
        yield from _sysctl_fact("net.ipv4.tcp_max_syn_backlog")
        yield from _sysctl_fact("net.ipv4.tcp_abort_on_overflow")


# The address, port, Unix path and connection table gatherers register themselves
# here. Imported now, not when first needed: at EMFILE no module file could be opened any more.
from workbench.io import evidence_conns, evidence_net  # noqa: E402, F401
