"""Evidence about addresses, ports and Unix paths (gatherers registered in evidence).

Whether an address is this machine's: loopback and wildcards are; IPv6 from
/proc/net/if_inet6; IPv4 by binding a throwaway UDP socket to it (refused with
EADDRNOTAVAIL when no interface has it), or from `ip -j addr` when
net.ipv4.ip_nonlocal_bind makes that bind succeed for any address. Listeners and
ports from /proc/net/tcp, tcp6, udp and udp6 (this network namespace); Unix sockets
from /proc/net/unix. Routes from `ip -j route get`, links from /sys/class/net.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import os
import shutil
import socket
import stat
import struct
import subprocess
from collections.abc import Iterator
from typing import Any

from workbench.core.diagnosis import Fact, FailedCall
from workbench.core.endpoints import Endpoint, parse_endpoint
from workbench.core.errors import InputError
from workbench.io.evidence import (
    ACCEPTCON,
    IP_TIMEOUT,
    MAX_LINES,
    TCP_STATES,
    UNIX_TYPES,
    gatherer,
    read_text,
    sysctl,
)

ADDRESS_ERRORS = ("EADDRNOTAVAIL", "ECONNREFUSED", "EADDRINUSE", "EACCES", "EHOSTUNREACH",
                  "ENETUNREACH")
UNIX_ERRORS = ("ECONNREFUSED", "EADDRINUSE", "ENOENT", "EACCES", "ENOTDIR", "EPROTOTYPE",
               "ELOOP", "EROFS", "ENOSPC")


def _inet(failed: FailedCall) -> Endpoint | None:
    ep = failed.endpoint()
    return ep if ep is not None and ep.kind in ("inet", "inet6") else None


# -- addresses --------------------------------------------------------------------------


def ip_addrs() -> list[dict[str, Any]] | None:
    """`ip -j addr`'s addr_info entries, or None when `ip` is missing or fails."""
    ip = shutil.which("ip")
    if ip is None:
        return None
    try:
        out = subprocess.run([ip, "-j", "addr", "show"], capture_output=True, check=True,
                             timeout=IP_TIMEOUT).stdout
        links = json.loads(out[: 1 << 22])
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return [a for link in links for a in link.get("addr_info", []) if isinstance(a, dict)]


def _inet6_local(ip: ipaddress.IPv6Address) -> bool | None:
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as f:
            lines = [line for _, line in zip(range(MAX_LINES), f, strict=False)]
    except OSError:
        return None
    return any(line.split()[0] == ip.exploded.replace(":", "") for line in lines if line.strip())


def _bind_probe(ip: ipaddress.IPv4Address) -> bool | None:
    """Binding a throwaway UDP socket fails with EADDRNOTAVAIL when no interface has
    the address; not to be trusted while net.ipv4.ip_nonlocal_bind lets any bind."""
    if (sysctl("net.ipv4.ip_nonlocal_bind") or [0])[0]:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((str(ip), 0))
        except OSError as exc:
            return False if exc.errno == errno.EADDRNOTAVAIL else None
    return True


def local_check(host: str) -> tuple[bool | None, str]:
    """Whether the address is assigned here (None: could not tell), and how it was seen."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None, ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_loopback:
        return True, "loopback and wildcard addresses are always local"
    if isinstance(ip, ipaddress.IPv6Address):
        found, how = _inet6_local(ip), "/proc/net/if_inet6"
    else:
        found, how = _bind_probe(ip), "a test bind (EADDRNOTAVAIL: on no interface)"
    if found is not None:
        return found, how
    addrs = ip_addrs()
    if addrs is None:
        return None, ""
    return any(a.get("local") == str(ip) for a in addrs), "`ip -j addr`"


def is_local(host: str) -> bool | None:
    return local_check(host)[0]


def is_broadcast(host: str) -> bool | None:
    if host == "255.255.255.255":
        return True
    addrs = ip_addrs()
    if addrs is None:
        return None
    return any(a.get("broadcast") == host for a in addrs)


@gatherer(*ADDRESS_ERRORS)
def address(failed: FailedCall) -> Iterator[Fact]:
    ep = _inet(failed)
    if ep is None:
        return
    local, how = local_check(ep.host)
    if local is not None:
        text = "is" if local else "is not"
        yield Fact("address.local", {"address": ep.host, "local": local}, how,
                   f"{ep.host} {text} an address of this machine")
    if ep.kind == "inet" and failed.call in ("send", "connect") and failed.type == "dgram":
        bcast = is_broadcast(ep.host)
        if bcast is not None:
            yield Fact("address.broadcast", {"address": ep.host, "broadcast": bcast},
                       "`ip -j addr`", f"{ep.host} is {'' if bcast else 'not '}a broadcast "
                       "address")


# -- ports ------------------------------------------------------------------------------


def _hex_ip(text: str) -> str:
    raw = bytes.fromhex(text)
    words = b"".join(struct.pack("<I", w) for w in struct.unpack(f">{len(raw) // 4}I", raw))
    ip = ipaddress.ip_address(words)
    return str(ip) if ip.version == 4 else f"[{ip}]"


def _rows(table: str, port: int) -> Iterator[list[str]]:
    """The fields of the rows of /proc/net/TABLE whose local port is `port`."""
    want = f":{port:04X}"
    try:
        with open(f"/proc/net/{table}", encoding="ascii") as f:
            next(f, None)
            for _, line in zip(range(MAX_LINES), f, strict=False):
                fields = line.split()
                if len(fields) > 4 and fields[1].endswith(want):
                    yield fields
    except OSError:
        return


def _address(field: str) -> str:
    host, _, port = field.partition(":")
    return f"{_hex_ip(host)}:{int(port, 16)}"


def proc_net(table: str, port: int) -> list[tuple[str, int, int, int]]:
    """(local address, state, receive queue, owner uid) of the sockets in /proc/net/TABLE
    on a local port; a listener's receive queue is the connections waiting to be accepted."""
    found = []
    for fields in _rows(table, port):
        with contextlib.suppress(ValueError, IndexError):
            found.append((_address(fields[1]), int(fields[3], 16),
                          int(fields[4].partition(":")[2] or "0", 16), int(fields[7])))
    return found


def connections(table: str, port: int) -> list[tuple[str, str, int]]:
    """(local address, remote address, state) of the sockets on a local port."""
    found = []
    for fields in _rows(table, port):
        with contextlib.suppress(ValueError):
            found.append((_address(fields[1]), _address(fields[2]), int(fields[3], 16)))
    return found


@gatherer("ECONNREFUSED", "EADDRINUSE", "ETIMEDOUT", "EAGAIN")
def ports(failed: FailedCall) -> Iterator[Fact]:
    ep = _inet(failed)
    if ep is None or ep.port == 0:
        return
    if failed.type == "dgram":
        bound = sorted({a for t in ("udp", "udp6") for a, _s, _q, _u in proc_net(t, ep.port)})
        yield Fact("udp.bound", {"port": ep.port, "sockets": bound}, "/proc/net/udp, udp6",
                   f"UDP sockets on port {ep.port}: {', '.join(bound) or 'none'}")
        return
    tcp = [entry for t in ("tcp", "tcp6") for entry in proc_net(t, ep.port)]
    queued = {a: q for a, s, q, _u in tcp if TCP_STATES.get(s) == "LISTEN"}
    owners = {a: u for a, s, _q, u in tcp if TCP_STATES.get(s) == "LISTEN"}
    listeners = sorted(queued)
    waiting = "".join(f" ({q} waiting to be accepted)" for q in queued.values() if q)
    yield Fact("tcp.listeners", {"port": ep.port, "listeners": listeners, "queued": queued,
                                 "uids": owners}, "/proc/net/tcp, tcp6",
               f"listening on port {ep.port}: {', '.join(listeners) or 'nothing'}{waiting}")
    states: dict[str, int] = {}
    for _a, s, _q, _u in tcp:
        name = TCP_STATES.get(s, str(s))
        if name != "LISTEN":
            states[name] = states.get(name, 0) + 1
    shown = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none"
    yield Fact("tcp.port", {"port": ep.port, "states": states}, "/proc/net/tcp, tcp6",
               f"other TCP sockets on port {ep.port}: {shown}")


@gatherer("EADDRNOTAVAIL", "EADDRINUSE")
def four_tuple(failed: FailedCall) -> Iterator[Fact]:
    """Connections that already use this socket's local address and the destination."""
    ep, local = _inet(failed), _local(failed)
    if ep is None or local is None or failed.call != "connect" or not local.port:
        return
    mine, theirs = str(local), str(ep)
    states = sorted({TCP_STATES.get(s, str(s)) for t in ("tcp", "tcp6")
                     for a, r, s in connections(t, local.port) if a == mine and r == theirs})
    shown = ", ".join(states) or "none"
    yield Fact("tcp.four_tuple", {"local": mine, "remote": theirs, "states": states},
               "/proc/net/tcp, tcp6", f"connections from {mine} to {theirs}: {shown}")


def _local(failed: FailedCall) -> Endpoint | None:
    try:
        ep = parse_endpoint(failed.local) if failed.local else None
    except InputError:
        return None
    return ep if ep is not None and ep.kind in ("inet", "inet6") else None


def proc_hex(ep: Endpoint) -> str:
    """An address as /proc/net/tcp writes it: each 32-bit word of the address in host
    (little-endian) order, then the port, all in hex: 127.0.0.1:80 is 0100007F:0050."""
    packed = ipaddress.ip_address(ep.host).packed
    words = "".join(f"{int.from_bytes(packed[i:i + 4], 'little'):08X}"
                    for i in range(0, len(packed), 4))
    return f"{words}:{ep.port:04X}"


def toward(table: str, remote: str) -> dict[str, int]:
    """How many sockets in /proc/net/TABLE are connected to `remote` (in proc_hex form),
    by state; compared as text, so a busy table is read quickly."""
    states: dict[str, int] = {}
    try:
        with open(f"/proc/net/{table}", encoding="ascii") as f:
            next(f, None)
            for _, line in zip(range(MAX_LINES), f, strict=False):
                fields = line.split()
                if len(fields) > 3 and fields[2] == remote:
                    name = TCP_STATES.get(int(fields[3], 16), fields[3])
                    states[name] = states.get(name, 0) + 1
    except (OSError, ValueError):
        pass
    return states


@gatherer("EADDRNOTAVAIL")
def destination_use(failed: FailedCall) -> Iterator[Fact]:
    """Local ports already in use toward the destination: the ephemeral range runs out
    per destination, since a connection is told apart by both ends."""
    ep = _inet(failed)
    if ep is None or failed.call != "connect" or failed.type == "dgram":
        return
    states: dict[str, int] = {}
    for table in ("tcp", "tcp6"):
        for name, n in toward(table, proc_hex(ep)).items():
            states[name] = states.get(name, 0) + n
    total = sum(states.values())
    shown = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none"
    yield Fact("tcp.toward", {"remote": str(ep), "count": total, "states": states},
               "/proc/net/tcp, tcp6", f"connections to {ep}: {total} ({shown})")


# -- Unix paths -------------------------------------------------------------------------


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISSOCK, "socket"), (stat.S_ISREG, "regular file"),
                       (stat.S_ISDIR, "directory"), (stat.S_ISLNK, "symbolic link")):
        if test(mode):
            return name
    return "special file"


def unix_path(path: str) -> dict[str, Any]:
    """What is at a Unix socket path, and whether this process may use it."""
    folder = os.path.dirname(os.path.abspath(path))
    info: dict[str, Any] = {"path": path, "dir": folder, "dir_exists": os.path.isdir(folder),
                            "dir_writable": os.access(folder, os.W_OK | os.X_OK)}
    try:
        if not stat.S_ISDIR(os.stat(folder).st_mode):
            info["dir_error"] = "ENOTDIR"
        room = os.statvfs(folder)
        info.update(dir_read_only=bool(room.f_flag & os.ST_RDONLY),
                    dir_free_bytes=room.f_bavail * room.f_frsize, dir_free_inodes=room.f_favail)
    except OSError as exc:  # why the folder cannot be reached: ENOENT, ENOTDIR, ELOOP, EACCES
        info["dir_error"] = errno.errorcode.get(exc.errno or 0, str(exc))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        info["kind"] = "missing"
        return info
    except OSError as exc:
        info["kind"] = "unreachable"
        info["error"] = errno.errorcode.get(exc.errno or 0, str(exc))
        return info
    info.update(kind=_kind(st.st_mode), mode=oct(stat.S_IMODE(st.st_mode)), uid=st.st_uid,
                writable=os.access(path, os.W_OK))
    return info


def unix_sockets(name: str) -> list[tuple[int, str]]:
    """(flags, type) of the sockets /proc/net/unix shows bound to a path or @name."""
    found = []
    with contextlib.suppress(OSError), open("/proc/net/unix", encoding="utf-8",
                                            errors="replace") as f:
        next(f, None)
        for _, line in zip(range(MAX_LINES), f, strict=False):
            fields = line.rstrip("\n").split(None, 7)
            if len(fields) == 8 and fields[7] == name:
                found.append((int(fields[3], 16), UNIX_TYPES.get(int(fields[4], 16), "?")))
    return found


@gatherer(*UNIX_ERRORS)
def unix(failed: FailedCall) -> Iterator[Fact]:
    ep = failed.endpoint()
    if ep is None or ep.kind != "unix" or not ep.path:
        return
    name = "@" + ep.path if ep.abstract else ep.path
    if not ep.abstract:
        info = unix_path(ep.path)
        yield Fact("unix.path", info, f"stat {ep.path}", _path_text(info))
    socks = unix_sockets(name)
    if not ep.abstract and not socks and not os.path.isabs(ep.path):
        socks = unix_sockets(os.path.abspath(ep.path))
    value = {"path": name, "listening": any(flags & ACCEPTCON for flags, _t in socks),
             "bound": bool(socks), "types": sorted({t for _f, t in socks})}
    what = ("a socket listens on it" if value["listening"] else
            "a socket is bound to it" if socks else "no socket is bound to it")
    yield Fact("unix.listener", value, "/proc/net/unix", f"{name}: {what}")


def _path_text(info: dict[str, Any]) -> str:
    if info["kind"] == "missing":
        folder = "" if info["dir_exists"] else f"; its directory {info['dir']} is missing too"
        return f"{info['path']} does not exist{folder}"
    if info["kind"] == "unreachable":
        return f"{info['path']} cannot be looked at ({info.get('error')})"
    access = "writable" if info.get("writable") else "not writable"
    return (f"{info['path']} is a {info['kind']}, mode {info.get('mode')}, owner uid "
            f"{info.get('uid')}, {access} by this process")


# -- routes ---------------------------------------------------------------------------------


def route_to(host: str) -> dict[str, Any] | None:
    """What `ip -j route get HOST` says: the route's fields, or {"error": …} when the
    kernel has no route; None when `ip` is missing or does not answer in time."""
    ip = shutil.which("ip")
    if ip is None:
        return None
    try:
        done = subprocess.run([ip, "-j", "route", "get", host], capture_output=True,
                              timeout=IP_TIMEOUT, text=True)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return {"error": " ".join(done.stderr.split())[:200] or "no route"}
    try:
        first = json.loads(done.stdout[: 1 << 16])[0]
    except (ValueError, IndexError, KeyError):
        return None
    keep = ("dst", "type", "gateway", "dev", "prefsrc")
    return {k: first[k] for k in keep if k in first and isinstance(first[k], str)}


def _link(dev: str, what: str) -> str | None:
    if not dev or "/" in dev or dev in (".", ".."):
        return None
    text = read_text(f"/sys/class/net/{dev}/{what}", 64)
    return text.strip() if text else None


@gatherer("ENETUNREACH", "EHOSTUNREACH", "ETIMEDOUT", "EMSGSIZE", "ENETDOWN", "EHOSTDOWN",
          "EACCES", "EINVAL")
def route(failed: FailedCall) -> Iterator[Fact]:
    ep = _inet(failed)
    if failed.call not in ("connect", "send"):
        return  # a route says nothing about a bind or an option
    found = route_to(ep.host) if ep is not None else None
    if ep is None or found is None:
        return
    if "error" in found:
        yield Fact("route", {"address": ep.host, **found}, "`ip -j route get`",
                   f"no route to {ep.host}: {found['error']}")
        return
    via = f"via {found['gateway']} " if "gateway" in found else "directly "
    yield Fact("route", {"address": ep.host, **found}, "`ip -j route get`",
               f"{ep.host} is reached {via}on {found.get('dev', '?')}")
    dev = found.get("dev", "")
    mtu, state = _link(dev, "mtu"), _link(dev, "operstate")
    if mtu is not None and mtu.isdigit():
        yield Fact("link", {"dev": dev, "mtu": int(mtu), "operstate": state},
                   f"/sys/class/net/{dev}", f"{dev}: MTU {mtu}, {state or 'state unknown'}")
