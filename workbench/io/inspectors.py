"""Reads that only look at a socket (not steps): run on its actor via `inspect()`."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from workbench.core.endpoints import format_sockaddr
from workbench.core.errnos import from_oserror
from workbench.core.errors import InputError
from workbench.core.options import lookup_option, options_for
from workbench.core.steps import family_name, type_name

Look = Callable[[socket.socket], Any]


def _name(sock: socket.socket) -> str:
    return format_sockaddr(sock.family, sock.getsockname())


def _peer(sock: socket.socket) -> str:
    return format_sockaddr(sock.family, sock.getpeername())


def _option(name: str) -> Look:
    spec = lookup_option(name)
    return lambda sock: sock.getsockopt(spec.level, spec.optname)


def _all_options(sock: socket.socket) -> dict[str, int | str]:
    """Every option that applies to this socket: its value, or the errno name."""
    out: dict[str, int | str] = {}
    for spec in options_for(family_name(sock.family), type_name(sock.type)):
        try:
            out[spec.name] = sock.getsockopt(spec.level, spec.optname)
        except OSError as exc:
            out[spec.name] = from_oserror(exc).name
    return out


def looker(what: str) -> Look:
    """`local`, `peer`, `options` or `option:NAME`; a one-line InputError otherwise."""
    fixed = {"local": _name, "peer": _peer, "options": _all_options}
    if what in fixed:
        return fixed[what]
    if what.startswith("option:"):
        return _option(what[len("option:"):])
    raise InputError(f"cannot inspect {what!r}: use local, peer, options or option:NAME")
