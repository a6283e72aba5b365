"""What each errno means for a socket call, and what to try next.

Numbers and messages come from this platform's `errno` module and `os.strerror`;
the meaning and hint lines are written for Linux. Resolver failures
(`socket.gaierror`) get their own EAI_* entries with the negative numbers Python uses.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass, replace
from functools import cache

FALLBACK_HINT = "see the man page of the call"


@dataclass(frozen=True)
class ErrnoInfo:
    name: str  # "ECONNREFUSED"
    number: int  # 111 on Linux; EAI_* entries are negative
    message: str  # the platform's own text, "Connection refused"
    meaning: str  # one line: what it means for a socket call
    hint: str  # one line: what to try


# name -> (meaning, hint). Names missing from this platform's errno module are skipped.
_SOCKET_ERRNOS: dict[str, tuple[str, str]] = {
    "EACCES": (
        "permission denied: bind to a port below net.ipv4.ip_unprivileged_port_start "
        "without CAP_NET_BIND_SERVICE, a send to a broadcast address without "
        "SO_BROADCAST, or a Unix socket path you may not search or write",
        "use a port >= 1024 or grant CAP_NET_BIND_SERVICE; set SO_BROADCAST before "
        "broadcasting; check the permissions along a Unix socket path",
    ),
    "EPERM": (
        "not permitted: a raw or packet socket, or a privileged option (SO_MARK, "
        "IP_TRANSPARENT, SO_PRIORITY above 6), without CAP_NET_RAW/CAP_NET_ADMIN; "
        "a local firewall rule can also reject an outgoing packet with this",
        "run with the needed capability (setcap cap_net_raw,cap_net_admin+ep) or as "
        "root; check the OUTPUT chain with `nft list ruleset` or `iptables -S`",
    ),
    "EADDRINUSE": (
        "on bind: another socket holds this address and port (a listener, or a "
        "connection in TIME_WAIT when SO_REUSEADDR is off); on listen: another socket "
        "already listens on the port; on connect: the local address and port are "
        "already connected to that same destination",
        "set SO_REUSEADDR before bind to reuse a TIME_WAIT port, pick another port "
        "(0 lets the kernel choose), or find the holder with `ss -ltnp`",
    ),
    "EADDRNOTAVAIL": (
        "on bind: no local interface has this address; on connect: no free ephemeral "
        "port is left for this destination (net.ipv4.ip_local_port_range is exhausted)",
        "check `ip addr` for the address (IP_FREEBIND binds before it exists); for "
        "connect, widen the port range, reuse connections or close TIME_WAIT ones",
    ),
    "EAFNOSUPPORT": (
        "the address family is not available in this kernel (e.g. IPv6 disabled at "
        "boot), or the address given to bind/connect/sendto is of another family "
        "than the socket",
        "use an address of the socket's own family (IPv4 for AF_INET, IPv6 for "
        "AF_INET6), or check that the family is enabled in the kernel",
    ),
    "EAGAIN": (
        "the call would block (EWOULDBLOCK is the same number): a non-blocking socket "
        "had nothing to read, no room in the send buffer or no connection to accept, "
        "or SO_RCVTIMEO/SO_SNDTIMEO ran out",
        "wait until the socket is readable or writable (poll/select) and retry, or "
        "switch the socket to blocking mode",
    ),
    "EALREADY": (
        "a non-blocking connect is still in progress on this socket, so another "
        "connect cannot start",
        "wait until the socket is writable, then read SO_ERROR for the outcome",
    ),
    "EBADF": (
        "the descriptor is not open: the socket was already closed (possibly by "
        "another thread) or the number was never a valid descriptor",
        "create a new socket; never use a descriptor after closing it",
    ),
    "ECONNABORTED": (
        "the connection was aborted on this side: on accept, a queued connection "
        "went away before it was taken; on an open socket, the kernel killed it "
        "(e.g. `ss -K`)",
        "treat it as closed: close the socket, then accept or connect again",
    ),
    "ECONNREFUSED": (
        "nothing is listening on that address and port (the peer answered with a "
        "reset); on a connected UDP socket, an earlier datagram drew an ICMP port "
        "unreachable",
        "start a listener there, or check the port; `workbench peer echo ADDRESS` "
        "starts one",
    ),
    "ECONNRESET": (
        "the peer reset the connection: it closed with unread data, crashed, was "
        "killed, or aborted with SO_LINGER set to 0; data in flight is lost",
        "close this socket and reconnect; the peer's logs tell why it aborted",
    ),
    "EDESTADDRREQ": (
        "no destination: send on a datagram socket that is neither connected nor "
        "given an address",
        "use sendto with an address, or connect the socket first",
    ),
    "EFAULT": (
        "a buffer or address passed to the kernel lies outside the process's memory; "
        "through Python this is a bug in native code, not in the input",
        "report it with the step that triggered it",
    ),
    "EHOSTUNREACH": (
        "no route to the host: an ICMP host unreachable or administratively "
        "prohibited came back, or the neighbour on the local link never answered ARP/ND",
        "check `ip route get ADDRESS`, that the host is up, and firewalls on the way",
    ),
    "EHOSTDOWN": (
        "the host is reported down; rare on Linux, where an unreachable host "
        "normally shows as EHOSTUNREACH",
        "check that the host is powered on and on the network (`ping ADDRESS`)",
    ),
    "EINPROGRESS": (
        "a non-blocking connect started and has not finished; the socket becomes "
        "writable when it completes and SO_ERROR then holds 0 or the error",
        "poll for writability, then getsockopt SOL_SOCKET SO_ERROR to get the result",
    ),
    "EINTR": (
        "a signal interrupted the call before any data moved; Python retries on its "
        "own unless the signal handler raised; an interrupted connect goes on in the "
        "background",
        "retry the call; if it keeps happening, find what sends the signals",
    ),
    "EINVAL": (
        "an argument does not fit the socket's state: bind on a socket already bound, "
        "accept on a socket that is not listening, an option value or length out of "
        "range, or a bad address length",
        "check the order of calls (socket, bind, listen, accept) and the value's "
        "allowed range",
    ),
    "EISCONN": (
        "the socket is already connected: a second connect on a stream socket",
        "send on the existing connection, or open a new socket for another peer",
    ),
    "EMFILE": (
        "this process has used all its file descriptors (RLIMIT_NOFILE); socket, "
        "accept and socketpair each need a new one",
        "close unused sockets, or raise the limit with `ulimit -n`",
    ),
    "ENFILE": (
        "the whole system has reached its open-file limit (fs.file-max)",
        "close sockets elsewhere, or raise `sysctl fs.file-max`",
    ),
    "EMSGSIZE": (
        "the datagram is too big for one send: over the protocol limit (65507 bytes "
        "of UDP payload on IPv4), over the path MTU with don't-fragment set, or over "
        "the send buffer of a Unix datagram socket",
        "send smaller datagrams; for MTU limits, size them below the path MTU",
    ),
    "ENETDOWN": (
        "the interface the packet would leave through is down (mostly seen with "
        "packet sockets or SO_BINDTODEVICE)",
        "bring the interface up (`ip link set DEV up`) and check `ip addr`",
    ),
    "ENETUNREACH": (
        "no route to that network: the routing table has no entry (no default "
        "route, or no IPv6 connectivity) or an ICMP network unreachable came back",
        "check `ip route get ADDRESS`; add a route, or use a family that has one",
    ),
    "ENOBUFS": (
        "the kernel had no buffer space: the device transmit queue is full or "
        "socket memory limits (net.core.wmem_max, net.ipv4.tcp_mem) were reached",
        "slow down and retry; for steady bursts raise txqueuelen or the memory sysctls",
    ),
    "ENOMEM": (
        "the kernel could not allocate memory for the socket or its buffers",
        "free memory or ask for smaller SO_RCVBUF/SO_SNDBUF; `dmesg` may say more",
    ),
    "ENOPROTOOPT": (
        "the option is unknown at that level for this socket: wrong level, an option "
        "of another protocol (a TCP option on a UDP socket), a kernel too old, or an "
        "option Linux does not let you set (SO_SNDLOWAT)",
        "pick an option that belongs to this socket's family, type and protocol",
    ),
    "ENOTCONN": (
        "the socket is not connected: send/recv/getpeername/shutdown on a stream "
        "socket before connect or accept completed, or after the connection ended",
        "connect or accept first; on a non-blocking socket wait until connect completes",
    ),
    "ENOTSOCK": (
        "the descriptor is open but is not a socket (a file, pipe or terminal)",
        "pass a socket's descriptor",
    ),
    "EOPNOTSUPP": (
        "the socket type does not support the operation (ENOTSUP is the same "
        "number): listen or accept on a datagram socket, MSG_OOB without out-of-band "
        "data, or a flag the protocol rejects",
        "use a stream or seqpacket socket to listen and accept; drop the unsupported flag",
    ),
    "EPIPE": (
        "the write side is closed: this side called shutdown(SHUT_WR) or the peer "
        "closed the connection; Python ignores SIGPIPE so the call fails with this",
        "stop sending and close; reconnect if more data must go out",
    ),
    "EPROTONOSUPPORT": (
        "the protocol is not supported for this family and type (IPPROTO_TCP with "
        "SOCK_DGRAM, or a protocol whose module is not loaded, such as SCTP)",
        "pass protocol 0 to let the kernel choose, or load the protocol's module",
    ),
    "EPROTOTYPE": (
        "the socket type does not match: connecting a Unix stream socket to a datagram "
        "socket's path, or a protocol that does not fit the type",
        "use the same socket type on both ends",
    ),
    "ESOCKTNOSUPPORT": (
        "the socket type is not supported in this family (SOCK_SEQPACKET for "
        "AF_INET without SCTP)",
        "use SOCK_STREAM or SOCK_DGRAM, or load the module that provides the type",
    ),
    "ESHUTDOWN": (
        "the endpoint was shut down for sending; on Linux IP and Unix sockets report "
        "EPIPE instead, this comes from other protocols (SCTP, Bluetooth)",
        "stop sending on this socket; open a new one to send again",
    ),
    "ETIMEDOUT": (
        "the kernel gave up on the connection: connect got no answer to its SYNs, or "
        "an open connection lost its peer (retransmissions, keepalive probes or "
        "TCP_USER_TIMEOUT ran out)",
        "check the host is up and no firewall drops packets silently; TCP_SYNCNT "
        "shortens connect attempts",
    ),
    "ENOENT": (
        "a Unix socket path does not exist: no socket file to connect to, or a "
        "missing directory on the path to bind",
        "check the path; start the listening side first so it creates the file",
    ),
    "ENAMETOOLONG": (
        "the Unix socket path is longer than sun_path holds (108 bytes on Linux, "
        "terminator included)",
        "use a shorter path (a short directory, or a relative path) or an abstract name",
    ),
    "ENOTDIR": (
        "a component of the Unix socket path is not a directory",
        "fix the path so that every part before the last is a directory",
    ),
    "EROFS": (
        "bind would create the Unix socket file on a read-only filesystem",
        "bind under a writable directory such as /tmp or $XDG_RUNTIME_DIR, or use an "
        "abstract name",
    ),
    "ELOOP": (
        "resolving the Unix socket path met too many symbolic links (a loop)",
        "inspect the links along the path with `namei -l PATH`",
    ),
    "ECANCELED": (
        "the call was cancelled before it completed (a blocking step cancelled by "
        "the user, or aborted asynchronous I/O)",
        "run the step again, or use non-blocking mode to avoid waiting",
    ),
    "EPROTO": (
        "a protocol error: accept may report it when a queued connection failed its "
        "handshake; some protocols use it for a malformed peer reply",
        "retry the accept or connect; if it repeats, capture the traffic",
    ),
    "ENODEV": (
        "no such network device: SO_BINDTODEVICE or a packet socket named an "
        "interface that does not exist",
        "list interfaces with `ip link` and use one of their names",
    ),
    "ENOSPC": (
        "no space left on the filesystem to create the Unix socket file",
        "free space or bind under another directory, or use an abstract name",
    ),
}

# glibc gai_strerror texts, and what each resolver failure means.
_GAI_ERRORS: dict[str, tuple[str, str, str]] = {
    "EAI_ADDRFAMILY": (
        "Address family for hostname not supported",
        "the host has no address in the requested family (e.g. IPv6 asked, IPv4 only)",
        "ask for the other family, or leave the family unspecified",
    ),
    "EAI_AGAIN": (
        "Temporary failure in name resolution",
        "the DNS server did not answer in time or answered with a temporary failure",
        "retry; check /etc/resolv.conf and that its name server is reachable",
    ),
    "EAI_BADFLAGS": (
        "Bad value for ai_flags",
        "the resolver got flags it does not accept",
        "drop the unsupported getaddrinfo flags",
    ),
    "EAI_FAIL": (
        "Non-recoverable failure in name resolution",
        "the name server failed for good (refused, or sent a malformed answer)",
        "check the name server and the name with `dig NAME`",
    ),
    "EAI_FAMILY": (
        "ai_family not supported",
        "the resolver does not handle the requested address family",
        "use AF_INET, AF_INET6 or AF_UNSPEC",
    ),
    "EAI_MEMORY": (
        "Memory allocation failure",
        "the resolver ran out of memory",
        "free memory and retry",
    ),
    "EAI_NODATA": (
        "No address associated with hostname",
        "the name exists but has no address records",
        "check the name's A/AAAA records with `dig NAME`",
    ),
    "EAI_NONAME": (
        "Name or service not known",
        "the host or service name is unknown to /etc/hosts and DNS, or a name was "
        "given where only a numeric address is accepted",
        "check the spelling, /etc/hosts and DNS; a numeric address skips resolution",
    ),
    "EAI_OVERFLOW": (
        "Argument buffer overflow",
        "a result did not fit the buffer given to the resolver",
        "report it with the step that triggered it",
    ),
    "EAI_SERVICE": (
        "Servname not supported for ai_socktype",
        "the service name is unknown for this socket type (missing from /etc/services)",
        "use a numeric port, or a service listed for tcp/udp in /etc/services",
    ),
    "EAI_SOCKTYPE": (
        "ai_socktype not supported",
        "the resolver does not handle the requested socket type",
        "use SOCK_STREAM or SOCK_DGRAM",
    ),
    "EAI_SYSTEM": (
        "System error",
        "a system call failed inside the resolver and the underlying errno was lost",
        "check that /etc/nsswitch.conf, /etc/hosts and /etc/resolv.conf are readable",
    ),
}

# OSErrors Python raises itself, without an errno.
_PYTHON_MESSAGES = {"AF_UNIX path too long": "ENAMETOOLONG"}

_PYTHON_TIMEOUT = (
    "the call did not finish within the socket's own timeout (settimeout); the "
    "kernel itself reported no error",
    "raise the timeout or wait for the peer; a connect cut short this way may "
    "still complete in the background",
)


def _specific(name: str, number: int) -> ErrnoInfo:
    meaning, hint = _SOCKET_ERRNOS[name]
    return ErrnoInfo(name, number, os.strerror(number), meaning, hint)


def _generic(name: str, number: int) -> ErrnoInfo:
    message = os.strerror(number)
    meaning = f"the call failed: {message[:1].lower()}{message[1:]}"
    return ErrnoInfo(name, number, message, meaning, FALLBACK_HINT)


@cache
def _by_number() -> dict[int, ErrnoInfo]:
    """Every errno of this platform, specific entries where written."""
    table = {n: _generic(name, n) for n, name in errno.errorcode.items()}
    for name in _SOCKET_ERRNOS:
        number = getattr(errno, name, None)
        if number is not None:
            table[number] = _specific(name, number)
    return table


@cache
def _gai_by_number() -> dict[int, ErrnoInfo]:
    table: dict[int, ErrnoInfo] = {}
    for name, (message, meaning, hint) in _GAI_ERRORS.items():
        number = getattr(socket, name, None)
        if number is not None:
            table[number] = ErrnoInfo(name, number, message, meaning, hint)
    return table


@cache
def _by_name() -> dict[str, ErrnoInfo]:
    table = {info.name: info for info in _gai_by_number().values()}
    table.update({info.name: info for info in _by_number().values()})
    # Other spellings of a number (EWOULDBLOCK, ENOTSUP) give the canonical entry.
    for name, number in vars(errno).items():
        if name.startswith("E") and isinstance(number, int) and name not in table:
            table[name] = _by_number()[number]
    return table


def _lookup_number(number: int) -> ErrnoInfo:
    table = _gai_by_number() if number < 0 else _by_number()
    return table[number]


def lookup(key: int | str) -> ErrnoInfo:
    """Find by number (111, "111"; negative for EAI_*) or by name, any case."""
    if isinstance(key, int):
        return _lookup_number(key)
    text = key.strip()
    digits = text.removeprefix("-")
    if digits.isascii() and digits.isdigit() and len(digits) <= 10:  # not "1_1" or "٣"
        return _lookup_number(int(text))
    return _by_name()[text.upper()]


def all_errnos() -> list[ErrnoInfo]:
    """Every errno number of this platform, by number."""
    return sorted(_by_number().values(), key=lambda info: info.number)


def gai_errors() -> list[ErrnoInfo]:
    """The resolver (getaddrinfo) failures, by name."""
    return sorted(_gai_by_number().values(), key=lambda info: info.name)


def _from_gaierror(exc: socket.gaierror) -> ErrnoInfo:
    info = _gai_by_number().get(exc.errno) if exc.errno is not None else None
    if info is None:
        number = exc.errno or 0
        message = exc.strerror or str(exc)
        return ErrnoInfo("EAI_UNKNOWN", number, message, "name resolution failed", FALLBACK_HINT)
    return replace(info, message=exc.strerror) if exc.strerror else info


def _without_errno(exc: OSError) -> ErrnoInfo:
    if isinstance(exc, TimeoutError):
        meaning, hint = _PYTHON_TIMEOUT
        return replace(_by_name()["ETIMEDOUT"], meaning=meaning, hint=hint)
    name = _PYTHON_MESSAGES.get(str(exc))
    if name is not None:
        return _by_name()[name]
    return ErrnoInfo("EUNKNOWN", 0, str(exc), "the call failed without an errno", FALLBACK_HINT)


def from_oserror(exc: OSError) -> ErrnoInfo:
    """Explain an exception raised by a socket call; never raises."""
    if isinstance(exc, socket.gaierror):
        return _from_gaierror(exc)
    if exc.errno is None:
        return _without_errno(exc)
    info = _by_number().get(exc.errno)
    if info is None:
        message = exc.strerror or str(exc)
        meaning = "the call failed with an errno this platform does not name"
        return ErrnoInfo(f"E{exc.errno}", exc.errno, message, meaning, FALLBACK_HINT)
    return info
