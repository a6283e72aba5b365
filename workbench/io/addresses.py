"""Turning endpoint text into socket addresses: resolution, scopes and built-in peers."""

from __future__ import annotations

import socket
from collections.abc import Callable

from workbench.core.endpoints import Endpoint, parse_endpoint
from workbench.core.errors import InputError
from workbench.core.steps import family_name


def check_family(endpoint: Endpoint, family: int, sock_id: int) -> None:
    """An address of the wrong family is an input mistake, said before any syscall."""
    want = family_name(family)
    have = endpoint.family_name
    if have and have != want:
        raise InputError(
            f"address {endpoint} is {have} but socket #{sock_id} is {want}: "
            f"use an {want} address or create an {have} socket"
        )


def resolve(endpoint: Endpoint, family: int, sock_type: int) -> tuple[object, str]:
    """The Python socket address for an endpoint, and what a hostname resolved to.

    May block on DNS, so the engine calls it off the caller's thread.
    """
    if endpoint.kind == "host":
        infos = socket.getaddrinfo(endpoint.host, endpoint.port, family, sock_type)
        addr = infos[0][4]
        return addr, f"{endpoint.host} -> {addr[0]}"
    if endpoint.kind == "inet6" and endpoint.scope:
        scope_id = _scope_id(endpoint.scope)
        return (endpoint.host, endpoint.port, 0, scope_id), ""
    return endpoint.sockaddr(), ""


def _scope_id(scope: str) -> int:
    if scope.isdigit():
        return int(scope)
    try:
        return socket.if_nametoindex(scope)
    except OSError:
        raise InputError(
            f"no network interface named {scope!r}: use a name from `ip link` or an index"
        ) from None


def endpoint_for(text: str, peers: dict[str, str],
                 local_of: Callable[[int], str] | None = None) -> Endpoint:
    """Parse endpoint text, following references the session can make.

    `peer:NAME` is where a built-in peer listens; `sock:N` is the local address of
    socket N (a client connecting to the session's own listener); a bare `unix:`
    asks Linux to autobind a unique abstract name.
    """
    text = text.strip()
    if text == "unix:":
        return Endpoint("unix")
    if text.startswith("sock:") and local_of is not None:
        number = text[5:]
        if not number.isdigit():
            raise InputError(f"bad socket reference {text!r}: write sock:N, e.g. sock:1")
        local = local_of(int(number))
        if not local:
            raise InputError(f"socket #{number} has no local address yet: bind or listen first")
        return parse_endpoint(local)
    endpoint = parse_endpoint(text)
    if endpoint.kind != "peer":
        return endpoint
    if endpoint.host not in peers:
        known = ", ".join(sorted(peers)) or "none running"
        raise InputError(f"no built-in peer named {endpoint.host!r} (peers: {known})")
    return parse_endpoint(peers[endpoint.host])
