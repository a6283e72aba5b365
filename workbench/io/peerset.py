"""Starting the built-in peers a session declares, and naming where they listen."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import tempfile
from collections.abc import Iterator

from workbench.core.endpoints import parse_endpoint
from workbench.core.errors import InputError
from workbench.core.session import PeerSpec
from workbench.io.peers import Peer, format_address, parse_kind, parse_transport

UNIX_TRANSPORTS = ("unix-stream", "unix-dgram", "unix-seqpacket")
PUBLIC_FLAG = "--allow-public-peers"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ::ffff:127.x; False for 0.0.0.0, :: and the rest."""
    ip = ipaddress.ip_address(host)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def check_loopback(specs: list[PeerSpec]) -> None:
    """Refuse a declared peer that would listen beyond this host: a session file must
    not open listeners on every interface unless the user says so."""
    for spec in specs:
        if spec.transport in UNIX_TRANSPORTS or not spec.address:
            continue
        endpoint = parse_endpoint(spec.address)
        if endpoint.kind in ("inet", "inet6") and not is_loopback(endpoint.host):
            raise InputError(
                f"peer {spec.name} would listen on {endpoint}, which is not loopback: "
                f"declare 127.0.0.1 or [::1], or pass {PUBLIC_FLAG} to listen there")


def peer_sockaddr(spec: PeerSpec, scratch: str) -> object:
    """Where a peer listens: its declared address, or loopback port 0 / a fresh path."""
    if spec.transport in UNIX_TRANSPORTS:
        if not spec.address:
            return os.path.join(scratch, f"{spec.name}.sock")
        endpoint = parse_endpoint(spec.address)
        if endpoint.kind != "unix":
            raise InputError(f"peer {spec.name}: {spec.transport} needs a unix: address")
        return endpoint.sockaddr()
    endpoint = parse_endpoint(spec.address or "127.0.0.1:0")
    if endpoint.kind not in ("inet", "inet6"):
        raise InputError(f"peer {spec.name}: {spec.transport} needs an IP address and port")
    return endpoint.sockaddr()


@contextlib.contextmanager
def started_peers(specs: list[PeerSpec], allow_public: bool = False
                  ) -> Iterator[dict[str, str]]:
    """Start every declared peer; yield name -> address text; stop them all after.

    Peers listen on loopback only unless `allow_public`; all are checked before any starts.
    """
    for spec in specs:
        parse_kind(spec.kind)
        parse_transport(spec.transport)
    if not allow_public:
        check_loopback(specs)
    running: list[Peer] = []
    with tempfile.TemporaryDirectory(prefix="workbench-peers-") as scratch:
        try:
            addresses = {}
            for spec in specs:
                peer = Peer(spec.kind, spec.transport, peer_sockaddr(spec, scratch)).start()
                running.append(peer)
                addresses[spec.name] = format_address(peer.address)
            yield addresses
        finally:
            for peer in running:
                peer.stop()
