"""Fixtures of the io suite."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A plain TCP listener on loopback the test owns: the other side of a connection."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(10.0)
    try:
        yield srv
    finally:
        srv.close()
