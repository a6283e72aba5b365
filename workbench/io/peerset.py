"""Starting the built-in peers a session declares, and naming where they listen."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

from workbench.core.endpoints import parse_endpoint
from workbench.core.errors import InputError
from workbench.core.session import PeerSpec
from workbench.io.peers import Peer, format_address, parse_kind, parse_transport

UNIX_TRANSPORTS = ("unix-stream", "unix-dgram", "unix-seqpacket")


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
def started_peers(specs: list[PeerSpec]) -> Iterator[dict[str, str]]:
    """Start every declared peer; yield name -> address text; stop them all after."""
    for spec in specs:
        parse_kind(spec.kind)
        parse_transport(spec.transport)
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
