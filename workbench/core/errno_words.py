"""What each socket errno and resolver failure means in general, and what to try.

The words are written for Linux; what an errno means for one call in particular is
in errno_calls, its portability and causes in errno_table.
"""

from __future__ import annotations

# name -> (meaning, hint). Names missing from this platform's errno module are skipped.
SOCKET_ERRNOS: dict[str, tuple[str, str]] = {
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
        "another socket already holds the local address and port the call needs: a "
        "listener, a bound socket, or connections in TIME_WAIT while SO_REUSEADDR is "
        "off; for a Unix socket, a file at the path",
        "set SO_REUSEADDR before bind to reuse a TIME_WAIT port, pick another port "
        "(0 lets the kernel choose), or find the holder with `ss -ltnp`",
    ),
    "EADDRNOTAVAIL": (
        "the address cannot be used from this machine: no local interface has it, or "
        "no ephemeral port is left for the destination (net.ipv4.ip_local_port_range)",
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
        "background; in the workbench, a call cancelled with esc is recorded as EINTR too",
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
    "ENETRESET": (
        "the network dropped the connection: keep-alive found it dead while a call was in "
        "progress; common on Windows (WSAENETRESET), rare on Linux",
        "close the socket and reconnect; check the path to the peer",
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
        "the operation was cancelled before it completed (aborted asynchronous I/O); "
        "the workbench records a call you cancel as EINTR, not this",
        "run the operation again",
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
GAI_ERRORS: dict[str, tuple[str, str, str]] = {
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
