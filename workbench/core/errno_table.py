"""Per errno: hard or soft, its Winsock and BSD spellings, likely causes and fixes.

Soft means a retry of the same call, with nothing changed, may succeed (the
condition passes: a full buffer, a signal, a transient route or memory shortage);
hard means something must change first (an address, a permission, the peer).
Numbers on FreeBSD and macOS are given only where they differ from Linux's.
"""

from __future__ import annotations

from typing import NamedTuple


class Port(NamedTuple):
    soft: bool
    winsock: str = ""  # "WSAECONNREFUSED"; "" when Winsock has no counterpart
    winsock_number: int = 0
    freebsd: int | None = None  # None: same number as Linux
    macos: int | None = None


def _bsd(number: int, soft: bool, winsock: str = "", wsa: int = 0) -> Port:
    """An errno FreeBSD and macOS number alike."""
    return Port(soft, winsock, wsa, number, number)


PORTS: dict[str, Port] = {
    "EACCES": Port(False, "WSAEACCES", 10013),
    "EPERM": Port(False, "WSAEACCES", 10013),
    "EADDRINUSE": _bsd(48, False, "WSAEADDRINUSE", 10048),
    "EADDRNOTAVAIL": _bsd(49, False, "WSAEADDRNOTAVAIL", 10049),
    "EAFNOSUPPORT": _bsd(47, False, "WSAEAFNOSUPPORT", 10047),
    "EAGAIN": _bsd(35, True, "WSAEWOULDBLOCK", 10035),
    "EALREADY": _bsd(37, True, "WSAEALREADY", 10037),
    "EBADF": Port(False, "WSAEBADF", 10009),
    "ECONNABORTED": _bsd(53, True, "WSAECONNABORTED", 10053),
    "ECONNREFUSED": _bsd(61, False, "WSAECONNREFUSED", 10061),
    "ECONNRESET": _bsd(54, False, "WSAECONNRESET", 10054),
    "EDESTADDRREQ": _bsd(39, False, "WSAEDESTADDRREQ", 10039),
    "EFAULT": Port(False, "WSAEFAULT", 10014),
    "EHOSTDOWN": _bsd(64, True, "WSAEHOSTDOWN", 10064),
    "EHOSTUNREACH": _bsd(65, True, "WSAEHOSTUNREACH", 10065),
    "EINPROGRESS": _bsd(36, True, "WSAEINPROGRESS", 10036),
    "EINTR": Port(True, "WSAEINTR", 10004),
    "EINVAL": Port(False, "WSAEINVAL", 10022),
    "EISCONN": _bsd(56, False, "WSAEISCONN", 10056),
    "EMFILE": Port(True, "WSAEMFILE", 10024),
    "ENFILE": Port(True),
    "EMSGSIZE": _bsd(40, False, "WSAEMSGSIZE", 10040),
    "ENETDOWN": _bsd(50, True, "WSAENETDOWN", 10050),
    "ENETRESET": _bsd(52, False, "WSAENETRESET", 10052),
    "ENETUNREACH": _bsd(51, True, "WSAENETUNREACH", 10051),
    "ENOBUFS": _bsd(55, True, "WSAENOBUFS", 10055),
    "ENOMEM": Port(True, "WSA_NOT_ENOUGH_MEMORY", 8),
    "ENOPROTOOPT": _bsd(42, False, "WSAENOPROTOOPT", 10042),
    "ENOTCONN": _bsd(57, False, "WSAENOTCONN", 10057),
    "ENOTSOCK": _bsd(38, False, "WSAENOTSOCK", 10038),
    "EOPNOTSUPP": Port(False, "WSAEOPNOTSUPP", 10045, 45, 102),
    "EPIPE": Port(False),
    "EPROTONOSUPPORT": _bsd(43, False, "WSAEPROTONOSUPPORT", 10043),
    "EPROTOTYPE": _bsd(41, False, "WSAEPROTOTYPE", 10041),
    "ESOCKTNOSUPPORT": _bsd(44, False, "WSAESOCKTNOSUPPORT", 10044),
    "ESHUTDOWN": _bsd(58, False, "WSAESHUTDOWN", 10058),
    "ETIMEDOUT": _bsd(60, True, "WSAETIMEDOUT", 10060),
    "ENOENT": Port(False),
    "ENAMETOOLONG": _bsd(63, False, "WSAENAMETOOLONG", 10063),
    "ENOTDIR": Port(False),
    "EROFS": Port(False),
    "ELOOP": _bsd(62, False, "WSAELOOP", 10062),
    "ECANCELED": Port(True, "WSA_OPERATION_ABORTED", 995, 85, 89),
    "EPROTO": Port(True, "", 0, 92, 100),
    "ENODEV": Port(False),
    "ENOSPC": Port(False),
    # getaddrinfo failures: Winsock's EAI_* are these WSA codes.
    "EAI_ADDRFAMILY": _bsd(1, False),
    "EAI_AGAIN": _bsd(2, True, "WSATRY_AGAIN", 11002),
    "EAI_BADFLAGS": _bsd(3, False, "WSAEINVAL", 10022),
    "EAI_FAIL": _bsd(4, False, "WSANO_RECOVERY", 11003),
    "EAI_FAMILY": _bsd(5, False, "WSAEAFNOSUPPORT", 10047),
    "EAI_MEMORY": _bsd(6, True, "WSA_NOT_ENOUGH_MEMORY", 8),
    "EAI_NODATA": _bsd(7, False, "WSAHOST_NOT_FOUND", 11001),  # Winsock: EAI_NONAME
    "EAI_NONAME": _bsd(8, False, "WSAHOST_NOT_FOUND", 11001),
    "EAI_SERVICE": _bsd(9, False, "WSATYPE_NOT_FOUND", 10109),
    "EAI_SOCKTYPE": _bsd(10, False, "WSAESOCKTNOSUPPORT", 10044),
    "EAI_SYSTEM": _bsd(11, False),
    "EAI_OVERFLOW": _bsd(14, False),
}


class Causes(NamedTuple):
    causes: tuple[str, ...]
    fixes: tuple[str, ...]
    related: tuple[str, ...] = ()  # socket options worth reading about


CAUSES: dict[str, Causes] = {
    "EACCES": Causes(
        ("a port below net.ipv4.ip_unprivileged_port_start without CAP_NET_BIND_SERVICE",
         "an ICMP datagram socket while your group is outside net.ipv4.ping_group_range",
         "a broadcast destination without SO_BROADCAST",
         "a Unix socket path you may not search or write"),
        ("use a higher port or grant CAP_NET_BIND_SERVICE",
         "widen net.ipv4.ping_group_range", "set SO_BROADCAST",
         "fix the permissions along the Unix path"),
        ("SO_BROADCAST",)),
    "EPERM": Causes(
        ("a raw or packet socket without CAP_NET_RAW",
         "a privileged option without CAP_NET_ADMIN", "a local firewall rule"),
        ("run with the capability (setcap) or as root", "check the OUTPUT firewall chain"),
        ("SO_MARK", "SO_PRIORITY")),
    "EADDRINUSE": Causes(
        ("another process listens on the port", "connections in TIME_WAIT hold the port "
         "and SO_REUSEADDR is off", "a socket bound but not listening holds the port",
         "a stale Unix socket file is left at the path"),
        ("find the holder with `ss -ltnup`", "set SO_REUSEADDR before bind",
         "bind port 0", "remove the stale Unix socket file"),
        ("SO_REUSEADDR", "SO_REUSEPORT")),
    "EADDRNOTAVAIL": Causes(
        ("the address is not on any local interface",
         "the ephemeral port range is exhausted",
         "a connect from a bound port to a destination it is already connected to"),
        ("bind an address `ip addr` shows, or 0.0.0.0 / ::",
         "widen net.ipv4.ip_local_port_range or reuse connections"),
        ("IP_FREEBIND",)),
    "EAFNOSUPPORT": Causes(
        ("an address of another family than the socket", "the family disabled in the kernel"),
        ("use an address of the socket's family",)),
    "EAGAIN": Causes(
        ("a non-blocking call with nothing to do yet", "a socket timeout ran out"),
        ("poll for readiness and retry", "switch to blocking mode"),
        ("SO_RCVTIMEO", "SO_SNDTIMEO")),
    "EALREADY": Causes(("a second connect while one is in progress",),
                       ("wait for writability, then read SO_ERROR",)),
    "EBADF": Causes(("the socket was closed already",), ("create a new socket",)),
    "ECONNABORTED": Causes(
        ("a client reset its connection while it waited in the accept queue",
         "the connection was killed on this side"),
        ("accept again", "reconnect")),
    "ECONNREFUSED": Causes(
        ("nothing listens on that port", "a listener exists on another address or family",
         "a firewall answers with a reset", "a stale Unix socket file with no listener"),
        ("start a listener (`workbench peer echo ADDRESS`)", "check port and family",
         "remove the stale socket file and restart its server")),
    "ECONNRESET": Causes(
        ("the peer closed with unread data", "the peer aborted with SO_LINGER 0",
         "the peer crashed or was killed", "a middlebox reset the connection"),
        ("reconnect", "read the peer's logs"), ("SO_LINGER",)),
    "EDESTADDRREQ": Causes(("a datagram send with no destination",),
                           ("use sendto with an address, or connect first",)),
    "EFAULT": Causes(("a bad buffer pointer in native code",), ("report it",)),
    "EHOSTDOWN": Causes(("the host is down",), ("check the host",)),
    "EHOSTUNREACH": Causes(
        ("ICMP host unreachable or prohibited", "no ARP/ND answer on the local link"),
        ("check `ip route get ADDRESS`", "check firewalls on the way")),
    "EINPROGRESS": Causes(("a non-blocking connect has started",),
                          ("poll for writability, then read SO_ERROR",), ("SO_ERROR",)),
    "EINTR": Causes(
        ("a signal arrived during a blocking call", "the call was cancelled in the workbench"),
        ("retry the call", "find what sends the signals")),
    "EINVAL": Causes(
        ("calls in the wrong order (bind twice, accept without listen)",
         "an option value out of range", "a bad address length or flags"),
        ("check the order socket, bind, listen, accept", "check the value's range")),
    "EISCONN": Causes(("the socket is connected already",),
                      ("use the connection, or open a new socket",)),
    "EMFILE": Causes(("the process reached RLIMIT_NOFILE",),
                     ("close unused descriptors", "raise `ulimit -n`")),
    "ENFILE": Causes(("the system reached fs.file-max",),
                     ("close files elsewhere", "raise fs.file-max")),
    "EMSGSIZE": Causes(
        ("a datagram over the protocol's limit", "a datagram over the path MTU with DF set",
         "a Unix datagram over the send buffer"),
        ("send smaller datagrams",), ("SO_SNDBUF", "IP_MTU_DISCOVER")),
    "ENETDOWN": Causes(("the interface is down",), ("bring it up with `ip link set DEV up`",)),
    "ENETRESET": Causes(("keep-alive found the connection dead",), ("reconnect",),
                        ("SO_KEEPALIVE",)),
    "ENETUNREACH": Causes(("no route to the network",), ("check `ip route`",)),
    "ENOBUFS": Causes(("a full transmit queue", "socket memory limits reached"),
                      ("slow down and retry", "raise the memory sysctls"), ("SO_SNDBUF",)),
    "ENOMEM": Causes(("the kernel is short of memory",), ("free memory", "ask for smaller "
                                                          "buffers"), ("SO_RCVBUF",)),
    "ENOPROTOOPT": Causes(("an option of another level or protocol",),
                          ("pick an option for this socket's protocol",)),
    "ENOTCONN": Causes(("data calls before connect or accept", "the connection has ended"),
                       ("connect first",)),
    "ENOTSOCK": Causes(("the descriptor is a file or pipe",), ("pass a socket",)),
    "EOPNOTSUPP": Causes(("listen or accept on a datagram socket", "an unsupported flag"),
                         ("use a stream socket", "drop the flag")),
    "EPIPE": Causes(("this side shut down writing", "the peer closed the connection"),
                    ("stop sending and close",)),
    "EPROTONOSUPPORT": Causes(("a protocol that does not fit the family and type",
                               "a protocol module not loaded"),
                              ("pass protocol 0",)),
    "EPROTOTYPE": Causes(("socket types differ between the two ends",),
                         ("use the same type on both ends",)),
    "ESOCKTNOSUPPORT": Causes(("a type this family does not have",), ("use stream or dgram",)),
    "ESHUTDOWN": Causes(("sending after shutdown on a protocol that reports it",),
                        ("open a new socket",)),
    "ETIMEDOUT": Causes(
        ("the host is down or unreachable", "a firewall drops packets silently",
         "the connection lost its peer"),
        ("check the host and the path", "shorten attempts with TCP_SYNCNT"),
        ("TCP_SYNCNT", "TCP_USER_TIMEOUT", "SO_KEEPALIVE")),
    "ENOENT": Causes(("no socket file at the Unix path", "a directory on the path is missing"),
                     ("start the server first", "check the path")),
    "ENAMETOOLONG": Causes(("a Unix path over 107 bytes",),
                           ("use a shorter path or an abstract name",)),
    "ENOTDIR": Causes(("a path component is not a directory",), ("fix the path",)),
    "EROFS": Causes(("a read-only filesystem",), ("bind under a writable directory",)),
    "ELOOP": Causes(("a symbolic link loop on the path",), ("inspect with `namei -l`",)),
    "ECANCELED": Causes(("the operation was cancelled",), ("run it again",)),
    "EPROTO": Causes(("a connection failed its handshake",), ("retry",)),
    "ENODEV": Causes(("an interface name that does not exist",), ("use one `ip link` shows",)),
    "ENOSPC": Causes(("a full filesystem",), ("free space or use an abstract name",)),
}
