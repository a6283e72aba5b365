"""Reads that only look at a socket (not steps): run on its actor via `inspect()`;
and the option reads and writes the setsockopt and getsockopt steps make."""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from collections.abc import Callable
from typing import Any

from workbench.core.endpoints import format_sockaddr
from workbench.core.errnos import from_oserror
from workbench.core.errors import InputError
from workbench.core.options import (
    NOT_SWEPT,
    OptionSpec,
    Unreadable,
    decode_option,
    effective_why,
    encode_option,
    getsockopt_size,
    lookup_option,
    options_for,
)
from workbench.core.steps import FAMILIES, TYPES, family_name, type_name
from workbench.core.tcp_info import BUFFER, decode_tcp_info
from workbench.io.option_limits import read_limits

Look = Callable[[socket.socket], Any]


def get_option(sock: socket.socket, spec: OptionSpec) -> Any:
    """The option's normal value (OSError if the kernel refuses the read)."""
    size = getsockopt_size(spec)
    if size is None:
        return decode_option(spec, sock.getsockopt(spec.level, spec.optname))
    return decode_option(spec, sock.getsockopt(spec.level, spec.optname, size))


def set_option(sock: socket.socket, spec: OptionSpec, value: Any) -> None:
    sock.setsockopt(spec.level, spec.optname, encode_option(spec, value))


def read_back(sock: socket.socket, spec: OptionSpec, requested: Any) -> dict[str, Any] | None:
    """What the kernel kept after a set: {"effective", "why" when it differs}, or
    {"unreadable": errno} when it cannot be read; None for write-only options."""
    if spec.writeonly:
        return None
    try:
        effective = get_option(sock, spec)
    except OSError as exc:
        return {"unreadable": from_oserror(exc).name}
    out: dict[str, Any] = {"effective": effective}
    why = effective_why(spec, requested, effective, read_limits())
    if why:
        out["why"] = why
    return out


def _name(sock: socket.socket) -> str:
    return format_sockaddr(sock.family, sock.getsockname())


def _peer(sock: socket.socket) -> str:
    return format_sockaddr(sock.family, sock.getpeername())


def _option(name: str) -> Look:
    spec = lookup_option(name)
    return lambda sock: get_option(sock, spec)


def _names(sock: socket.socket) -> tuple[str, str]:
    """The socket's family and type as the catalog names them."""
    kind = "raw" if sock.type == socket.SOCK_RAW else type_name(sock.type)
    return family_name(sock.family), kind


def _all_options(sock: socket.socket) -> dict[str, Any]:
    """Every readable option that applies to this socket: its normal value, or
    Unreadable(errno name). Write-only ones, and SO_ERROR (reading clears it), are left out."""
    out: dict[str, Any] = {}
    for spec in options_for(*_names(sock)):
        if spec.writeonly or spec.name in NOT_SWEPT:
            continue
        try:
            out[spec.name] = get_option(sock, spec)
        except OSError as exc:
            out[spec.name] = Unreadable(from_oserror(exc).name)
    return out


def fresh_values(family: str, sock_type: str) -> dict[str, Any]:
    """Every readable option's value on a fresh socket of this family and type."""
    with socket.socket(FAMILIES[family], TYPES[sock_type]) as sock:
        values = _all_options(sock)
        for name in NOT_SWEPT:  # harmless on a fresh socket
            spec = lookup_option(name)
            if spec.name not in values and family in spec.families:
                values[spec.name] = get_option(sock, spec)
        return values


def available(spec: OptionSpec) -> bool | None:
    """Whether this kernel knows the option (ENOPROTOOPT says it does not), tried on a
    fresh socket of the first family and type it applies to; None if none can be made
    here (raw sockets need privilege)."""
    for family in spec.families:
        for sock_type in spec.types:
            try:
                sock = _probe_socket(family, sock_type)
            except OSError:
                continue
            with sock:
                return _knows(sock, spec)
    return None


def _probe_socket(family: str, sock_type: str) -> socket.socket:
    if sock_type == "raw":
        return socket.socket(FAMILIES[family], socket.SOCK_RAW, socket.IPPROTO_UDP)
    return socket.socket(FAMILIES[family], TYPES[sock_type])


def _knows(sock: socket.socket, spec: OptionSpec) -> bool:
    try:
        if spec.writeonly:  # an empty request: EINVAL if known, ENOPROTOOPT if not
            sock.setsockopt(spec.level, spec.optname, b"")
        else:
            get_option(sock, spec)
    except OSError as exc:
        return exc.errno != errno.ENOPROTOOPT
    return True


def _tcp_info(sock: socket.socket) -> dict[str, int]:
    spec = lookup_option("TCP_INFO")
    return decode_tcp_info(sock.getsockopt(spec.level, spec.optname, BUFFER))


def _flags(sock: socket.socket) -> dict[str, bool]:
    """The descriptor's flags as the kernel holds them (O_NONBLOCK, FD_CLOEXEC)."""
    status = fcntl.fcntl(sock.fileno(), fcntl.F_GETFL)
    fd_flags = fcntl.fcntl(sock.fileno(), fcntl.F_GETFD)
    return {"blocking": not status & os.O_NONBLOCK, "cloexec": bool(fd_flags & fcntl.FD_CLOEXEC)}


def looker(what: str) -> Look:
    """`local`, `peer`, `options`, `option:NAME`, `tcp_info` or `flags`; a one-line
    InputError otherwise."""
    fixed = {"local": _name, "peer": _peer, "options": _all_options, "tcp_info": _tcp_info,
             "flags": _flags}
    if what in fixed:
        return fixed[what]
    if what.startswith("option:"):
        return _option(what[len("option:"):])
    raise InputError(f"cannot inspect {what!r}: use local, peer, options, option:NAME, "
                     "tcp_info or flags")
