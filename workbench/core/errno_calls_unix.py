"""Per-call words for errnos of Unix socket paths, and the meanings that differ by the
socket's family: a key "call/unix" or "call/inet" (IPv4 and IPv6) is chosen over the
plain "call" for a socket of that family. Merged into errno_calls.CALLS.
"""

from __future__ import annotations

FAMILY_CALLS: dict[str, dict[str, tuple[str, str]]] = {
    "ECONNREFUSED": {
        "connect/inet": (
            "nothing accepts connections at that address: the host answered the SYN with a "
            "reset, so no socket listens on that port for that address and family, or a "
            "firewall rejects with tcp-reset",
            "start a listener there (`workbench peer echo ADDRESS`); check the port and the "
            "family (a listener on ::1 does not take connections to 127.0.0.1)"),
        "connect/unix": (
            "the socket file exists but no socket listens on it: a stale file left by a "
            "server that exited, or a listener whose backlog is full",
            "start the server; if the file is stale, remove it first so the server can bind"),
    },
    "EADDRINUSE": {
        "bind/inet": (
            "another socket already holds this local address and port: a listener, a "
            "bound socket, or a connection still in TIME_WAIT while SO_REUSEADDR is off",
            "find the holder with `ss -ltnup 'sport = :PORT'`; set SO_REUSEADDR before bind "
            "if only TIME_WAIT connections hold the port; bind port 0 to get a free one"),
        "bind/unix": (
            "something already exists at this path: a live server's socket, a stale socket "
            "file left by one that exited, or a file that is not a socket; bind never "
            "replaces a file",
            "pick another path, or remove a stale socket file (`rm PATH`) and bind again"),
    },
    "EACCES": {
        "bind/inet": (
            "a port below net.ipv4.ip_unprivileged_port_start needs CAP_NET_BIND_SERVICE",
            "use a port at or above the sysctl's value, or grant CAP_NET_BIND_SERVICE "
            "(`setcap cap_net_bind_service+ep`)"),
        "bind/unix": (
            "the process may not create the socket file: its directory is not writable, or "
            "a directory above it not searchable",
            "bind in a directory you can write, such as $XDG_RUNTIME_DIR"),
        "connect/unix": (
            "no write permission on the socket file, or no search permission on a "
            "directory of its path",
            "check the file's mode and owner (`namei -l PATH`); the server may need to "
            "chmod it or put you in its group"),
        "connect/inet": (
            "a UDP socket connected to a broadcast address without SO_BROADCAST, a local "
            "firewall rule, or a `prohibit` route for the destination",
            "set SO_BROADCAST first; check the OUTPUT chain and `ip route get ADDRESS`"),
    },
}

PATH_CALLS: dict[str, dict[str, tuple[str, str]]] = {
    "ENOENT": {
        "connect": (
            "no file at the Unix socket path: the server is not running, or uses another "
            "path", "check the path; start the listening side first so it creates the file"),
        "bind": ("a directory on the Unix socket path does not exist",
                 "create the directory, or bind under an existing one"),
        "send": ("no file at the Unix datagram path", "start the receiver first"),
    },
    "ENAMETOOLONG": {
        "bind": ("the Unix socket path is longer than sun_path holds (108 bytes with its "
                 "terminator)", "use a shorter path or an abstract name (unix:@name)"),
        "connect": ("the Unix socket path is longer than sun_path holds (108 bytes with its "
                    "terminator)", "connect through a shorter path (a symlink or a relative "
                    "path)"),
        "send": ("the Unix datagram path is longer than sun_path holds",
                 "use a shorter path"),
    },
    "ENOTDIR": {
        "bind": ("a component of the Unix socket path is not a directory", "fix the path"),
        "connect": ("a component of the Unix socket path is not a directory", "fix the path"),
    },
    "EROFS": {
        "bind": ("the Unix socket file would be created on a read-only filesystem",
                 "bind under a writable directory such as $XDG_RUNTIME_DIR, or use an "
                 "abstract name"),
    },
    "ELOOP": {
        "bind": ("resolving the Unix socket path met too many symbolic links (a loop)",
                 "inspect the links with `namei -l PATH`"),
        "connect": ("resolving the Unix socket path met too many symbolic links (a loop)",
                    "inspect the links with `namei -l PATH`"),
    },
    "ENOSPC": {
        "bind": ("no space left to create the Unix socket file",
                 "free space, bind elsewhere, or use an abstract name"),
    },
}
