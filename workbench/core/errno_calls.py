"""What an errno means for the call that returned it, and what to try, call by call.

Keys are the calls of the socket API: socket, bind, listen, accept, connect, send,
recv, setsockopt, getsockopt, getpeername, shutdown, close. An errno lists only the
calls that can return it on Linux; "*" means any call on a descriptor, with the same
meaning for each; "call/unix" and "call/inet" are the meaning for a socket of that
family (errno_calls_unix). Steps map onto these calls with `call_of` (sendto is send, recvfrom
and expect are recv, socketpair is socket).
"""

from __future__ import annotations

from workbench.core.errno_calls_gai import GAI_CALLS
from workbench.core.errno_calls_unix import FAMILY_CALLS, PATH_CALLS

CALL_NAMES = ("socket", "bind", "listen", "accept", "connect", "send", "recv",
              "setsockopt", "getsockopt", "getsockname", "getpeername", "shutdown", "close",
              "expect")  # expect: the workbench's own wait for bytes, no system call
ANY = "*"

ALIASES = {"sendto": "send", "recvfrom": "recv", "socketpair": "socket"}

# name -> call -> (meaning for that call, what to try)
CALLS: dict[str, dict[str, tuple[str, str]]] = {
    "EACCES": {
        "socket": (
            "an ICMP datagram (ping) socket, type dgram with protocol 1 or 58, is open only "
            "to groups inside net.ipv4.ping_group_range; for other kinds, a security module "
            "(SELinux, AppArmor) can refuse the socket",
            "add your group to net.ipv4.ping_group_range (`sysctl -w "
            "net.ipv4.ping_group_range='0 2147483647'`), or use a raw socket with CAP_NET_RAW"),
        "bind": (
            "a port below net.ipv4.ip_unprivileged_port_start needs CAP_NET_BIND_SERVICE; "
            "for a Unix path, the directory must be writable and every directory above it "
            "searchable",
            "use a port at or above the sysctl's value, or grant CAP_NET_BIND_SERVICE "
            "(`setcap cap_net_bind_service+ep`); for a Unix path, bind in a directory you "
            "can write"),
        "connect": (
            "on a Unix socket: no write permission on the socket file, or no search "
            "permission on a directory of its path; on IP: a local firewall rule, or a "
            "UDP broadcast destination without SO_BROADCAST",
            "check the socket file's mode and owner (`namei -l PATH`); set SO_BROADCAST "
            "before connecting a UDP socket to a broadcast address"),
        "send": (
            "a datagram to a broadcast address needs SO_BROADCAST set on the socket first; "
            "to a Unix datagram path, write permission on its file; a firewall rule on "
            "OUTPUT or a `prohibit` route can refuse it too",
            "setsockopt SO_BROADCAST 1 and send again; check the Unix path's mode"),
    },
    "EPERM": {
        "socket": (
            "a raw or packet socket needs CAP_NET_RAW, which the process does not have",
            "run with CAP_NET_RAW (`setcap cap_net_raw+ep`, or as root); for ping, an ICMP "
            "datagram socket needs no capability if your group is in "
            "net.ipv4.ping_group_range"),
        "setsockopt": (
            "the option or value needs a capability: SO_MARK, IP_TRANSPARENT, SO_RCVBUFFORCE "
            "and SO_SNDBUFFORCE need CAP_NET_ADMIN, and so does SO_PRIORITY above 6",
            "grant CAP_NET_ADMIN, or use the unprivileged form (SO_RCVBUF, a priority 0-6); "
            "TCP_CONGESTION takes only net.ipv4.tcp_allowed_congestion_control without it"),
        "connect": (
            "a local firewall rule refused the packet before it left (netfilter on OUTPUT)",
            "look at the rules: `nft list ruleset` or `iptables -S OUTPUT`"),
        "send": (
            "a local firewall rule refused the packet before it left (netfilter on OUTPUT)",
            "look at the rules: `nft list ruleset` or `iptables -S OUTPUT`"),
        "bind": (
            "a security policy refused the bind: a cgroup BPF program or a security module "
            "(a low port without the capability is EACCES, not this)",
            "look at the cgroup's BPF programs (`bpftool cgroup tree`) and the security "
            "module's log"),
    },
    "EADDRINUSE": {
        "bind": (
            "another socket already holds this local address and port: a listener, a "
            "bound socket, or a connection still in TIME_WAIT while SO_REUSEADDR is off; "
            "for a Unix path, a file already exists there (perhaps left by a server that "
            "has exited)",
            "find the holder with `ss -ltnup 'sport = :PORT'`; set SO_REUSEADDR before bind "
            "if only TIME_WAIT connections hold the port; bind port 0 to get a free one; "
            "remove a stale Unix socket file"),
        "listen": (
            "another socket already listens on this address and port: both were bound "
            "with SO_REUSEADDR (or the port was auto-bound), but only one may listen",
            "stop the other listener or bind another port; with SO_REUSEPORT on both, "
            "the kernel spreads connections across them"),
        "connect": (
            "the local address is taken for this connection: the four-tuple (local and "
            "remote address and port) must be unique; Linux TCP reports a taken "
            "four-tuple as EADDRNOTAVAIL, so this comes from other protocols and systems",
            "do not bind before connect (let the kernel pick the local port), or bind "
            "another port"),
    },
    "EADDRNOTAVAIL": {
        "bind": (
            "no local interface has this address (a typo, an address of another host, or "
            "an interface not up yet)",
            "bind an address that `ip addr` shows, 0.0.0.0 or :: for all, or set "
            "IP_FREEBIND to bind before the address appears"),
        "connect": (
            "no usable local address and port for this connection: no local port is free "
            "for this destination (net.ipv4.ip_local_port_range is exhausted, often by "
            "TIME_WAIT connections), the socket was bound to a port that already has a "
            "connection to this same destination (the four-tuple must be unique), or its "
            "bound address is no longer on an interface",
            "let the kernel pick the local port (do not bind before connect); reuse "
            "connections, widen ip_local_port_range, let TIME_WAIT connections end"),
    },
    "EAFNOSUPPORT": {
        "socket": (
            "the kernel has no support for this address family (IPv6 disabled with "
            "ipv6.disable=1, or the family's module is not loaded)",
            "enable the family in the kernel, or use another family"),
        "bind": (
            "the address is of another family than the socket (IPv4 given to an AF_INET6 "
            "socket without mapping, or the other way round)",
            "use an address of the socket's family; an IPv4 address on an IPv6 socket is "
            "written ::ffff:a.b.c.d"),
        "connect": (
            "the address is of another family than the socket",
            "use an address of the socket's family; on IPv6 write IPv4 as ::ffff:a.b.c.d"),
        "send": (
            "sendto was given an address of another family than the socket",
            "use an address of the socket's family"),
    },
    "EAGAIN": {
        "accept": (
            "non-blocking accept with no connection waiting in the queue",
            "wait until the listener is readable (poll), then accept; or switch to blocking"),
        "recv": (
            "nothing is queued to read on this non-blocking socket, or SO_RCVTIMEO ran out "
            "before data came",
            "wait until the socket is readable (poll) and read again; or switch to blocking"),
        "send": (
            "the send would have to wait: the send buffer is full (the peer reads slower "
            "than you send) on a non-blocking socket, SO_SNDTIMEO ran out, or no ephemeral "
            "port was free to auto-bind an unbound datagram socket",
            "wait until the socket is writable and send the rest; a bigger SO_SNDBUF "
            "absorbs bursts"),
        "connect": (
            "a non-blocking Unix stream connect found the listener's backlog full; for IP, "
            "the kernel ran short of routing or port resources",
            "retry once the listener has accepted some connections; raise its backlog"),
    },
    "EALREADY": {
        "connect": (
            "a non-blocking connect is already in progress on this socket; a second one "
            "cannot start",
            "wait until the socket is writable, then read SO_ERROR for the outcome"),
    },
    "EBADF": {
        ANY: (
            "the descriptor is not open: the socket was closed already (perhaps by another "
            "thread) or the number was never valid",
            "create a new socket; never use a descriptor after closing it"),
    },
    "ECONNABORTED": {
        "accept": (
            "a connection waiting in the accept queue was reset by its client before "
            "accept took it",
            "accept again: the next connection in the queue is unaffected"),
        "connect": (
            "the attempt was aborted on this side (e.g. `ss -K` killed it)",
            "connect again with a new socket"),
        "recv": (
            "the connection was aborted on this side (`ss -K`, or a local TCP timeout)",
            "close the socket and reconnect"),
        "send": (
            "the connection was aborted on this side (`ss -K`, or a local TCP timeout)",
            "close the socket and reconnect"),
    },
    "ECONNREFUSED": {
        "connect": (
            "nothing accepts connections at that address: the host answered the SYN with a "
            "reset (no listener on that port and address family, or a firewall REJECT with "
            "tcp-reset); for a Unix path, the socket file exists but no process listens on "
            "it (a stale file) or its backlog is full",
            "start a listener there (`workbench peer echo ADDRESS`); check the port and the "
            "family (127.0.0.1 is not ::1); remove a stale Unix socket file"),
        "send": (
            "on a connected UDP socket, an earlier datagram drew an ICMP port unreachable: "
            "nothing listens on the peer's port; on a Unix datagram path, no socket is "
            "bound to the file",
            "start a receiver on the peer's address, then send again"),
        "recv": (
            "on a connected UDP socket, an earlier datagram drew an ICMP port unreachable: "
            "nothing listens on the peer's port",
            "start a receiver on the peer's address; the error is reported once"),
    },
    "ECONNRESET": {
        "recv": (
            "the peer reset the connection: it closed with unread data, aborted (SO_LINGER "
            "0), crashed or was killed; bytes it sent and you had not read are lost",
            "close this socket and reconnect; the peer's logs tell why it aborted"),
        "send": (
            "the peer reset the connection before or while this data went out",
            "close this socket and reconnect; what was sent may not have arrived"),
        "connect": (
            "the peer reset during the handshake (a listener whose queue overflowed with "
            "tcp_abort_on_overflow, or a middlebox)",
            "retry later; check the listener's backlog"),
    },
    "EDESTADDRREQ": {
        "send": (
            "send on a datagram socket that has no default peer: not connected, and no "
            "address given",
            "use sendto with an address, or connect the socket first"),
    },
    "EFAULT": {
        ANY: (
            "a buffer or address passed to the kernel lies outside the process's memory; "
            "from Python this is a bug in native code, not in the input",
            "report it with the step that triggered it"),
    },
    "EHOSTDOWN": {
        "connect": ("the host is reported down (rare on Linux, which says EHOSTUNREACH)",
                    "check that the host is on the network (`ping ADDRESS`)"),
        "send": ("the host is reported down (rare on Linux, which says EHOSTUNREACH)",
                 "check that the host is on the network (`ping ADDRESS`)"),
    },
    "EHOSTUNREACH": {
        "connect": (
            "no route to the host: an ICMP host unreachable or administratively prohibited "
            "came back, the next hop on the local link never answered ARP/ND, or an "
            "`unreachable` route covers the address",
            "check `ip route get ADDRESS`, that the host is up, and firewalls on the way"),
        "send": (
            "the datagram (or an earlier one) drew an ICMP host unreachable, or the "
            "neighbour never answered ARP/ND",
            "check `ip route get ADDRESS` and that the host is up"),
    },
    "EINPROGRESS": {
        "connect": (
            "a non-blocking connect started and has not finished; the socket becomes "
            "writable when it completes and SO_ERROR then holds 0 or the error",
            "poll for writability, then getsockopt SOL_SOCKET SO_ERROR for the result"),
    },
    "EINTR": {
        "accept": ("a signal arrived while accept waited; no connection was taken",
                   "accept again"),
        "connect": ("a signal arrived while connect waited; the handshake goes on in the "
                    "background", "poll for writability and read SO_ERROR; do not connect "
                    "again (that gives EALREADY)"),
        "send": ("a signal arrived before any byte was sent", "send again"),
        "recv": ("a signal arrived before any byte was received", "receive again"),
        "close": ("a signal arrived during close; on Linux the descriptor is closed anyway",
                  "do not close it again: the number may already belong to another file"),
    },
    "EINVAL": {
        "socket": (
            "the type or flags are unknown, or the family, type and protocol do not go "
            "together", "check the arguments; protocol 0 lets the kernel choose"),
        "bind": (
            "the socket is already bound, or the address does not fit it: a socket binds "
            "once; the address may have the wrong length, a malformed Unix path, or be "
            "IPv4-mapped on an IPV6_V6ONLY socket",
            "create a new socket to bind another address; bind before listen or connect"),
        "listen": (
            "the socket cannot listen in its state: it is connected or connecting",
            "listen on a fresh, bound socket"),
        "accept": (
            "the socket is not listening: listen was not called on it, or it was shut down",
            "call listen first (socket, bind, listen, accept)"),
        "connect": (
            "the address or the socket's state does not allow this connect: the address "
            "does not fit the socket (wrong length, a malformed Unix path, an IPv6 "
            "link-local address without a %scope), the state forbids it, or a `blackhole` "
            "route covers the destination",
            "check the address and the order of calls"),
        "send": (
            "an argument does not fit this send: the flags are invalid, the sendto address "
            "has the wrong length, the UDP destination port is 0, a socket bound to a "
            "loopback address sends off the host, or a `blackhole` route covers the "
            "destination",
            "check the flags and the destination"),
        "recv": (
            "the flags are invalid, or MSG_OOB with no urgent data pending (or "
            "SO_OOBINLINE set)", "drop MSG_OOB, or read it only when urgent data is signalled"),
        "setsockopt": (
            "the value does not fit the option: its value or length is out of range (e.g. "
            "TCP_MAXSEG below 88, a negative timeout), or the option cannot change in "
            "this state",
            "check the option's allowed range, and set it before listen or connect"),
        "getsockopt": ("the option length is too small for this option",
                       "pass a buffer of the option's size"),
        "shutdown": ("the how argument is not SHUT_RD, SHUT_WR or SHUT_RDWR",
                     "use rd, wr or rdwr"),
    },
    "EISCONN": {
        "connect": (
            "the socket is already connected (or listening): a stream socket connects once",
            "send on the existing connection, or open a new socket for another peer"),
        "send": (
            "sendto with an address on an already connected socket",
            "use send without an address, or an unconnected socket"),
    },
    "EMFILE": {
        "socket": (
            "this process has used all the descriptors RLIMIT_NOFILE allows; a new socket "
            "needs one", "close unused sockets or raise the limit (`ulimit -n`)"),
        "accept": (
            "this process has used all the descriptors RLIMIT_NOFILE allows; the "
            "connection stays queued until one frees",
            "close unused sockets or raise the limit (`ulimit -n`)"),
    },
    "ENFILE": {
        "socket": ("the whole system has reached its open-file limit (fs.file-max)",
                   "close files elsewhere or raise `sysctl fs.file-max`"),
        "accept": ("the whole system has reached its open-file limit (fs.file-max)",
                   "close files elsewhere or raise `sysctl fs.file-max`"),
    },
    "EMSGSIZE": {
        "send": (
            "the datagram is too big to go in one piece: over 65,507 bytes of UDP payload "
            "on IPv4 (65,527 on IPv6), over the path MTU with don't-fragment set, or over "
            "the send buffer of a Unix datagram socket",
            "send smaller datagrams; for MTU limits stay below the path MTU"),
    },
    "ENETDOWN": {
        "connect": ("the interface the route uses is down",
                    "`ip link set DEV up`; check `ip addr`"),
        "send": ("the interface the packet would leave through is down",
                 "`ip link set DEV up`; check `ip addr`"),
    },
    "ENETRESET": {
        "recv": (
            "the network reset the connection: keep-alive found it dead while the call "
            "waited (mostly Windows, as WSAENETRESET; rare on Linux)",
            "close and reconnect; check the path to the peer"),
        "send": (
            "the network reset the connection: keep-alive found it dead (mostly Windows, "
            "as WSAENETRESET; rare on Linux)", "close and reconnect"),
        "setsockopt": (
            "SO_KEEPALIVE on a connection that has already failed (Windows)",
            "close and reconnect"),
    },
    "ENETUNREACH": {
        "connect": (
            "no route to that network: the routing table has no entry (no default route, "
            "no IPv6 connectivity) or an ICMP network unreachable came back",
            "check `ip route get ADDRESS`; add a route, or use a family that has one"),
        "send": (
            "no route to the datagram's network",
            "check `ip route get ADDRESS`; add a route"),
    },
    "ENOBUFS": {
        "socket": ("no memory was left for a new socket", "free memory and retry"),
        "send": (
            "the device transmit queue is full or socket memory limits were reached "
            "(net.core.wmem_max, net.ipv4.udp_mem)",
            "slow down and retry; raise txqueuelen or the memory sysctls for steady bursts"),
        "connect": ("no buffer space for the connection", "retry later"),
        "setsockopt": ("no memory for the option (e.g. a multicast group list)",
                       "free memory, or join fewer groups"),
    },
    "ENOMEM": {
        "socket": ("the kernel could not allocate the socket", "free memory; `dmesg` may say more"),
        "send": ("the kernel could not allocate buffers for the data",
                 "send less at once, or free memory"),
        "recv": ("the kernel could not allocate memory for the receive", "free memory"),
        "setsockopt": ("the kernel could not allocate memory for the option",
                       "ask for smaller buffers"),
    },
    "ENOPROTOOPT": {
        "setsockopt": (
            "the option is unknown at that level for this socket: the wrong level, an "
            "option of another protocol (a TCP option on a UDP socket), a kernel too old, "
            "or an option Linux does not let you set (SO_SNDLOWAT)",
            "pick an option that belongs to this socket's family, type and protocol"),
        "getsockopt": (
            "the option is unknown at that level for this socket",
            "pick an option that belongs to this socket's family, type and protocol"),
    },
    "ENOTCONN": {
        "send": (
            "the Unix stream or seqpacket socket is not connected: no connect or accept "
            "yet (an unconnected TCP socket says EPIPE instead)",
            "connect first; on a non-blocking socket wait until connect completes"),
        "recv": (
            "the stream socket is not connected: no connect or accept yet",
            "connect first; on a non-blocking socket wait until connect completes"),
        "shutdown": ("shutdown on a socket that is not connected",
                     "nothing to shut down: close it instead"),
        "getpeername": ("the socket has no peer: it is not connected",
                        "connect first, or use the address recvfrom returns"),
    },
    "ENOTSOCK": {
        ANY: ("the descriptor is open but is not a socket (a file, pipe or terminal)",
              "pass a socket's descriptor"),
    },
    "EOPNOTSUPP": {
        "listen": ("this socket type cannot listen: datagram sockets have no connections",
                   "use a stream or seqpacket socket to listen"),
        "accept": ("this socket type cannot accept: datagram sockets have no connections",
                   "use a stream or seqpacket socket to listen and accept"),
        "send": ("a flag this protocol rejects (MSG_OOB on UDP or on a Unix socket)",
                 "drop the flag"),
        "recv": ("a flag this protocol rejects (MSG_OOB on UDP or on a Unix socket)",
                 "drop the flag"),
        "shutdown": ("this kind of socket has no shutdown (a packet socket, for one)",
                     "close the socket instead"),
        "getsockopt": ("the option belongs to another protocol than this socket's (a TCP "
                       "option read on a UDP socket)", "read options of this socket's "
                       "own protocol"),
    },
    "EPIPE": {
        "send": (
            "the write side is closed: this side called shutdown(WR or RDWR), the peer "
            "closed and the connection is gone, or the TCP socket never connected (Linux "
            "says EPIPE there); Python ignores SIGPIPE, so send fails with this instead of "
            "killing the process",
            "stop sending and close; reconnect if more data must go out"),
    },
    "EPROTONOSUPPORT": {
        "socket": (
            "the protocol is not supported for this family and type (TCP with a datagram "
            "socket, or a protocol whose module is not loaded, such as SCTP)",
            "pass protocol 0 to let the kernel choose, or load the protocol's module"),
    },
    "EPROTOTYPE": {
        "socket": ("the protocol does not fit the socket type",
                   "pass protocol 0 to let the kernel choose"),
        "connect": (
            "the Unix socket at that path is of another type (a stream socket connecting "
            "to a datagram socket's path)", "use the same socket type on both ends"),
        "send": ("the Unix socket at that path is of another type",
                 "use the same socket type on both ends"),
    },
    "ESOCKTNOSUPPORT": {
        "socket": ("the socket type is not supported in this family (seqpacket on AF_INET "
                   "without SCTP)", "use stream or dgram, or load the module for the type"),
    },
    "ESHUTDOWN": {
        "send": (
            "the endpoint was shut down for sending; Linux reports EPIPE for IP and Unix "
            "sockets, so this comes from other protocols", "open a new socket to send again"),
    },
    "ETIMEDOUT": {
        "expect": (
            "the expected bytes did not arrive within the step's timeout; the connection "
            "itself may be fine", "look at what did arrive (the data pane); raise the "
            "expect's timeout, or replay's --timeout"),
        "connect": (
            "no answer to the SYNs within net.ipv4.tcp_syn_retries (about two minutes by "
            "default): the host is down, or a firewall drops the packets silently",
            "check the host is up and reachable; TCP_SYNCNT shortens the attempt"),
        "recv": (
            "the connection died: retransmissions (net.ipv4.tcp_retries2), keep-alive "
            "probes or TCP_USER_TIMEOUT ran out without an answer",
            "reconnect; check the path to the peer"),
        "send": (
            "the connection died: retransmissions, keep-alive probes or TCP_USER_TIMEOUT "
            "ran out without an answer", "reconnect; check the path to the peer"),
    },
    "ENOENT": {  # the Unix path meanings are in errno_calls_unix
        "setsockopt": (
            "TCP_CONGESTION (or TCP_ULP) named an algorithm this kernel does not have",
            "pick one of `sysctl net.ipv4.tcp_available_congestion_control`, or load its "
            "module (`modprobe tcp_NAME`)"),
    },
    "EPROTO": {
        "accept": ("a queued connection failed its handshake before accept took it",
                   "accept again"),
    },
    "ENODEV": {
        "setsockopt": ("SO_BINDTODEVICE named an interface that does not exist",
                       "list interfaces with `ip link` and use one of their names"),
        "bind": ("the IPv6 scope names an interface that does not exist",
                 "use an interface `ip link` shows"),
    },
}


for _table in (FAMILY_CALLS, PATH_CALLS, GAI_CALLS):
    for _name, _calls in _table.items():
        CALLS.setdefault(_name, {}).update(_calls)


def call_of(op: str) -> str:
    """The socket call a step's op is: sendto is send, recvfrom recv."""
    return ALIASES.get(op, op)

